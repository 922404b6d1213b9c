//! What the admin API asks of the orders database: every saga of the shop,
//! where each stands and the counts an operator reads first (`reads`), the
//! filters a list takes (`filter`), and the two actions an operator takes,
//! retry and cancel, which change the row and note the operator in its
//! history (`actions`). Here: a saga's state, its row, the history as an
//! operator reads it, and the SQL the three share.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Action, Order, Status, Step, StepRecord, StoreError};

/// What `SagaRow::from_row` reads: the order's columns, why it is parked, and
/// how many runs it has had (one, and one more per operator's retry).
macro_rules! saga_columns {
    () => {
        concat!(
            crate::order::columns!(),
            ", parked_reason, parked_at,
             1 + (SELECT count(*) FROM jsonb_array_elements(history) AS entry
                  WHERE entry->>'step' = 'operator' AND entry->>'action' = 'retry') AS attempts"
        )
    };
}

/// The state of a row, in SQL, from the same columns as `SagaState::of`.
macro_rules! state_sql {
    () => {
        "CASE WHEN status <> 'pending' THEN status
              WHEN parked_at IS NOT NULL THEN 'parked'
              WHEN reason IS NOT NULL THEN 'compensating'
              ELSE 'running' END"
    };
}

/// What a `Filter` selects, its fields bound to $1 to $5 (`Filter::params`).
macro_rules! filter_sql {
    () => {
        concat!(
            "($1::text IS NULL OR $1 = ",
            state_sql!(),
            " OR ($1 = 'pending' AND status = 'pending'))
             AND ($2::text IS NULL OR username = $2)
             AND ($3::text IS NULL OR reason = $3)
             AND ($4::timestamptz IS NULL OR created_at >= $4)
             AND ($5::timestamptz IS NULL OR created_at < $5)"
        )
    };
}

/// The columns of a changed row that `SagaRow::from_row` reads.
macro_rules! returning {
    () => {
        concat!(" RETURNING ", saga_columns!())
    };
}

mod actions;
mod filter;
mod reads;

pub use actions::Acted;
pub use filter::{Filter, StatusFilter};
pub use reads::Counts;

/// Where a saga stands. The customer sees `pending` for the first three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SagaState {
    /// Pending, and no run has begun failing it: queued or in a worker.
    Running,
    /// Pending with a reason: a run decided it fails and is undoing steps.
    Compensating,
    /// Stopped until an operator retries it.
    Parked,
    Completed,
    Failed,
}

impl SagaState {
    pub const ALL: [SagaState; 5] = [
        SagaState::Running,
        SagaState::Compensating,
        SagaState::Parked,
        SagaState::Completed,
        SagaState::Failed,
    ];

    pub fn of(order: &Order) -> Self {
        match order.status {
            Status::Completed => SagaState::Completed,
            Status::Failed => SagaState::Failed,
            Status::Pending if order.parked => SagaState::Parked,
            Status::Pending if order.reason.is_some() => SagaState::Compensating,
            Status::Pending => SagaState::Running,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SagaState::Running => "running",
            SagaState::Compensating => "compensating",
            SagaState::Parked => "parked",
            SagaState::Completed => "completed",
            SagaState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    pub fn is_final(self) -> bool {
        matches!(self, SagaState::Completed | SagaState::Failed)
    }
}

/// One saga as its row holds it: its order and why it is parked, if it is
/// (the mediator's runner is `mediator::SagaRunner`).
#[derive(Debug, Clone)]
pub struct SagaRow {
    pub order: Order,
    pub state: SagaState,
    pub parked_reason: Option<String>,
    pub parked_at: Option<OffsetDateTime>,
    /// Runs started: the first, and one per operator's retry.
    pub attempts: i64,
}

impl SagaRow {
    pub(super) fn from_row(row: &tokio_postgres::Row) -> Result<Self, StoreError> {
        let order = Order::from_row(row)?;
        Ok(Self {
            state: SagaState::of(&order),
            parked_reason: row.try_get("parked_reason")?,
            parked_at: row.try_get("parked_at")?,
            attempts: row.try_get("attempts")?,
            order,
        })
    }
}

/// One entry of a saga's history as an operator reads it: a step of a run,
/// or an operator's action (step `operator`, with the administrator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(flatten)]
    pub record: StepRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
}

impl HistoryEntry {
    pub(super) fn operator(action: Action, admin: &str) -> Self {
        Self {
            record: StepRecord {
                step: Step::Operator,
                action,
                outcome: "done".into(),
                at: OffsetDateTime::now_utc(),
            },
            admin: Some(admin.into()),
        }
    }

    pub fn is_retry(&self) -> bool {
        self.record.step == Step::Operator && self.record.action == Action::Retry
    }
}
