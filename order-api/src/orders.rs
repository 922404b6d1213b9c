//! Orders as the API shows them, and the reasons an order fails.

use common::domain::SlotTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_postgres::Row;

/// The exact reasons a client may see.
pub mod reasons {
    pub const NOT_ENOUGH_MONEY: &str = "Not enough money";
    pub const NO_ITEM: &str = "Can not reserve the item";
    pub const NO_SLOT: &str = "Can not get the delivery slot";

    /// A saga that outlived its deadline names the service it could not reach.
    pub fn unavailable(service: &str) -> String {
        format!("Service unavailable: {service}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Completed,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }

    fn from_db(text: &str) -> Self {
        match text {
            "completed" => Status::Completed,
            "failed" => Status::Failed,
            _ => Status::Pending,
        }
    }
}

/// What was ordered: one item, one delivery slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Details {
    pub item: ItemId,
    pub slot: SlotTime,
}

/// An item id: a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i32")]
pub struct ItemId(i32);

impl TryFrom<i64> for ItemId {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, String> {
        i32::try_from(value)
            .ok()
            .filter(|id| *id > 0)
            .map(ItemId)
            .ok_or_else(|| format!("item must be a positive integer id, got {value}"))
    }
}

impl From<ItemId> for i32 {
    fn from(value: ItemId) -> Self {
        value.0
    }
}

impl ItemId {
    pub fn get(self) -> i32 {
        self.0
    }
}

/// An order, as stored and as shown.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: i64,
    pub username: String,
    #[serde(serialize_with = "common::money::serialize_decimal")]
    pub amount: Decimal,
    pub details: Details,
    pub status: Status,
    /// `null` while pending, then whether it completed.
    pub success: Option<bool>,
    /// Why it failed; `null` unless failed.
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Kept for the saga: set while a failing saga compensates.
    #[serde(skip)]
    pub failing_reason: Option<String>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
    /// Kept for the saga: parked, waiting for an operator.
    #[serde(skip)]
    pub parked: bool,
}

impl Order {
    pub(crate) fn from_row(row: &Row) -> Result<Self, String> {
        let status = Status::from_db(row.get("status"));
        let reason: Option<String> = row.get("reason");
        let slot: String = row.get("slot");
        Ok(Self {
            id: row.get("id"),
            username: row.get("username"),
            amount: row.get("amount"),
            details: Details {
                item: ItemId(row.get("item")),
                slot: SlotTime::parse(&slot)?,
            },
            status,
            success: match status {
                Status::Pending => None,
                Status::Completed => Some(true),
                Status::Failed => Some(false),
            },
            reason: (status == Status::Failed).then(|| reason.clone()).flatten(),
            created_at: row.get("created_at"),
            updated_at: row.get("updated_at"),
            failing_reason: reason,
            idempotency_key: row.get("idempotency_key"),
            parked: row.get("parked"),
        })
    }
}

/// One step of a saga's history, as the order's `history` column keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    /// `money`, `item` or `slot`.
    pub step: String,
    /// `reserve` or `cancel`.
    pub action: String,
    /// What the service answered (`granted`, `refused`, `released`, ...), or
    /// `unavailable` when it could not be reached.
    pub outcome: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// An order with its saga history, for `GET /api/orders/{id}`.
#[derive(Serialize)]
pub struct OrderWithHistory {
    #[serde(flatten)]
    pub order: Order,
    pub history: Vec<StepRecord>,
}
