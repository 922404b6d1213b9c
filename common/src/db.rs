//! The PostgreSQL pool, the migrations every service runs at start, and the
//! one place where database errors become HTTP statuses.

use std::time::Duration;

use anyhow::Context;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use crate::config;

pub mod tls;
use crate::http::error::ApiError;

pub use deadpool_postgres::{Object as Connection, Transaction};

/// Database settings: `DATABASE_URL` (with libpq's `sslmode` and
/// `sslrootcert` for TLS, see [`tls`]) and `DATABASE_POOL_SIZE`.
///
/// `DATABASE_URL` may name several hosts, in either of libpq's forms
/// (`postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write`,
/// or `host=h1,h2 port=5432,5433 ... target_session_attrs=read-write`):
/// each new connection goes to the first host that is a primary. After a
/// failover the connections to the old primary fail, the pool drops them,
/// and new ones find the promoted server.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: config::Secret,
    pub pool_size: usize,
    /// Plan each prepared statement once, for every parameter value (set by
    /// code, not configuration: see `orders::connect` for why).
    pub generic_plans: bool,
}

impl DatabaseSettings {
    /// Reads the settings; `default_db` names the local database.
    pub fn from_env(default_db: &str) -> anyhow::Result<Self> {
        let default_url = format!("postgres://postgres@127.0.0.1:55432/{default_db}");
        Ok(Self {
            url: config::Secret::new(config::string("DATABASE_URL", &default_url)),
            pool_size: config::parsed("DATABASE_POOL_SIZE", 16)?,
            generic_plans: false,
        })
    }
}

/// Builds the pool; no connection is made until the first use.
pub fn pool(settings: &DatabaseSettings) -> anyhow::Result<Pool> {
    let (url, tls) = tls::from_url(settings.url.expose())?;
    let mut pg: tokio_postgres::Config = url
        .parse()
        .context("DATABASE_URL is not a valid PostgreSQL URL")?;
    pg.ssl_mode(tls.mode);
    // With several hosts, a host that does not answer must not use up the
    // pool's whole wait before the next is tried.
    if pg.get_connect_timeout().is_none() {
        pg.connect_timeout(Duration::from_secs(2));
    }
    if settings.generic_plans {
        let options = pg.get_options().unwrap_or_default();
        pg.options(format!("{options} -c plan_cache_mode=force_generic_plan").trim_start());
    }
    let config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match tls.connector {
        Some(connector) => Manager::from_config(pg, connector, config),
        None => Manager::from_config(pg, NoTls, config),
    };
    let timeout = Some(Duration::from_secs(5));
    Pool::builder(manager)
        .max_size(settings.pool_size)
        .wait_timeout(timeout)
        .create_timeout(timeout)
        .recycle_timeout(timeout)
        .runtime(Runtime::Tokio1)
        .build()
        .context("building the database pool")
}

/// Runs the service's embedded migrations. A session advisory lock makes
/// replicas that start together take turns instead of racing.
///
/// A database that a newer release migrated further is accepted, with a
/// warning that names the migrations this build does not know: migrations
/// only add (docs/releases.md), so this build runs on the newer schema, and
/// a rollback or an old pod in a rolling upgrade keeps working. Refused:
/// an applied migration whose checksum differs from this build's (it was
/// edited after it ran), one this build lacks below its own newest (another
/// branch's), and one of this build's skipped below the newest applied.
pub async fn migrate(pool: &Pool, runner: refinery::Runner) -> anyhow::Result<()> {
    const MIGRATION_LOCK: i64 = 0x5348_4f50; // any constant shared by all replicas
    let mut conn = pool.get().await.context("connecting to the database")?;
    conn.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .context("taking the migration lock")?;
    let client: &mut tokio_postgres::Client = &mut conn;
    let result = async {
        let newer = newer_than_this_build(client, &runner).await?;
        let runner = match newer.is_empty() {
            true => runner,
            false => {
                tracing::warn!(
                    migrations = %newer.join(", "),
                    "the database holds migrations this build does not know (a newer release ran them): running on the newer schema"
                );
                // Every one of ours was checked applied, in order.
                runner.set_abort_missing(false)
            }
        };
        runner.run_async(client).await.context("running migrations")?;
        anyhow::Ok(())
    }
    .await;
    conn.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .context("releasing the migration lock")?;
    result
}

/// The applied migrations, newer than every one of `runner`'s, that it
/// does not know, as `V6__name`; `Err` when the history and `runner`'s
/// migrations differ in a way a newer release does not explain.
async fn newer_than_this_build(
    client: &tokio_postgres::Client,
    runner: &refinery::Runner,
) -> anyhow::Result<Vec<String>> {
    let history: Option<String> = client
        .query_one("SELECT to_regclass('refinery_schema_history')::text", &[])
        .await
        .context("looking for the migration history")?
        .get(0);
    if history.is_none() {
        return Ok(Vec::new());
    }
    let applied: Vec<(i32, String)> = client
        .query(
            "SELECT version, name FROM refinery_schema_history ORDER BY version",
            &[],
        )
        .await
        .context("reading the migration history")?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let ours: Vec<i32> = runner
        .get_migrations()
        .iter()
        .map(|m| m.version() as i32)
        .collect();
    let our_newest = ours.iter().copied().max().unwrap_or(i32::MIN);
    let unknown: Vec<&(i32, String)> = applied.iter().filter(|(v, _)| !ours.contains(v)).collect();
    if let Some((version, name)) = unknown.iter().find(|(v, _)| *v <= our_newest) {
        anyhow::bail!(
            "the database holds migration V{version}__{name}, which this build does not have, below its own newest V{our_newest}: another branch's schema"
        );
    }
    if !unknown.is_empty() {
        if let Some(skipped) = ours.iter().find(|v| !applied.iter().any(|(a, _)| a == *v)) {
            anyhow::bail!(
                "this build's migration V{skipped} was never applied, yet newer ones were"
            );
        }
    }
    Ok(unknown
        .iter()
        .map(|(v, name)| format!("V{v}__{name}"))
        .collect())
}

/// Connects and migrates, retrying for a while: in a cluster the database
/// often comes up after the service.
pub async fn connect(
    settings: &DatabaseSettings,
    migrations: fn() -> refinery::Runner,
) -> anyhow::Result<Pool> {
    let pool = pool(settings)?;
    let mut attempt = 0;
    loop {
        match migrate(&pool, migrations()).await {
            Ok(()) => return Ok(pool),
            Err(err)
                if attempt < 30
                    && is_unavailable_chain(&err)
                    && !crate::tls::is_handshake_failure(err.as_ref()) =>
            {
                attempt += 1;
                tracing::warn!(error = %format!("{err:#}"), attempt, "database not ready, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(err) => return Err(err),
        }
    }
}

fn is_unavailable_chain(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<PoolError>().is_some()
            || cause
                .downcast_ref::<tokio_postgres::Error>()
                .is_some_and(|e| e.code().is_none())
    })
}

/// `/ready`'s check for a service whose only dependency is its database.
pub fn ready_check(pool: Pool) -> crate::http::ops::ReadyCheck {
    use futures::FutureExt;
    std::sync::Arc::new(move || {
        let pool = pool.clone();
        async move { ping(&pool).await }.boxed()
    })
}

/// A connection from the pool answers a query.
pub async fn ping(pool: &Pool) -> Result<(), String> {
    let conn = pool.get().await.map_err(|e| format!("database: {e}"))?;
    conn.simple_query("SELECT 1")
        .await
        .map(|_| ())
        .map_err(|e| format!("database: {e}"))
}

/// Whether a retry may succeed where this statement failed: the connection
/// was lost (closed, or an I/O error under it), the server is restarting
/// or was demoted to a standby in a failover (read-only: the next
/// connection finds the new primary), or the statement lost to a
/// concurrent one. An error made on our side (a
/// parameter that does not serialize, a row that does not convert) is not:
/// a retry would repeat it.
pub fn is_transient(err: &tokio_postgres::Error) -> bool {
    match err.code() {
        Some(code) => [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::READ_ONLY_SQL_TRANSACTION,
        ]
        .contains(code),
        None => {
            err.is_closed()
                || std::error::Error::source(err)
                    .is_some_and(|source| source.is::<std::io::Error>())
        }
    }
}

impl From<PoolError> for ApiError {
    fn from(err: PoolError) -> Self {
        unavailable(&err)
    }
}

/// 503 for a pool that gives no connection, the reason logged.
pub fn unavailable(err: &dyn std::error::Error) -> ApiError {
    tracing::warn!(error = %err, "database pool unavailable");
    ApiError::unavailable("the database is unavailable, try again later")
}

/// What a client is told of a statement's error, if it is the client's
/// business: 409, 400 or 503. `None`: a fault of ours (a 500).
pub fn answer(err: &tokio_postgres::Error) -> Option<ApiError> {
    match err.code() {
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => {
            Some(ApiError::conflict("it already exists"))
        }
        // Class 22, data exception: a value the database cannot store
        // (a NUL byte in a text, say) came from the request.
        Some(code) if code.code().starts_with("22") => Some(ApiError::bad_request(
            "the request holds a value that cannot be stored",
        )),
        None if is_transient(err) => {
            tracing::warn!(error = %err, "database connection lost");
            Some(ApiError::unavailable(
                "the database is unavailable, try again later",
            ))
        }
        _ if is_transient(err) => Some(ApiError::unavailable("the database is busy, try again")),
        _ => None,
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(err: tokio_postgres::Error) -> Self {
        answer(&err).unwrap_or_else(|| {
            ApiError::internal(anyhow::Error::new(err).context("database query"))
        })
    }
}
