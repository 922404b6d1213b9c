-- Stock per item. `stock` never goes negative: every take is a conditional
-- UPDATE and this CHECK is the last line of defence. `initial_stock` is what
-- was put on the shelf, so stock + held reservations can be checked against it.
CREATE TABLE items (
    id            INT PRIMARY KEY,
    stock         INT NOT NULL CHECK (stock >= 0),
    initial_stock INT NOT NULL CHECK (initial_stock >= 0)
);

-- One item reserved per order, keyed by order id (see common::reservation).
CREATE TABLE reservations (
    order_id   BIGINT PRIMARY KEY,
    state      TEXT NOT NULL CHECK (state IN ('granted', 'refused', 'released', 'tombstone')),
    item_id    INT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
