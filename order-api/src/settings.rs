use std::sync::Arc;

use common::config::{self, Listen};
use common::db::DatabaseSettings;
use common::jwt::TokenVerifier;
use queue::RedisSettings;

/// order-api's configuration, from the environment.
#[derive(Clone)]
pub struct Settings {
    /// `HTTP_HOST`/`HTTP_PORT` (default 127.0.0.1:8003).
    pub listen: Listen,
    /// `DATABASE_URL` (default the local stack's `orders`), `DATABASE_POOL_SIZE`.
    pub database: DatabaseSettings,
    /// `REDIS_URL` (default redis://127.0.0.1:56379) and `REDIS_CA_FILE`.
    pub redis: RedisSettings,
    /// The queue's name, shared with the mediator: `ORDER_QUEUE` (default `orders`).
    pub queue: String,
    /// Verifies users' tokens: `JWT_PUBLIC_KEY_FILE`.
    pub verifier: Arc<TokenVerifier>,
    /// `MAX_UNFINISHED_ORDERS` (default 20): the most orders one customer
    /// may have unfinished (parked ones included); the next gets 429. 0: no
    /// limit (for a benchmark whose few users place thousands at once).
    pub max_unfinished_orders: i64,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            listen: Listen::from_env(8003)?,
            database: DatabaseSettings::from_env("orders")?,
            redis: RedisSettings::from_env(),
            queue: config::string("ORDER_QUEUE", "orders"),
            verifier: Arc::new(common::jwt::verifier_from_env()?),
            max_unfinished_orders: config::parsed("MAX_UNFINISHED_ORDERS", 20)?,
        })
        .and_then(Self::validated)
    }

    fn validated(self) -> anyhow::Result<Self> {
        anyhow::ensure!(
            self.max_unfinished_orders >= 0,
            "MAX_UNFINISHED_ORDERS must be 0 (no limit) or more"
        );
        Ok(self)
    }
}
