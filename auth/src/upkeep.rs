//! What auth deletes on a timer, off the request path: revoked and expired
//! sessions (`refresh_tokens`), and login attempts older than the
//! throttle's window (`throttle`). Each a batch of 1000 at a time, until a
//! batch comes back short.

use std::time::Duration;

use deadpool_postgres::Pool;

use crate::{refresh_tokens, throttle};

const BATCH: u64 = 1000;

/// Prunes every `every`, for as long as auth runs.
pub async fn prune_every(pool: Pool, every: Duration, window: Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        prune(&pool, "sessions", |db| Box::pin(refresh_tokens::prune(db))).await;
        prune(&pool, "login attempts", move |db| {
            Box::pin(throttle::prune(db, window))
        })
        .await;
    }
}

type Batch<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<u64, tokio_postgres::Error>> + Send + 'a>,
>;

async fn prune<F>(pool: &Pool, what: &str, batch: F)
where
    F: for<'a> Fn(&'a tokio_postgres::Client) -> Batch<'a>,
{
    loop {
        let conn = match pool.get().await {
            Ok(conn) => conn,
            Err(err) => {
                tracing::warn!(error = %err, "pruning {what}: no database connection");
                return;
            }
        };
        match batch(&conn).await {
            Ok(BATCH) => continue,
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(error = %err, "pruning {what}");
                return;
            }
        }
    }
}
