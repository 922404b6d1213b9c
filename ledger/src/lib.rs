//! The idempotent reservation ledger that billing, items and slots share.
//!
//! Each of these services keeps a `reservations` table keyed by order id:
//!
//! ```text
//! order_id BIGINT PRIMARY KEY,
//! state    TEXT  -- granted | refused | released | tombstone
//! ...      -- what was reserved (service columns, NULL on a tombstone)
//! ```
//!
//! The rules (SPEC section 3), each call one transaction:
//! - reserve is one statement: a conditional `UPDATE` takes the resource
//!   (checking and changing at once) and the same statement inserts the
//!   reservation row, `granted` or `refused`. If the order has a row
//!   already, the insert violates the key and the whole statement, take
//!   included, rolls back; the stored outcome is returned instead. So a
//!   repeat, even a concurrent one, never takes twice or changes the answer;
//!   A repeat must be the same request: one for the same order id that asks
//!   for something else (another user, amount, item or slot) is refused
//!   with 409 and logged, never answered with the stored grant;
//! - cancel releases a granted reservation once (`granted -> released`);
//! - cancel before any reserve leaves a tombstone, so a late reserve is refused.
//!
//! A service supplies only its SQL: how to reserve and how to give back.
//! `contract` (feature `testing`) holds the rules as tests, which each
//! service runs against its own server.
#![forbid(unsafe_code)]

#[cfg(feature = "testing")]
pub mod contract;
mod routes;
mod statements;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_postgres::types::ToSql;

pub use routes::{routes, PATH};
pub use statements::{cancel, reserve, LedgerError};

/// A service's two statements.
pub struct Ledger {
    /// Takes the resource with one conditional `UPDATE` in a CTE and
    /// inserts the reservation row, state `granted` if the take matched a
    /// row and `refused` if not, with no `ON CONFLICT`: `$1` is the order
    /// id, `$2..` the request's parameters.
    pub reserve: &'static str,
    /// Gives back what the reservation `$1` holds.
    pub give_back: &'static str,
    /// Selects the reservation `$1` if it was made for the request `$2..`
    /// (or is a tombstone, which holds no request): a repeat must match.
    pub same_request: &'static str,
}

/// The answer to a reserve, the same on every repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reserved {
    Granted,
    Refused,
}

/// What a cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cancelled {
    /// The reservation was granted and is now given back.
    Released,
    /// An earlier cancel gave it back already.
    AlreadyReleased,
    /// The reserve was refused: nothing was held.
    NothingHeld,
    /// No reserve came before: a late one will be refused.
    Tombstoned,
}

/// An outcome as the wire, the logs and the metrics name it.
pub trait Outcome: Serialize {
    fn as_str(&self) -> &'static str;
}

impl Outcome for Reserved {
    fn as_str(&self) -> &'static str {
        match self {
            Reserved::Granted => "granted",
            Reserved::Refused => "refused",
        }
    }
}

impl Outcome for Cancelled {
    fn as_str(&self) -> &'static str {
        match self {
            Cancelled::Released => "released",
            Cancelled::AlreadyReleased => "already_released",
            Cancelled::NothingHeld => "nothing_held",
            Cancelled::Tombstoned => "tombstoned",
        }
    }
}

/// A reserve request's body: what to reserve, as statement parameters.
pub trait ReserveRequest: DeserializeOwned + Send + Sync + 'static {
    fn params(&self) -> Vec<&(dyn ToSql + Sync)>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_is_named_as_the_wire_names_it() {
        fn wire(outcome: &impl Outcome) -> String {
            serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        }
        for reserved in [Reserved::Granted, Reserved::Refused] {
            assert_eq!(reserved.as_str(), wire(&reserved));
        }
        for cancelled in [
            Cancelled::Released,
            Cancelled::AlreadyReleased,
            Cancelled::NothingHeld,
            Cancelled::Tombstoned,
        ] {
            assert_eq!(cancelled.as_str(), wire(&cancelled));
        }
    }
}
