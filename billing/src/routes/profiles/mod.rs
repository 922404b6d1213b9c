//! `/api/profiles/`: accounts opened by auth at sign-up, and closed again
//! when the sign-up failed half-way (internal).

pub mod delete;
pub mod post;
