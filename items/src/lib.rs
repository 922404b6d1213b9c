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

common::embed_migrations!();

/// Connects, migrates, fills the shelves on first start and binds.
pub async fn build(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    let (listen, database) = (settings.listen.clone(), settings.database.clone());
    let routes = |pool| async move {
        stock::fill_shelves(&pool, settings.item_count, settings.initial_stock).await?;
        Ok(routes::all(pool, Arc::new(settings.callers)))
    };
    common::service::serve_with_database(&listen, &database, migrations, routes, shutdown).await
}
