-- What a user may do: `customer` (every sign-up) or `admin` (made only by
-- auth's `admin create` command or ADMIN_USERNAME at start, never by the
-- API). Access tokens carry it; a refresh reads it afresh, so a demotion
-- takes effect within one access token's lifetime.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'customer'
    CHECK (role IN ('customer', 'admin'));
