-- The auth user id an account was opened for. A sign-up that failed
-- half-way may leave an account behind; it is closed again, or refused,
-- but never handed to another user of the same name. NULL for accounts
-- opened before this column existed.
ALTER TABLE accounts ADD COLUMN user_id BIGINT;
