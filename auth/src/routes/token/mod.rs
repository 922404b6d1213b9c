//! `/api/token/`: login, refresh and verify.

pub mod obtain;
pub mod refresh;
pub mod verify;
