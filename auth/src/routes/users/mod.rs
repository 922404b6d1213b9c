//! `/api/auth/users/`: sign-up.

pub mod post;
