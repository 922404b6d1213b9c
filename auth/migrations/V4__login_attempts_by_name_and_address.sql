-- Login attempts are counted per username and client address together
-- (the strict limit), so a stranger failing for a name from elsewhere
-- never refuses its owner. Rows are recorded before the password is
-- checked and deleted when it matched; the table's name predates that.
CREATE INDEX login_failures_by_username_address ON login_failures (username, address, at);
