//! items: the shop's stock. No public endpoint; the mediator reserves one
//! item per order and gives it back when the order fails (service credential).
#![forbid(unsafe_code)]

mod routes;
mod settings;
mod stock;

use std::future::Future;
use std::sync::Arc;

use common::http::Server;

pub use settings::Settings;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The migrations, for test databases.
pub fn migrations() -> refinery::Runner {
    embedded::migrations::runner()
}

/// Connects, migrates, fills the shelves on first start and binds.
pub async fn build(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    let pool = common::db::connect(&settings.database, migrations).await?;
    stock::fill_shelves(&pool, settings.item_count, settings.initial_stock).await?;
    let ready = common::db::ready_check(pool.clone());
    let routes = routes::reservations(pool, Arc::new(settings.service_token));
    common::http::serve(&settings.listen, routes, ready, shutdown)
}
