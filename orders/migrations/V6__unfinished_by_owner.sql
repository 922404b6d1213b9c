-- A customer's unfinished orders, counted before each new one is placed
-- (MAX_UNFINISHED_ORDERS): a small index, since an order leaves it when it
-- finishes, whatever the number of orders its owner ever placed.
CREATE INDEX orders_unfinished_by_owner ON orders (username) WHERE status = 'pending';
