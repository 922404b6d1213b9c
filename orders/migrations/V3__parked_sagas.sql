-- A saga the mediator cannot finish without help is parked: its order
-- stays pending for the customer, the saga keeps the history it made so
-- far and why it stopped, no worker holds it and the sweeper leaves it
-- alone, until an operator retries it (which clears both columns).
ALTER TABLE orders ADD COLUMN parked_reason TEXT;
ALTER TABLE orders ADD COLUMN parked_at TIMESTAMPTZ;
ALTER TABLE orders ADD CONSTRAINT parked_only_while_pending
    CHECK (parked_at IS NULL OR status = 'pending');

-- The sweeper's candidates: pending orders no one has parked.
DROP INDEX orders_pending;
CREATE INDEX orders_pending ON orders (created_at)
    WHERE status = 'pending' AND parked_at IS NULL;
CREATE INDEX orders_parked ON orders (parked_at) WHERE parked_at IS NOT NULL;
