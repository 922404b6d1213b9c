//! A database of its own per test, cloned from a template migrated once.

use std::hash::{Hash, Hasher};

use tokio_postgres::NoTls;

use super::{admin_url, random_hex};
use crate::config::Secret;
use crate::db::DatabaseSettings;

/// A database of its own for one test; dropped with it.
pub struct TestDatabase {
    pub settings: DatabaseSettings,
    name: String,
}

impl TestDatabase {
    /// Clones a new database from the template that `migrations` built
    /// (built once per set of migrations, shared by every test binary).
    pub async fn create(service: &str, migrations: fn() -> refinery::Runner) -> Self {
        let template = ensure_template(service, migrations).await;
        let name = format!("test_{service}_{}", random_hex(6));
        let admin = connect(&admin_url()).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("creating the test database");
        let url = swap_database(&admin_url(), &name);
        Self {
            settings: DatabaseSettings {
                url: Secret::new(url),
                pool_size: 16,
                generic_plans: false,
            },
            name,
        }
    }

    /// A direct connection, for arranging and inspecting state.
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(self.settings.url.expose()).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::env::var_os("TEST_KEEP_DB").is_some() {
            return;
        }
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot block on itself.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok((client, conn)) = tokio_postgres::connect(&admin_url(), NoTls).await {
                        tokio::spawn(conn);
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = client.batch_execute(&sql).await;
                    }
                });
            }
        })
        .join();
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at {url} (is `scripts/stack up --infra` running?): {e}"));
    tokio::spawn(conn);
    client
}

fn swap_database(url: &str, database: &str) -> String {
    let base = url.rsplit_once('/').map(|(base, _)| base).unwrap_or(url);
    format!("{base}/{database}")
}

/// The template for these migrations, built under an advisory lock so that
/// test binaries running at once build it only once.
async fn ensure_template(service: &str, migrations: fn() -> refinery::Runner) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for migration in migrations().get_migrations() {
        migration.checksum().hash(&mut hasher);
    }
    let template = format!("tmpl_{service}_{:016x}", hasher.finish());
    let admin = connect(&admin_url()).await;
    admin
        .execute("SELECT pg_advisory_lock(7357)", &[])
        .await
        .expect("taking the template lock");
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .expect("looking for the template")
        .is_some();
    if !exists {
        let building = format!("{template}_building");
        for sql in [
            format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
            format!("CREATE DATABASE {building}"),
        ] {
            admin
                .batch_execute(&sql)
                .await
                .expect("creating the template database");
        }
        {
            let mut client = connect(&swap_database(&admin_url(), &building)).await;
            migrations()
                .run_async(&mut client)
                .await
                .expect("migrating the template database");
        }
        // Renaming waits for the migration connection to go away.
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                &[&building],
            )
            .await
            .expect("closing the template's connections");
        admin
            .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .await
            .expect("publishing the template database");
    }
    admin
        .execute("SELECT pg_advisory_unlock(7357)", &[])
        .await
        .expect("releasing the template lock");
    template
}
