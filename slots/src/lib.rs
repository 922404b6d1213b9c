//! slots: delivery slots. No public endpoint; the mediator books one
//! slot per order and frees it when the order fails (service credential).
#![forbid(unsafe_code)]

mod calendar;
mod routes;
mod settings;

use std::future::Future;
use std::sync::Arc;

use common::http::Server;

pub use settings::Settings;

common::embed_migrations!();

/// Connects, migrates, opens the day's slots on first start and binds.
pub async fn build(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    let (listen, database) = (settings.listen.clone(), settings.database.clone());
    let routes = |pool| async move {
        calendar::open_slots(&pool, &settings.slots(), settings.capacity).await?;
        Ok(routes::all(pool, Arc::new(settings.callers)))
    };
    common::service::serve_with_database(&listen, &database, migrations, routes, shutdown).await
}
