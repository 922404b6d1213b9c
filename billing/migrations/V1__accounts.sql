-- A wallet per user. `wallet` never goes negative: every debit is a
-- conditional UPDATE and this CHECK is the last line of defence.
CREATE TABLE accounts (
    username   TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    wallet     NUMERIC(14, 2) NOT NULL CHECK (wallet >= 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every credit ever made (the opening balance included), so that
-- wallets + money held by orders = sum of deposits can be checked.
CREATE TABLE deposits (
    id         BIGSERIAL PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES accounts (username),
    amount     NUMERIC(14, 2) NOT NULL CHECK (amount > 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX deposits_username ON deposits (username);

-- Money reserved for orders, keyed by order id (see common::reservation).
CREATE TABLE reservations (
    order_id   BIGINT PRIMARY KEY,
    state      TEXT NOT NULL CHECK (state IN ('granted', 'refused', 'released', 'tombstone')),
    username   TEXT,
    amount     NUMERIC(14, 2),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
