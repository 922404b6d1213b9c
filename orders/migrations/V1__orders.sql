-- Orders and their sagas. order-api inserts an order `pending`; the mediator
-- moves it to `completed` or `failed`, never back.
CREATE TABLE orders (
    id              BIGSERIAL PRIMARY KEY,
    username        TEXT NOT NULL,
    amount          NUMERIC(14, 2) NOT NULL CHECK (amount > 0),
    item            INT NOT NULL,
    slot            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'completed', 'failed')),
    -- Set when a saga decides to fail, before it compensates: a pending
    -- order with a reason is being compensated and can no longer complete.
    reason          TEXT,
    idempotency_key TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (username, idempotency_key),
    CHECK (status <> 'completed' OR reason IS NULL),
    CHECK (status <> 'failed' OR reason IS NOT NULL)
);
CREATE INDEX orders_by_owner ON orders (username, id);
CREATE INDEX orders_pending ON orders (created_at) WHERE status = 'pending';

-- Each step a saga took, written with the order's final status.
CREATE TABLE saga_steps (
    id       BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    step     TEXT NOT NULL,
    action   TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX saga_steps_by_order ON saga_steps (order_id, id);
