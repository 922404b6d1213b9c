//! order-api: accepts orders. An order is made durable in the orders
//! database, then its id is pushed onto the Redis queue for the mediator. If
//! the push is lost (Redis down, a crash between the two), the mediator's
//! sweeper finds the pending order and queues it: an accepted order is never
//! lost. The orders schema and its SQL live here and the mediator uses them.
#![forbid(unsafe_code)]

mod inserts;
pub mod orders;
mod routes;
mod settings;
pub mod store;

use std::future::Future;
use std::sync::Arc;

use common::db::DatabaseSettings;
use common::http::ops::ReadyCheck;
use common::http::Server;
use common::jwt::TokenVerifier;
use common::queue::QueueKeys;
use deadpool_postgres::Pool;
use futures::FutureExt;
use redis::aio::ConnectionManager;

pub use settings::{redis_url, Settings};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The orders database's migrations (the mediator runs them too).
pub fn migrations() -> refinery::Runner {
    embedded::migrations::runner()
}

/// Connects to the orders database and migrates it: order-api and the
/// mediator both do. Every statement is planned once for all parameter
/// values. The batched statements take arrays, which PostgreSQL would
/// otherwise plan afresh on every call; and a plan made for `status =
/// 'pending'` would scan the sweeper's index of every pending order rather
/// than the owner's orders.
pub async fn connect_orders_db(settings: &DatabaseSettings) -> anyhow::Result<Pool> {
    let settings = DatabaseSettings {
        generic_plans: true,
        ..settings.clone()
    };
    common::db::connect(&settings, migrations).await
}

/// What the handlers share.
pub(crate) struct Context {
    pool: Pool,
    inserts: inserts::Inserts,
    redis: ConnectionManager,
    queue: QueueKeys,
    verifier: Arc<TokenVerifier>,
}

/// Connects, migrates and binds; awaiting `Server::run` serves until `shutdown`.
pub async fn build(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    let pool = connect_orders_db(&settings.database).await?;
    let redis = common::queue::connect_patiently(settings.redis_url.expose()).await?;
    let ready = ready_check(pool.clone(), redis.clone());
    let context = Arc::new(Context {
        inserts: inserts::Inserts::start(pool.clone()),
        pool,
        redis,
        queue: QueueKeys::new(&settings.queue),
        verifier: settings.verifier,
    });
    common::http::serve(&settings.listen, routes::all(context), ready, shutdown)
}

/// Ready when both the database and Redis answer.
pub fn ready_check(pool: Pool, redis: ConnectionManager) -> ReadyCheck {
    Arc::new(move || {
        let (pool, mut redis) = (pool.clone(), redis.clone());
        async move {
            common::db::ping(&pool).await?;
            common::queue::ping(&mut redis).await
        }
        .boxed()
    })
}
