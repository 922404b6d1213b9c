use anyhow::ensure;
use common::config::{self, Listen};
use common::db::DatabaseSettings;
use common::http::Callers;

/// items' configuration, from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `HTTP_HOST`/`HTTP_PORT` (default 127.0.0.1:8004).
    pub listen: Listen,
    /// `DATABASE_URL` (default the local stack's `items`), `DATABASE_POOL_SIZE`.
    pub database: DatabaseSettings,
    /// Each internal caller's credential (`AUTH_SERVICE_TOKEN`,
    /// `MEDIATOR_SERVICE_TOKEN`): each endpoint admits one caller.
    pub callers: Callers,
    /// Items 1..=`ITEMS_COUNT` (default 10) exist from the first start.
    pub item_count: i32,
    /// Each with `ITEMS_INITIAL_STOCK` (default 1000000) on the shelf.
    pub initial_stock: i32,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let settings = Self {
            listen: Listen::from_env(8004)?,
            database: DatabaseSettings::from_env("items")?,
            callers: Callers::from_env()?,
            item_count: config::parsed("ITEMS_COUNT", 10)?,
            initial_stock: config::parsed("ITEMS_INITIAL_STOCK", 1_000_000)?,
        };
        ensure!(settings.item_count >= 0, "ITEMS_COUNT must not be negative");
        ensure!(
            settings.initial_stock >= 0,
            "ITEMS_INITIAL_STOCK must not be negative"
        );
        Ok(settings)
    }
}
