//! A saga's history: the steps its runs took, kept as JSON in the order's
//! `history` column and shown as such by `GET /api/orders/{id}`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One step of a saga's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// `money`, `item` or `slot`.
    pub step: String,
    /// `reserve` or `cancel`.
    pub action: String,
    /// What the service answered (`granted`, `refused`, `released`, ...),
    /// `unavailable` when it could not be reached, `stuck` when a cancel
    /// could not succeed without an operator.
    pub outcome: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}
