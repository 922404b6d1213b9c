//! billing: users' wallets. Public: read one's account and deposit into it.
//! Internal (service credential): open an account for a new user (auth), and
//! reserve or cancel an order's money (mediator).
#![forbid(unsafe_code)]

mod accounts;
mod routes;
mod settings;

use std::future::Future;

use common::http::Server;

pub use settings::Settings;

common::embed_migrations!();

/// Connects, migrates and binds; awaiting `Server::run` serves until `shutdown`.
pub async fn build(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    let (listen, database) = (settings.listen.clone(), settings.database.clone());
    let routes = |pool| async move { Ok(routes::all(pool, &settings)) };
    common::service::serve_with_database(&listen, &database, migrations, routes, shutdown).await
}
