-- The admin API counts the sagas finished since a time (a day by default):
-- a BRIN index finds the recent block ranges of a table that only grows,
-- for a few pages of index and next to nothing per insert.
CREATE INDEX orders_created_brin ON orders USING brin (created_at);
