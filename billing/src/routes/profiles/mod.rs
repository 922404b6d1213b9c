//! `/api/profiles/`: accounts opened by auth at sign-up (internal).

pub mod post;
