//! The pipeline in one process (`system_tests::in_process`): how sagas end,
//! many at once, participants that fail, poison, idempotency and metrics.

mod concurrency;
mod faults;
mod idempotency;
mod metrics;
mod outcomes;
mod poison;
