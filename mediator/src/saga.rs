//! One order's saga: reserve money, then the item, then the slot; on a
//! refusal (or a participant unreachable past the deadline), undo what was
//! attempted in reverse order and fail the order with a reason.
//!
//! Runs may repeat (redelivery, a reaped worker, the sweeper) and may even
//! overlap. That is safe because every participant call is idempotent by
//! order id, and because the orders row arbitrates the end: a run completes
//! the order only if no run has marked it failing, and a run marks it
//! failing (before compensating anything) only if no run has completed it.
//! A run that finds the order already failing compensates every step.
//!
//! A compensation that is refused outright (a 4xx, an answer it cannot
//! read) or keeps failing past `compensation_attempts` parks the saga: the
//! order stays pending, the reason and the steps so far go into its row,
//! and the worker lets it go. It waits there, through restarts, for an
//! operator; the sweeper leaves parked orders alone.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use common::domain::OrderId;
use ledger::{Outcome, Reserved};
use orders::reasons;
use orders::sagas::{Failing, Finish};
use orders::{Action, Order, Status, StepRecord, Store, StoreError};
use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::participants::{Participants, Step};
use crate::retry::Backoff;
use crate::saga_metrics;
use crate::settlements::Settlements;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    Completed,
    Failed(String),
    /// Another run had already finished it (or wins the race to).
    AlreadyFinal,
    /// No such order: a stray id in the queue.
    Missing,
    /// Parked by this run, for this reason.
    Parked(String),
    /// Parked by an earlier run: left for an operator.
    LeftParked,
}

/// Why a run stopped before the order was final; the order stays queued.
#[derive(Debug, thiserror::Error)]
pub enum SagaError {
    #[error("shutting down")]
    Interrupted,
    #[error(transparent)]
    Store(StoreError),
}

/// A compensation that cannot succeed without help.
struct Stuck(String);

/// Runs sagas: what every run needs, shared by the worker's tasks (the
/// admin API's view of one saga is `orders::oversight::SagaRow`).
pub struct SagaRunner {
    pub orders: Store,
    pub participants: Participants,
    pub settlements: Settlements,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub deadline: Duration,
    pub compensation_attempts: u32,
    pub shutdown: CancellationToken,
}

enum Attempt {
    Granted,
    Refused,
    /// Given up at the deadline; `maybe_done` unless every try was refused
    /// before anything was sent, in which case there is nothing to undo.
    Unreachable {
        service: &'static str,
        maybe_done: bool,
    },
}

impl SagaRunner {
    /// Drives order `order_id` to `completed` or `failed`.
    pub async fn run(self: &Arc<Self>, order_id: OrderId) -> Result<Finished, SagaError> {
        let order = self
            .retry_unavailable(|| self.orders.load(order_id))
            .await?;
        let Some(order) = order else {
            return Ok(Finished::Missing);
        };
        // Every run of the order, however late, joins the order's trace.
        common::telemetry::continue_trace(&tracing::Span::current(), order.traceparent.as_deref());
        if order.status != Status::Pending {
            if order.status == Status::Completed {
                // A redelivery: settling again costs nothing and heals one lost.
                self.settlements.completed(order.id);
            }
            return Ok(Finished::AlreadyFinal);
        }
        if order.parked {
            return Ok(Finished::LeftParked);
        }
        saga_metrics::started();
        let mut history = Vec::new();
        if let Some(reason) = order.reason.clone() {
            tracing::info!(%reason, "resuming a failing saga: compensating every step");
            return self.fail(&order, &Step::ALL, reason, history).await;
        }
        let deadline = Instant::now() + self.deadline;
        for (done, step) in Step::ALL.into_iter().enumerate() {
            let (reason, attempted) =
                match self.reserve(step, &order, deadline, &mut history).await? {
                    Attempt::Granted => continue,
                    Attempt::Refused => (step.refusal().to_owned(), &Step::ALL[..=done]),
                    Attempt::Unreachable {
                        service,
                        maybe_done,
                    } => {
                        let upto = if maybe_done { done + 1 } else { done };
                        (reasons::unavailable(service), &Step::ALL[..upto])
                    }
                };
            return self.begin_failing(&order, attempted, reason, history).await;
        }
        let finish = Finish {
            id: order_id,
            status: Status::Completed,
            steps: history,
        };
        let completed = self
            .retry_unavailable(|| self.orders.finish(finish.clone()))
            .await?;
        if completed {
            self.settlements.completed(order_id);
            saga_metrics::finished(None, order.created_at);
            return Ok(Finished::Completed);
        }
        // A concurrent run marked it failing while this one reserved: undo.
        self.begin_failing(
            &order,
            &Step::ALL,
            reasons::unavailable("mediator"),
            finish.steps,
        )
        .await
    }

    /// Calls a reserve, retrying transient faults until the deadline.
    async fn reserve(
        &self,
        step: Step,
        order: &Order,
        deadline: Instant,
        history: &mut Vec<StepRecord>,
    ) -> Result<Attempt, SagaError> {
        let mut backoff = Backoff::new(self.retry_base, self.retry_max);
        let mut maybe_done = false;
        loop {
            let began = Instant::now();
            let reserved = self.participants.reserve(step, order).await;
            saga_metrics::step_call(step, "reserve", began.elapsed().as_secs_f64());
            let (outcome, attempt) = match reserved {
                Ok(Reserved::Granted) => ("granted", Attempt::Granted),
                Ok(Reserved::Refused) => ("refused", Attempt::Refused),
                Err(err) => {
                    maybe_done |= err.maybe_done();
                    let delay = backoff.next_delay();
                    if err.is_transient() && Instant::now() + delay < deadline {
                        tracing::warn!(step = step.name(), error = %err, "reserve failed, retrying");
                        saga_metrics::step_retried(step);
                        self.sleep(delay).await?;
                        continue;
                    }
                    tracing::error!(step = step.name(), error = %err, "reserve failed for good");
                    let service = err.service();
                    (
                        "unavailable",
                        Attempt::Unreachable {
                            service,
                            maybe_done,
                        },
                    )
                }
            };
            tracing::info!(step = step.name(), outcome, "reserve");
            history.push(record(step, Action::Reserve, outcome));
            return Ok(attempt);
        }
    }

    /// Marks the order failing, unless a concurrent run completed it.
    async fn begin_failing(
        &self,
        order: &Order,
        attempted: &[Step],
        reason: String,
        history: Vec<StepRecord>,
    ) -> Result<Finished, SagaError> {
        let marked = self
            .retry_unavailable(|| self.orders.begin_failing(order.id, &reason))
            .await?;
        match marked {
            Failing::Compensate(reason) => self.fail(order, attempted, reason, history).await,
            Failing::AlreadyCompleted => Ok(Finished::AlreadyFinal),
        }
    }

    /// Compensates `steps` in reverse order, then fails the order.
    async fn fail(
        &self,
        order: &Order,
        steps: &[Step],
        reason: String,
        mut history: Vec<StepRecord>,
    ) -> Result<Finished, SagaError> {
        for &step in steps.iter().rev() {
            match self.cancel(step, order.id).await? {
                Ok(outcome) => history.push(record(step, Action::Cancel, &outcome)),
                Err(Stuck(why)) => {
                    history.push(record(step, Action::Cancel, "stuck"));
                    return self.park(order.id, why, history).await;
                }
            }
        }
        let finish = Finish {
            id: order.id,
            status: Status::Failed,
            steps: history,
        };
        let failed = self
            .retry_unavailable(|| self.orders.finish(finish.clone()))
            .await?;
        if failed {
            saga_metrics::finished(Some(&reason), order.created_at);
        }
        Ok(Finished::Failed(reason))
    }

    /// Cancels one step, retrying transient faults: a compensation must
    /// happen. `Stuck` when it is refused outright or keeps failing.
    async fn cancel(
        &self,
        step: Step,
        order_id: OrderId,
    ) -> Result<Result<String, Stuck>, SagaError> {
        let mut backoff = Backoff::new(self.retry_base, self.retry_max);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let began = Instant::now();
            let cancelled = self.participants.cancel(step, order_id).await;
            saga_metrics::step_call(step, "cancel", began.elapsed().as_secs_f64());
            match cancelled {
                Ok(outcome) => {
                    let outcome = outcome.as_str();
                    tracing::info!(step = step.name(), outcome, "cancel");
                    saga_metrics::compensated(step);
                    return Ok(Ok(outcome.to_owned()));
                }
                Err(err) if !err.is_transient() || attempts >= self.compensation_attempts => {
                    tracing::error!(step = step.name(), attempts, error = %err, "cancel cannot succeed alone");
                    let why = format!(
                        "{} cancel failed after {attempts} attempts: {err}",
                        step.name()
                    );
                    return Ok(Err(Stuck(why)));
                }
                Err(err) => {
                    tracing::warn!(step = step.name(), error = %err, "cancel failed, retrying");
                    saga_metrics::step_retried(step);
                    self.sleep(backoff.next_delay()).await?;
                }
            }
        }
    }

    /// Parks order `id` with `reason` and the run's `history`.
    async fn park(
        &self,
        id: OrderId,
        reason: String,
        history: Vec<StepRecord>,
    ) -> Result<Finished, SagaError> {
        let parked = self
            .retry_unavailable(|| self.orders.park(id, &reason, &history))
            .await?;
        if !parked {
            return Ok(Finished::AlreadyFinal);
        }
        Ok(Finished::Parked(reason))
    }

    /// Parks order `id` after a store error that a retry would repeat;
    /// `Err` if that cannot be written either.
    pub async fn park_after(&self, id: OrderId, err: &StoreError) -> Result<Finished, StoreError> {
        let reason = format!("the orders database refused the saga: {err}");
        Ok(if self.orders.park(id, &reason, &[]).await? {
            Finished::Parked(reason)
        } else {
            Finished::AlreadyFinal
        })
    }

    /// Runs an orders database call, retrying while the database is
    /// unreachable.
    async fn retry_unavailable<T, F, Fut>(&self, mut call: F) -> Result<T, SagaError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut backoff = Backoff::new(self.retry_base, self.retry_max);
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(err) if err.is_transient() => {
                    tracing::warn!(error = %err, "orders database unavailable, retrying");
                    self.sleep(backoff.next_delay()).await?;
                }
                Err(err) => return Err(SagaError::Store(err)),
            }
        }
    }

    async fn sleep(&self, delay: Duration) -> Result<(), SagaError> {
        tokio::select! {
            _ = tokio::time::sleep(delay) => Ok(()),
            _ = self.shutdown.cancelled() => Err(SagaError::Interrupted),
        }
    }
}

fn record(step: Step, action: Action, outcome: &str) -> StepRecord {
    StepRecord {
        step: step.into(),
        action,
        outcome: outcome.to_owned(),
        at: OffsetDateTime::now_utc(),
    }
}
