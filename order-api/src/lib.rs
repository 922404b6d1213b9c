//! order-api: accepts orders. An order is made durable in the orders
//! database, then its id is pushed onto the Redis queue for the mediator. If
//! the push is lost (Redis down, a crash between the two), the mediator's
//! sweeper finds the pending order and queues it: an accepted order is never
//! lost. The orders schema, its statements and the queue live in the
//! `orders` crate, which the mediator uses too.
#![forbid(unsafe_code)]

mod routes;
mod settings;
mod view;

use std::future::Future;
use std::sync::Arc;

use common::http::{ops, Server};
use common::jwt::TokenVerifier;
use orders::Store;
use queue::QueueKeys;

pub use settings::Settings;

/// What the handlers share.
pub(crate) struct Context {
    store: Store,
    redis: queue::Connection,
    queue: QueueKeys,
    verifier: Arc<TokenVerifier>,
    /// `MAX_UNFINISHED_ORDERS`.
    max_unfinished: i64,
}

/// Connects, migrates and binds; awaiting `Server::run` serves until `shutdown`.
pub async fn build(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    let store = Store::connect(&settings.database).await?;
    let redis = queue::connect_patiently(&settings.redis.client()?).await?;
    let ready = ops::all(vec![store.ready_check(), queue::ready_check(redis.clone())]);
    let context = Arc::new(Context {
        store,
        redis,
        queue: QueueKeys::new(&settings.queue),
        verifier: settings.verifier,
        max_unfinished: settings.max_unfinished_orders,
    });
    common::http::serve(&settings.listen, routes::all(context), ready, shutdown)
}
