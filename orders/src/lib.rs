//! The orders database, which order-api and the mediator share: its schema,
//! its rows and every statement run on it, behind one door, `Store`.
//! order-api places an order through it and then queues the id (on the
//! `queue` crate's Redis queue, which knows nothing of orders); the
//! mediator loads the order, drives its saga and ends it through it; the
//! admin API reads and acts on sagas through it.
//!
//! `store` holds the door and its batching; `placing` what order-api asks,
//! `sagas` what the mediator asks, `oversight` what the admin API asks;
//! `order` and `history` are the row and its saga history.
#![forbid(unsafe_code)]

mod batch;
mod error;
mod history;
mod order;
pub mod oversight;
pub mod placing;
pub mod reasons;
pub mod sagas;
mod store;

pub use error::StoreError;
pub use history::{Action, Step, StepRecord};
pub use order::{Details, ItemId, Order, Status};
pub use store::Store;

// The orders database's migrations: whoever connects first runs them.
common::embed_migrations!();
