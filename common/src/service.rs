//! The skeleton of a service that owns one database (auth, billing, items,
//! slots): embed the migrations, connect and migrate at start, prepare what
//! a first start needs, and serve the service's routes with the operational
//! ones, `/ready` answering while the database does.

use std::future::Future;

use deadpool_postgres::Pool;

use crate::config::Listen;
use crate::db::DatabaseSettings;
use crate::http::{Routes, Server};

/// Embeds the calling crate's `migrations/` folder and defines `pub fn
/// migrations() -> refinery::Runner`, which the crate's service runs at
/// start and tests run on their template databases.
#[macro_export]
macro_rules! embed_migrations {
    () => {
        mod embedded {
            refinery::embed_migrations!("migrations");
        }

        /// This crate's migrations: run at start, and on test databases.
        pub fn migrations() -> refinery::Runner {
            embedded::migrations::runner()
        }
    };
}

/// Connects to `database` and migrates it, then awaits `routes` on the
/// pool (a service fills what a first start needs there) and binds them
/// where `listen` says; awaiting `Server::run` serves until `shutdown`.
pub async fn serve_with_database<Made>(
    listen: &Listen,
    database: &DatabaseSettings,
    migrations: fn() -> refinery::Runner,
    routes: impl FnOnce(Pool) -> Made,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server>
where
    Made: Future<Output = anyhow::Result<Routes>>,
{
    let pool = crate::db::connect(database, migrations).await?;
    let ready = crate::db::ready_check(pool.clone());
    let routes = routes(pool).await?;
    crate::http::serve(listen, routes, ready, shutdown)
}
