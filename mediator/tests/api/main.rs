mod concurrency;
mod helpers;
mod idempotency;
mod orders_api;
mod outcomes;
