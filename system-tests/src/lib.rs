//! The tests of the whole system, and what they stand on:
//!
//! - `in_process`: the pipeline in one process (billing, items, slots,
//!   order-api and mediator workers on real databases and a real Redis),
//!   for the pipeline's suites here and order-api's and the mediator's own;
//! - `local`: the local stack that `scripts/stack up` started, as its
//!   clients see it, for the stack and high-availability suites;
//! - `conservation`: the verdict at a quiet moment that every drill ends with;
//! - `binaries`: the release binaries the tests with real processes start;
//! - `processes`: where the local stack lives, the environment it gives a
//!   service, and services started beside it on ports of their own.
#![forbid(unsafe_code)]

pub mod binaries;
pub mod conservation;
pub mod in_process;
pub mod local;
pub mod processes;

pub use local::{unique_name, LocalStack};
