//! The exact reasons a client may see on a failed order.

pub const NOT_ENOUGH_MONEY: &str = "Not enough money";
pub const NO_ITEM: &str = "Can not reserve the item";
pub const NO_SLOT: &str = "Can not get the delivery slot";
/// An administrator cancelled the unfinished saga.
pub const CANCELLED_BY_OPERATOR: &str = "Cancelled by operator";

/// A saga that outlived its deadline names the service it could not reach.
pub fn unavailable(service: &str) -> String {
    format!("Service unavailable: {service}")
}
