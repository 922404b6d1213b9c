//! slots' routes: only the internal reservations.

mod reservations;

pub use reservations::routes as reservations;
