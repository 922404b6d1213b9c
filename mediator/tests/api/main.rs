mod admin;
mod concurrency;
mod faults;
mod helpers;
mod idempotency;
mod orders_api;
mod outcomes;
mod poison;
