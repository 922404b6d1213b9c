//! The daemon's loop: take an order off the queue into this worker's
//! in-flight list, run its saga in a task of its own (at most
//! `concurrency` at once, so one slow order holds up no other), and remove
//! it from the in-flight list only once its outcome is durable.

use std::sync::Arc;
use std::time::Duration;

use common::domain::OrderId;
use queue::{Consumer, ConsumerHandle};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::retry::Backoff;
use crate::saga::{Finished, SagaError, SagaRunner};
use crate::saga_metrics;

/// How long one BLMOVE waits before the loop looks at the shutdown token.
const POLL: Duration = Duration::from_secs(1);

/// Takes and runs orders until `shutdown`; then gives the sagas in flight
/// `grace` to finish and hands the rest back to the queue.
pub async fn run(
    saga: Arc<SagaRunner>,
    mut consumer: Consumer,
    concurrency: usize,
    grace: Duration,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut sagas = JoinSet::new();
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        while sagas.try_join_next().is_some() {}
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit,
            _ = shutdown.cancelled() => break,
        };
        let Ok(permit) = permit else { break };
        let next = tokio::select! {
            next = consumer.next(POLL) => next,
            _ = shutdown.cancelled() => break,
        };
        match next {
            Ok(Some(order_id)) => {
                backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
                let (saga, handle) = (saga.clone(), consumer.handle.clone());
                sagas.spawn(process(saga, handle, order_id, permit));
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %err, "cannot take from the queue, retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff.next_delay()) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
        }
    }
    tracing::info!(running = sagas.len(), "stopped taking orders");
    let drained =
        tokio::time::timeout(grace, async { while sagas.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            running = sagas.len(),
            "grace period over, handing back what is left"
        );
        sagas.abort_all();
        while sagas.join_next().await.is_some() {}
    }
    match consumer.handle.hand_back().await {
        Ok(moved) => tracing::info!(moved, "handed back to the queue"),
        Err(err) => tracing::warn!(error = %err, "could not hand back; the reaper will"),
    }
}

/// A worker driven one order at a time, without the loop, the heartbeat or
/// the sweeper: what a test steps through.
pub struct Worker {
    saga: Arc<SagaRunner>,
    consumer: Consumer,
}

impl Worker {
    pub(crate) fn new(saga: Arc<SagaRunner>, consumer: Consumer) -> Self {
        Self { saga, consumer }
    }

    /// Takes the next order (waiting up to `wait`), runs its saga and
    /// settles its queue entry, as the loop does for each; the order's id,
    /// or `None` when none came.
    pub async fn process_next(&mut self, wait: Duration) -> redis::RedisResult<Option<i64>> {
        let Some(order_id) = self.consumer.next(wait).await? else {
            return Ok(None);
        };
        let span = tracing::info_span!("saga", order_id, trace_id = tracing::field::Empty);
        run_and_settle(&self.saga, &self.consumer.handle, order_id)
            .instrument(span)
            .await;
        Ok(Some(order_id))
    }
}

/// Runs one saga and settles its queue entry.
async fn process(
    saga: Arc<SagaRunner>,
    queue: ConsumerHandle,
    order_id: i64,
    _permit: OwnedSemaphorePermit,
) {
    // Its parent, the request that placed the order, is set once the order
    // is read (SagaRunner::run).
    let span = tracing::info_span!("saga", order_id, trace_id = tracing::field::Empty);
    run_and_settle(&saga, &queue, order_id)
        .instrument(span)
        .await
}

async fn run_and_settle(saga: &Arc<SagaRunner>, queue: &ConsumerHandle, job: i64) {
    let _running = saga_metrics::InFlight::begin();
    let Ok(order_id) = OrderId::try_from(job) else {
        saga_metrics::run_ended("missing");
        tracing::warn!("no order has this id; dropping it");
        settle(queue, job).await;
        return;
    };
    let result = match saga.run(order_id).await {
        Err(SagaError::Store(err)) => park_or_give_up(saga, order_id, err).await,
        other => other,
    };
    let outcome = match &result {
        Ok(Finished::Completed) => "completed",
        Ok(Finished::Failed(_)) => "failed",
        Ok(Finished::AlreadyFinal) => "already_final",
        Ok(Finished::Missing) => "missing",
        Ok(Finished::Parked(_)) => "parked",
        Ok(Finished::LeftParked) => "left_parked",
        Err(SagaError::Interrupted) => "interrupted",
        Err(SagaError::Store(_)) => "error",
    };
    saga_metrics::run_ended(outcome);
    match result {
        Ok(finished) => {
            match &finished {
                Finished::Failed(reason) => tracing::info!(outcome, %reason, "saga finished"),
                Finished::Missing => tracing::warn!("no such order; dropping it"),
                Finished::Parked(reason) => {
                    tracing::error!(%reason, "saga parked: it waits for an operator")
                }
                _ => tracing::info!(outcome, "saga finished"),
            }
            settle(queue, job).await;
        }
        // Left in the in-flight list: the shutdown hands it back.
        Err(SagaError::Interrupted) => tracing::info!("interrupted by shutdown"),
        Err(SagaError::Store(_)) => {
            tracing::error!("queued again for later");
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Err(err) = queue.retry_later(job).await {
                tracing::warn!(error = %err, "could not requeue; the reaper or sweeper will");
            }
        }
    }
}

/// A store error a retry would repeat parks the saga; only if that cannot
/// be written either does the run end in error.
async fn park_or_give_up(
    saga: &SagaRunner,
    order_id: OrderId,
    err: orders::StoreError,
) -> Result<Finished, SagaError> {
    saga.park_after(order_id, &err).await.map_err(|park_err| {
        tracing::error!(error = %err, park_error = %park_err, "saga cannot go on nor be parked");
        SagaError::Store(err)
    })
}

/// Removes a finished order from the in-flight list, retrying a little: if
/// Redis stays away, the entry is harmless (a later run finds it final).
async fn settle(queue: &ConsumerHandle, job: i64) {
    let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(1));
    for _ in 0..5 {
        match queue.complete(job).await {
            Ok(true) => return,
            Ok(false) => {
                tracing::info!("was no longer in flight here (handed back meanwhile)");
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot remove from the in-flight list, retrying");
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}
