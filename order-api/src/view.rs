//! An order as a client reads it.

use common::domain::OrderId;
use orders::{Details, Order, Status, StepRecord};
use rust_decimal::Decimal;
use serde::Serialize;
use time::OffsetDateTime;

/// The order a client sees: `success` and `reason` say how it ended.
#[derive(Debug, Serialize)]
pub struct OrderView {
    pub id: OrderId,
    pub username: String,
    #[serde(serialize_with = "common::money::serialize_decimal")]
    pub amount: Decimal,
    pub details: Details,
    pub status: Status,
    /// `null` while pending, then whether it completed.
    pub success: Option<bool>,
    /// Why it failed; `null` unless failed (a saga that is failing but has
    /// not finished compensating shows none yet).
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Order> for OrderView {
    fn from(order: Order) -> Self {
        Self {
            success: order.status.success(),
            reason: order.reason.filter(|_| order.status == Status::Failed),
            id: order.id,
            username: order.username,
            amount: order.amount,
            details: order.details,
            status: order.status,
            created_at: order.created_at,
            updated_at: order.updated_at,
        }
    }
}

/// One order with its saga history, for `GET /api/orders/{id}`.
#[derive(Debug, Serialize)]
pub struct OrderWithHistoryView {
    #[serde(flatten)]
    pub order: OrderView,
    pub history: Vec<StepRecord>,
}

impl From<orders::placing::OrderWithHistory> for OrderWithHistoryView {
    fn from(found: orders::placing::OrderWithHistory) -> Self {
        Self {
            order: found.order.into(),
            history: found.history,
        }
    }
}
