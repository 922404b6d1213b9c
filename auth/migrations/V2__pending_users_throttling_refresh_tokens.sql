-- A user is `pending` from sign-up until billing has opened the wallet, and
-- `active` from then on; only active users log in. A pending user whose
-- sign-up failed half-way is cleared (with its wallet, if billing made one)
-- before the name is given to anyone else.
ALTER TABLE users ADD COLUMN state TEXT NOT NULL DEFAULT 'active'
    CHECK (state IN ('pending', 'active'));

-- Failed logins, counted per username and per client address over a
-- sliding window; rows older than the window are pruned.
CREATE TABLE login_failures (
    id       BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL,
    address  INET NOT NULL,
    at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_by_username ON login_failures (username, at);
CREATE INDEX login_failures_by_address ON login_failures (address, at);
CREATE INDEX login_failures_by_age ON login_failures (at);

-- Every refresh token issued, by its `jti`. A login starts a family; each
-- refresh spends its token and issues the next of the same family. A spent
-- token presented again revokes the whole family (it was stolen, or the
-- client was), as does a logout.
CREATE TABLE refresh_tokens (
    jti        TEXT PRIMARY KEY,
    family     TEXT NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT NOT NULL CHECK (state IN ('live', 'spent', 'revoked')),
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
