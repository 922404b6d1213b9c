//! The orders database and the orders queue, which order-api and the
//! mediator share. order-api inserts an order, commits it and pushes its id
//! onto the queue; the mediator takes ids off the queue, drives each order's
//! saga and writes the outcome into the order's row. Each service runs the
//! statements of its own module (`placing`, `sagas`); the schema, the row
//! type and the queue's layout are defined here once.
#![forbid(unsafe_code)]

pub mod batch;
mod error;
mod history;
mod order;
pub mod oversight;
pub mod placing;
pub mod queue;
pub mod reasons;
mod redis_settings;
pub mod sagas;

use std::sync::Arc;

use common::db::DatabaseSettings;
use common::http::ops::ReadyCheck;
use deadpool_postgres::Pool;
use futures::FutureExt;
use redis::aio::ConnectionManager;

pub use error::StoreError;
pub use history::StepRecord;
pub use order::{Details, ItemId, Order, Status};
pub use redis_settings::RedisSettings;

// The orders database's migrations: whoever connects first runs them.
common::embed_migrations!();

/// Connects to the orders database and migrates it. Every statement is
/// planned once for all parameter values. The batched statements take
/// arrays, which PostgreSQL would otherwise plan afresh on every call; and a
/// plan made for `status = 'pending'` would scan the sweeper's index of
/// every pending order rather than the owner's orders.
pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Pool> {
    let settings = DatabaseSettings {
        generic_plans: true,
        ..settings.clone()
    };
    common::db::connect(&settings, migrations).await
}

/// Ready when both the orders database and the queue's Redis answer.
pub fn ready_check(pool: Pool, redis: ConnectionManager) -> ReadyCheck {
    Arc::new(move || {
        let (pool, mut redis) = (pool.clone(), redis.clone());
        async move {
            common::db::ping(&pool).await?;
            queue::ping(&mut redis).await
        }
        .boxed()
    })
}
