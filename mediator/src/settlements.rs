//! Telling billing which orders completed, so their money stops counting as
//! held for an unfinished order against the wallet ceiling. Completions are
//! gathered for a moment and sent together (`POST /internal/settlements`),
//! off the saga's path: one call serves the sagas that ended meanwhile.
//!
//! A settlement that never arrives (billing away past the retries, or this
//! process gone first) loses no money: the hold stays counted, and the
//! wallet's room for deposits is smaller than it should be until the order
//! is settled again, which its next run (a redelivery) does.
//!
//! This is not the orders store's batcher, on purpose: that one answers
//! each caller, who waits, and starts a batch at once when none is running.
//! A settlement has no caller waiting: the saga has ended. So completions
//! are gathered for a moment to make fewer, larger calls, and when billing
//! is away the backlog is bounded and dropped, not waited on.

use std::time::Duration;

use common::client::ServiceClient;
use common::domain::OrderId;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;
use warp::http::Method;

use crate::retry::Backoff;

/// The most order ids one call carries (billing's limit).
const MAX_BATCH: usize = 1000;
/// How long completions are gathered before a call.
const GATHER: Duration = Duration::from_millis(20);
/// Completions waiting to be sent, at most.
const BACKLOG: usize = 10_000;
const ATTEMPTS: u32 = 5;

/// The sending end; the task that calls billing ends when it is dropped.
pub struct Settlements {
    completed: mpsc::Sender<OrderId>,
}

impl Settlements {
    /// Starts the task that settles with `billing` (so: inside the runtime).
    pub fn start(billing: ServiceClient) -> Self {
        let (completed, mut waiting) = mpsc::channel(BACKLOG);
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut ids = vec![first];
                let until = Instant::now() + GATHER;
                while ids.len() < MAX_BATCH {
                    match tokio::time::timeout_at(until, waiting.recv()).await {
                        Ok(Some(id)) => ids.push(id),
                        _ => break,
                    }
                }
                settle(&billing, &ids).await;
            }
        });
        Self { completed }
    }

    /// Order `id` completed: its money is spent.
    pub fn completed(&self, id: OrderId) {
        if self.completed.try_send(id).is_err() {
            tracing::warn!(
                order_id = id.get(),
                "settlement backlog full: the hold stays counted"
            );
        }
    }
}

async fn settle(billing: &ServiceClient, ids: &[OrderId]) {
    let body = json!({ "order_ids": ids });
    let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
    for attempt in 1..=ATTEMPTS {
        match billing
            .call::<_, Value>(Method::POST, "/internal/settlements", Some(&body))
            .await
        {
            Ok(_) => return,
            Err(err) if attempt < ATTEMPTS && err.is_transient() => {
                tracing::warn!(error = %err, orders = ids.len(), "settling failed, retrying");
                tokio::time::sleep(backoff.next_delay()).await;
            }
            Err(err) => {
                tracing::error!(error = %err, orders = ids.len(), "settling failed: the holds stay counted");
                return;
            }
        }
    }
}
