//! What keeps the queue whole: the heartbeat (and, on the same tick, the
//! reaping of dead workers' in-flight lists) and the sweeper that queues
//! pending orders nobody holds, and on its tick measures the backlog.

use std::time::Duration;

use common::domain::OrderId;
use orders::Store;
use queue::ConsumerHandle;
use tokio_util::sync::CancellationToken;

use crate::saga_metrics;

/// Heartbeats every `interval` and reaps workers silent for `expiry`,
/// until `stop`.
pub async fn heartbeat(
    queue: ConsumerHandle,
    interval: Duration,
    expiry: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        if let Err(err) = queue.heartbeat().await {
            tracing::warn!(error = %err, "heartbeat failed");
            continue;
        }
        match queue.reap(expiry).await {
            Ok(reaped) if !reaped.is_empty() => {
                tracing::warn!(workers = ?reaped, "reaped dead workers: their orders are queued again")
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "reaping failed"),
        }
    }
}

/// Every `interval`, queues the pending orders older than `age` that are
/// neither queued nor in flight (a lost push, a Redis that lost data).
pub async fn sweep(
    store: Store,
    queue: ConsumerHandle,
    interval: Duration,
    age: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        let candidates = match store.pending_older_than(age.as_millis() as i64, 1000).await {
            Ok(ids) => ids,
            Err(err) => {
                tracing::warn!(error = %err, "sweep skipped");
                continue;
            }
        };
        let candidates: Vec<i64> = candidates.into_iter().map(OrderId::get).collect();
        match queue.sweep(&candidates).await {
            Ok(pushed) if !pushed.is_empty() => {
                tracing::warn!(orders = ?pushed, "queued pending orders that nobody held")
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "sweep failed"),
        }
        report_backlog(&store, &queue).await;
    }
}

/// Sets the backlog gauges; a store that does not answer leaves them as
/// they were, and says so.
async fn report_backlog(store: &Store, queue: &ConsumerHandle) {
    match (store.backlog().await, queue.queue_depth().await) {
        (Ok(backlog), Ok(depth)) => {
            saga_metrics::backlog(backlog.parked, depth, backlog.oldest_pending_seconds)
        }
        (Err(err), _) => tracing::warn!(error = %err, "backlog not measured"),
        (_, Err(err)) => tracing::warn!(error = %err, "queue depth not measured"),
    }
}
