use std::time::Duration;

use anyhow::ensure;
use common::config::{self, Listen, Secret};
use common::db::DatabaseSettings;
use common::http::Caller;
use queue::RedisSettings;

/// The mediator's configuration, from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where `/health`, `/ready` and `/metrics` are served:
    /// `HTTP_HOST`/`HTTP_PORT` (default 127.0.0.1:8006).
    pub listen: Listen,
    /// The orders database: `DATABASE_URL`, `DATABASE_POOL_SIZE`.
    pub database: DatabaseSettings,
    /// `REDIS_URL` (default redis://127.0.0.1:56379) and `REDIS_CA_FILE`.
    pub redis: RedisSettings,
    /// The queue shared with order-api: `ORDER_QUEUE` (default `orders`).
    pub queue: String,
    /// `BILLING_URL`, `ITEMS_URL`, `SLOTS_URL` (defaults: local ports 8002, 8004, 8005).
    pub billing_url: String,
    pub items_url: String,
    pub slots_url: String,
    /// The mediator's own credential for the participants' internal
    /// endpoints: `MEDIATOR_SERVICE_TOKEN`.
    pub service_token: Secret,
    /// Sagas run at once in this process: `MEDIATOR_CONCURRENCY` (default 64).
    pub concurrency: usize,
    /// One call to a participant: `STEP_TIMEOUT_MS` (default 2000).
    pub step_timeout: Duration,
    /// Retries back off from `RETRY_BASE_MS` (default 50) doubling up to
    /// `RETRY_MAX_MS` (default 2000), with full jitter.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// A saga still unable to reach a participant after `SAGA_DEADLINE_MS`
    /// (default 30000) fails and compensates.
    pub saga_deadline: Duration,
    /// A compensation still failing after `COMPENSATION_ATTEMPTS` tries
    /// (default 30, about a minute at the default backoff) parks its saga
    /// for an operator instead of holding a worker's place for ever; one
    /// refused outright (a 4xx, an unreadable answer) parks at once.
    pub compensation_attempts: u32,
    /// Heartbeat every `HEARTBEAT_INTERVAL_MS` (default 1000); a worker
    /// silent for `HEARTBEAT_EXPIRY_MS` (default 10000) is dead and its
    /// orders are handed to the others.
    pub heartbeat_interval: Duration,
    pub heartbeat_expiry: Duration,
    /// Every `SWEEP_INTERVAL_MS` (default 5000), pending orders older than
    /// `SWEEP_AGE_MS` (default 10000) that nobody holds are queued again.
    pub sweep_interval: Duration,
    pub sweep_age: Duration,
    /// On SIGTERM, sagas get `SHUTDOWN_GRACE_MS` (default 10000) to finish
    /// before the rest are handed back to the queue.
    pub shutdown_grace: Duration,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let ms = config::millis;
        let settings = Self {
            listen: Listen::from_env(8006)?,
            database: DatabaseSettings::from_env("orders")?,
            redis: RedisSettings::from_env(),
            queue: config::string("ORDER_QUEUE", "orders"),
            billing_url: config::string("BILLING_URL", "http://127.0.0.1:8002"),
            items_url: config::string("ITEMS_URL", "http://127.0.0.1:8004"),
            slots_url: config::string("SLOTS_URL", "http://127.0.0.1:8005"),
            service_token: Caller::Mediator.credential_from_env()?,
            concurrency: config::parsed("MEDIATOR_CONCURRENCY", 64)?,
            step_timeout: ms("STEP_TIMEOUT_MS", Duration::from_millis(2000))?,
            retry_base: ms("RETRY_BASE_MS", Duration::from_millis(50))?,
            retry_max: ms("RETRY_MAX_MS", Duration::from_millis(2000))?,
            saga_deadline: ms("SAGA_DEADLINE_MS", Duration::from_secs(30))?,
            compensation_attempts: config::parsed("COMPENSATION_ATTEMPTS", 30)?,
            heartbeat_interval: ms("HEARTBEAT_INTERVAL_MS", Duration::from_secs(1))?,
            heartbeat_expiry: ms("HEARTBEAT_EXPIRY_MS", Duration::from_secs(10))?,
            sweep_interval: ms("SWEEP_INTERVAL_MS", Duration::from_secs(5))?,
            sweep_age: ms("SWEEP_AGE_MS", Duration::from_secs(10))?,
            shutdown_grace: ms("SHUTDOWN_GRACE_MS", Duration::from_secs(10))?,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Cross-field checks; contradictions that are legal but risky are warned.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            self.concurrency > 0,
            "MEDIATOR_CONCURRENCY must be at least 1"
        );
        ensure!(
            self.retry_base > Duration::ZERO && self.retry_base <= self.retry_max,
            "RETRY_BASE_MS must be positive and at most RETRY_MAX_MS"
        );
        ensure!(
            self.heartbeat_expiry >= self.heartbeat_interval * 3,
            "HEARTBEAT_EXPIRY_MS must be at least 3 x HEARTBEAT_INTERVAL_MS, or live workers are reaped"
        );
        ensure!(
            self.compensation_attempts > 0,
            "COMPENSATION_ATTEMPTS must be at least 1"
        );
        ensure!(
            self.step_timeout > Duration::ZERO,
            "STEP_TIMEOUT_MS must be positive"
        );
        if self.heartbeat_expiry < self.step_timeout + Duration::from_secs(1) {
            tracing::warn!(
                "HEARTBEAT_EXPIRY_MS is shorter than STEP_TIMEOUT_MS plus a second: a worker \
                 stalled in one call may be declared dead while it still runs its saga"
            );
        }
        if self.saga_deadline < self.step_timeout {
            tracing::warn!("SAGA_DEADLINE_MS is shorter than STEP_TIMEOUT_MS: a slow step fails its saga at once");
        }
        Ok(())
    }
}
