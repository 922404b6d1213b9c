-- The W3C trace context (traceparent) of the request that placed the order,
-- so that every saga run of the order, by whichever worker and however
-- late, joins the order's one trace. NULL when traces were off.
ALTER TABLE orders ADD COLUMN traceparent text CHECK (length(traceparent) = 55);
