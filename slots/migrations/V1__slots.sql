-- Delivery slots ("HH:MM") and how many deliveries each can take. `booked`
-- stays within 0..capacity: every booking is a conditional UPDATE and this
-- CHECK is the last line of defence.
CREATE TABLE slots (
    slot     TEXT PRIMARY KEY CHECK (slot ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
    capacity INT NOT NULL CHECK (capacity >= 0),
    booked   INT NOT NULL DEFAULT 0 CHECK (booked >= 0 AND booked <= capacity)
);

-- One slot booked per order, keyed by order id (see common::reservation).
CREATE TABLE reservations (
    order_id   BIGINT PRIMARY KEY,
    state      TEXT NOT NULL CHECK (state IN ('granted', 'refused', 'released', 'tombstone')),
    slot       TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
