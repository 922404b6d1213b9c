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

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The migrations, for test databases.
pub fn migrations() -> refinery::Runner {
    embedded::migrations::runner()
}

/// Connects, migrates and binds; awaiting `Server::run` serves until `shutdown`.
pub async fn build(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    let pool = common::db::connect(&settings.database, migrations).await?;
    let ready = common::db::ready_check(pool.clone());
    let routes = routes::all(pool, &settings);
    common::http::serve(&settings.listen, routes, ready, shutdown)
}
