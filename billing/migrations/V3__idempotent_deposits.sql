-- A deposit may carry the client's Idempotency-Key: a repeat with the same
-- key credits nothing and answers what the first did (the wallet just
-- after it, kept here).
ALTER TABLE deposits ADD COLUMN idempotency_key TEXT;
ALTER TABLE deposits ADD COLUMN wallet_after NUMERIC(20, 2);
CREATE UNIQUE INDEX deposits_by_key ON deposits (username, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
