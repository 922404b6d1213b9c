//! `/api/orders/`: place, list and read one's orders.

pub mod get;
pub mod list;
pub mod post;
