//! What the admin API answers, as types: a saga as an operator reads it
//! (the whole order, its state, how long it has run), a worker, and the
//! body of each route's answer.

use common::domain::OrderId;
use std::collections::BTreeMap;

use orders::oversight::{HistoryEntry, SagaRow, SagaState};
use orders::{Details, Status};
use queue::Worker;
use rust_decimal::Decimal;
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Debug, Serialize)]
pub struct SagaView {
    pub id: OrderId,
    pub username: String,
    #[serde(serialize_with = "common::money::serialize_decimal")]
    pub amount: Decimal,
    pub details: Details,
    /// What the customer sees.
    pub status: Status,
    pub success: Option<bool>,
    /// Unlike the customer's view, also while compensating.
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub state: SagaState,
    pub parked_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub parked_at: Option<OffsetDateTime>,
    /// Runs started: the first, and one per operator's retry.
    pub attempts: i64,
    /// From creation to now, or to the final status.
    pub age_seconds: f64,
    /// The order's trace, to look up in the tracing back end; `None` when
    /// traces were off as it was placed.
    pub trace_id: Option<String>,
}

impl From<SagaRow> for SagaView {
    fn from(saga: SagaRow) -> Self {
        let order = saga.order;
        let end = if saga.state.is_final() {
            order.updated_at
        } else {
            OffsetDateTime::now_utc()
        };
        Self {
            trace_id: order.trace_id().map(str::to_owned),
            id: order.id,
            username: order.username,
            amount: order.amount,
            details: order.details,
            status: order.status,
            success: order.status.success(),
            reason: order.reason,
            age_seconds: seconds_between(order.created_at, end),
            created_at: order.created_at,
            updated_at: order.updated_at,
            state: saga.state,
            parked_reason: saga.parked_reason,
            parked_at: saga.parked_at,
            attempts: saga.attempts,
        }
    }
}

/// A mediator worker: when it last said it is alive, and what it holds.
#[derive(Debug, Serialize)]
pub struct WorkerView {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub last_heartbeat: OffsetDateTime,
    pub age_seconds: f64,
    pub in_flight: Vec<i64>,
}

impl From<Worker> for WorkerView {
    fn from(worker: Worker) -> Self {
        let nanos = i128::from(worker.last_heartbeat_ms) * 1_000_000;
        let last_heartbeat =
            OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Self {
            id: worker.id,
            age_seconds: seconds_between(last_heartbeat, OffsetDateTime::now_utc()),
            last_heartbeat,
            // What is not an order id is buried by its worker, not shown.
            in_flight: worker
                .in_flight
                .iter()
                .filter_map(|entry| entry.parse().ok())
                .collect(),
        }
    }
}

pub fn seconds_between(from: OffsetDateTime, to: OffsetDateTime) -> f64 {
    ((to - from).as_seconds_f64() * 1000.0).round().max(0.0) / 1000.0
}

/// `GET /api/admin/sagas`: a page, newest first; `next_before` pages on.
#[derive(Debug, Serialize)]
pub struct SagaPage {
    pub sagas: Vec<SagaView>,
    pub next_before: Option<OrderId>,
}

/// An operator's retry or cancel of one saga: the saga after it.
#[derive(Debug, Serialize)]
pub struct OneSaga {
    pub saga: SagaView,
}

/// `GET /api/admin/sagas/{id}`: the saga, its history, and the worker that
/// holds it now, if one does.
#[derive(Debug, Serialize)]
pub struct SagaDetail {
    pub saga: SagaView,
    pub history: Vec<RunEntry>,
    pub worker: Option<String>,
}

/// An entry of the history with the run it belongs to (1, and one more
/// after each operator's retry).
#[derive(Debug, Serialize)]
pub struct RunEntry {
    #[serde(flatten)]
    pub entry: HistoryEntry,
    pub attempt: u32,
}

impl RunEntry {
    /// Numbers the runs of `history`, oldest first.
    pub fn number(history: Vec<HistoryEntry>) -> Vec<Self> {
        let mut attempt = 1;
        history
            .into_iter()
            .map(|entry| {
                attempt += u32::from(entry.is_retry());
                Self { entry, attempt }
            })
            .collect()
    }
}

/// `POST /api/admin/sagas/retry`: what a bulk retry re-drove.
#[derive(Debug, Serialize)]
pub struct Retried {
    pub retried: usize,
    pub ids: Vec<OrderId>,
    /// The limit was reached: more may match.
    pub more: bool,
}

/// `GET /api/admin/workers`.
#[derive(Debug, Serialize)]
pub struct Workers {
    pub workers: Vec<WorkerView>,
}

/// `GET /api/admin/sagas/stats`.
#[derive(Debug, Serialize)]
pub struct Stats {
    pub by_state: BTreeMap<&'static str, i64>,
    pub by_reason: BTreeMap<String, i64>,
    pub oldest_unfinished_seconds: Option<f64>,
    pub queue_depth: u64,
    pub workers: Vec<WorkerLoad>,
    pub parked: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub finished_since: OffsetDateTime,
    pub version: &'static str,
}

/// A worker in the stats: how many entries it holds.
#[derive(Debug, Serialize)]
pub struct WorkerLoad {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub last_heartbeat: OffsetDateTime,
    pub in_flight: usize,
}

impl From<WorkerView> for WorkerLoad {
    fn from(worker: WorkerView) -> Self {
        Self {
            id: worker.id,
            last_heartbeat: worker.last_heartbeat,
            in_flight: worker.in_flight.len(),
        }
    }
}
