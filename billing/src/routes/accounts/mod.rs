//! `/api/accounts/{username}`: a user's own wallet.

pub mod deposit;
pub mod get;
