//! The saga metrics, by the names dashboards and alerts rely on (README,
//! "Monitoring"). Labels come from fixed sets: the three steps, two
//! actions, two outcomes, and the failure reasons `orders::reasons` makes.

use std::sync::LazyLock;

use common::metrics::{self, Gauge, Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge};
use time::OffsetDateTime;

use crate::participants::Step;

/// A saga's life, from its order's creation: milliseconds to minutes (a
/// parked one may wait for an operator far longer; it lands in +Inf).
const SAGA_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

static STARTED: LazyLock<IntCounter> =
    LazyLock::new(|| metrics::counter("saga_started_total", "Saga runs begun on a pending order."));

static FINISHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metrics::counter_vec(
        "saga_finished_total",
        "Sagas that reached their final status, by outcome and failure reason.",
        &["outcome", "reason"],
    )
});

static DURATION: LazyLock<Histogram> = LazyLock::new(|| {
    metrics::histogram(
        "saga_duration_seconds",
        "Time from an order's creation to its final status.",
        SAGA_BUCKETS,
    )
});

static STEP_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    metrics::histogram_vec(
        "saga_step_duration_seconds",
        "Time of one call to a participant, by step and action.",
        &["step", "action"],
        metrics::LATENCY_BUCKETS,
    )
});

static STEP_RETRIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metrics::counter_vec(
        "saga_step_retries_total",
        "Participant calls retried after a transient fault, by step.",
        &["step"],
    )
});

static COMPENSATIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metrics::counter_vec(
        "saga_compensations_total",
        "Steps undone by a failing saga, by step.",
        &["step"],
    )
});

static RUNS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metrics::counter_vec(
        "saga_runs_total",
        "Runs of this worker by how they ended (completed, failed, parked, already_final, ...).",
        &["outcome"],
    )
});

static IN_FLIGHT: LazyLock<IntGauge> =
    LazyLock::new(|| metrics::gauge("saga_in_flight", "Sagas this worker is running now."));

static PARKED: LazyLock<IntGauge> = LazyLock::new(|| {
    metrics::gauge(
        "saga_parked",
        "Parked sagas waiting for an operator (the same on every worker).",
    )
});

static QUEUE_DEPTH: LazyLock<IntGauge> = LazyLock::new(|| {
    metrics::gauge(
        "saga_queue_depth",
        "Orders waiting in the queue, not yet taken (the same on every worker).",
    )
});

static OLDEST_PENDING: LazyLock<Gauge> = LazyLock::new(|| {
    metrics::float_gauge(
        "saga_oldest_pending_seconds",
        "Age of the oldest pending order that is not parked; 0 when none is (the same on every worker).",
    )
});

/// Every step's series at zero from the start, so that a rate over them
/// reads 0 rather than nothing before the first retry or compensation.
pub fn init() {
    for step in Step::ALL {
        STEP_RETRIES.with_label_values(&[step.name()]);
        COMPENSATIONS.with_label_values(&[step.name()]);
    }
    LazyLock::force(&IN_FLIGHT);
}

pub fn started() {
    STARTED.inc();
}

/// A saga reached its final status; `reason` is `None` when it completed.
pub fn finished(reason: Option<&str>, created_at: OffsetDateTime) {
    let outcome = if reason.is_some() {
        "failed"
    } else {
        "completed"
    };
    FINISHED
        .with_label_values(&[outcome, reason.unwrap_or("")])
        .inc();
    let age = (OffsetDateTime::now_utc() - created_at).as_seconds_f64();
    DURATION.observe(age.max(0.0));
}

pub fn step_call(step: Step, action: &str, seconds: f64) {
    STEP_DURATION
        .with_label_values(&[step.name(), action])
        .observe(seconds);
}

pub fn step_retried(step: Step) {
    STEP_RETRIES.with_label_values(&[step.name()]).inc();
}

pub fn compensated(step: Step) {
    COMPENSATIONS.with_label_values(&[step.name()]).inc();
}

pub fn run_ended(outcome: &str) {
    RUNS.with_label_values(&[outcome]).inc();
}

/// Counts a running saga until dropped.
pub struct InFlight(());

impl InFlight {
    pub fn begin() -> Self {
        IN_FLIGHT.inc();
        Self(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.dec();
    }
}

/// What every worker reports of the shared backlog.
pub fn backlog(parked: i64, queue_depth: u64, oldest_pending_seconds: f64) {
    PARKED.set(parked);
    QUEUE_DEPTH.set(i64::try_from(queue_depth).unwrap_or(i64::MAX));
    OLDEST_PENDING.set(oldest_pending_seconds);
}
