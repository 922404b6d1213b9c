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

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The migrations, for test databases.
pub fn migrations() -> refinery::Runner {
    embedded::migrations::runner()
}

/// Connects, migrates, opens the day's slots on first start and binds.
pub async fn build(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    let pool = common::db::connect(&settings.database, migrations).await?;
    calendar::open_slots(&pool, &settings.slots(), settings.capacity).await?;
    let ready = common::db::ready_check(pool.clone());
    let routes = routes::reservations(pool, Arc::new(settings.service_token));
    common::http::serve(&settings.listen, routes, ready, shutdown)
}
