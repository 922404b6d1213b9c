use anyhow::ensure;
use common::config::{self, Listen};
use common::db::DatabaseSettings;
use common::domain::SlotTime;
use common::http::Callers;

/// slots' configuration, from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `HTTP_HOST`/`HTTP_PORT` (default 127.0.0.1:8005).
    pub listen: Listen,
    /// `DATABASE_URL` (default the local stack's `slots`), `DATABASE_POOL_SIZE`.
    pub database: DatabaseSettings,
    /// Each internal caller's credential (`AUTH_SERVICE_TOKEN`,
    /// `MEDIATOR_SERVICE_TOKEN`): each endpoint admits one caller.
    pub callers: Callers,
    /// Slots open on the hour from `SLOTS_FIRST_HOUR` (default 8)...
    pub first_hour: u8,
    /// ...to `SLOTS_LAST_HOUR` (default 18) inclusive.
    pub last_hour: u8,
    /// Deliveries each slot can take: `SLOTS_CAPACITY` (default 1000000).
    pub capacity: i32,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let settings = Self {
            listen: Listen::from_env(8005)?,
            database: DatabaseSettings::from_env("slots")?,
            callers: Callers::from_env()?,
            first_hour: config::parsed("SLOTS_FIRST_HOUR", 8)?,
            last_hour: config::parsed("SLOTS_LAST_HOUR", 18)?,
            capacity: config::parsed("SLOTS_CAPACITY", 1_000_000)?,
        };
        ensure!(
            settings.first_hour <= settings.last_hour && settings.last_hour <= 23,
            "SLOTS_FIRST_HOUR must not be after SLOTS_LAST_HOUR, and both must be 0..=23"
        );
        ensure!(
            settings.capacity >= 0,
            "SLOTS_CAPACITY must not be negative"
        );
        Ok(settings)
    }

    /// The slots to open: every hour from the first to the last.
    pub fn slots(&self) -> Vec<SlotTime> {
        (self.first_hour..=self.last_hour.min(23))
            .filter_map(|hour| SlotTime::on_the_hour(hour).ok())
            .collect()
    }
}
