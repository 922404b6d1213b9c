//! A saga's history: the steps its runs took, kept as JSON in the order's
//! `history` column and shown as such by `GET /api/orders/{id}`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Who a history entry is about: one of the saga's three steps, or an
/// operator acting on the saga (the admin API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Money,
    Item,
    Slot,
    Operator,
}

/// What was done: a step reserved or cancelled, or an operator retried or
/// cancelled the saga.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Reserve,
    Cancel,
    Retry,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Money => "money",
            Step::Item => "item",
            Step::Slot => "slot",
            Step::Operator => "operator",
        }
    }
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Reserve => "reserve",
            Action::Cancel => "cancel",
            Action::Retry => "retry",
        }
    }
}

/// One step of a saga's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: Step,
    pub action: Action,
    /// What the service answered (`granted`, `refused`, `released`, ...),
    /// `unavailable` when it could not be reached, `stuck` when a cancel
    /// could not succeed without an operator, `done` for an operator's.
    pub outcome: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}
