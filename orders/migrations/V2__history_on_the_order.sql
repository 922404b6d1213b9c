-- A saga's history moves onto its order, written by the same UPDATE that
-- ends the saga: one row changed per finished saga, instead of one more
-- row per step, each with two index entries and a foreign-key check.
-- Each element is {step, action, outcome, at}, in the order it happened.
ALTER TABLE orders ADD COLUMN history JSONB NOT NULL DEFAULT '[]';

UPDATE orders
SET history = steps.history
FROM (
    SELECT order_id,
           jsonb_agg(jsonb_build_object('step', step, 'action', action, 'outcome', outcome, 'at', at)
                     ORDER BY id) AS history
    FROM saga_steps
    GROUP BY order_id
) AS steps
WHERE orders.id = steps.order_id;

DROP TABLE saga_steps;
