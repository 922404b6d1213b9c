//! An order as the orders table keeps it, and what it is made of.

use common::domain::{OrderId, SlotTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::StoreError;

/// Where an order stands, as the `status` column says it.
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

    /// What the API's `success` says: `None` while pending, then whether
    /// the order completed.
    pub fn success(self) -> Option<bool> {
        match self {
            Status::Pending => None,
            Status::Completed => Some(true),
            Status::Failed => Some(false),
        }
    }

    /// The status a column holds; `None` for any other text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Status::Pending),
            "completed" => Some(Status::Completed),
            "failed" => Some(Status::Failed),
            _ => None,
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

/// One row of the orders table: what the saga works on and what the API
/// shows (order-api turns it into the client's view).
#[derive(Debug, Clone)]
pub struct Order {
    pub id: OrderId,
    pub username: String,
    pub amount: Decimal,
    pub details: Details,
    pub status: Status,
    /// Set when a saga begins failing, before it compensates; so also the
    /// reason of a failed order. `None` while no run has begun failing it.
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
    /// Parked: the saga stopped, waiting for an operator.
    pub parked: bool,
    /// The W3C `traceparent` of the request that placed it: each saga run
    /// is a child of that span. `None` when traces were off.
    pub traceparent: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The columns `Order::from_row` reads, for `concat!` into the queries.
macro_rules! columns {
    () => {
        "id, username, amount, item, slot, status, reason, idempotency_key, traceparent, created_at, \
         updated_at, parked_at IS NOT NULL AS parked"
    };
}
pub(crate) use columns;

impl Order {
    /// Reads a row selected with `columns!()`; `Corrupt` if a column holds
    /// what no order can.
    pub(crate) fn from_row(row: &Row) -> Result<Self, StoreError> {
        let id: OrderId = row.try_get("id")?;
        let corrupt = |detail: String| StoreError::Corrupt { id, detail };
        let status: &str = row.try_get("status")?;
        let status = Status::parse(status).ok_or_else(|| corrupt(format!("status {status:?}")))?;
        let item: i32 = row.try_get("item")?;
        let item = ItemId::try_from(i64::from(item)).map_err(corrupt)?;
        let slot = SlotTime::parse(row.try_get("slot")?).map_err(corrupt)?;
        Ok(Self {
            id,
            username: row.try_get("username")?,
            amount: row.try_get("amount")?,
            details: Details { item, slot },
            status,
            reason: row.try_get("reason")?,
            idempotency_key: row.try_get("idempotency_key")?,
            parked: row.try_get("parked")?,
            traceparent: row.try_get("traceparent")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// The id of the order's trace, from its `traceparent`
    /// (`00-<trace id>-<span id>-<flags>`).
    pub fn trace_id(&self) -> Option<&str> {
        self.traceparent.as_deref().and_then(|tp| tp.get(3..35))
    }

    pub(crate) fn from_rows(rows: &[Row]) -> Result<Vec<Self>, StoreError> {
        rows.iter().map(Self::from_row).collect()
    }
}
