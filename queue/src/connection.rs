//! Connections to the queue's Redis, and patience while it starts.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult};

/// A connection that reconnects by itself, with timeouts so that a dead
/// Redis fails calls instead of hanging them.
pub async fn connect(client: &Client) -> RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_with_config(client.clone(), config).await
}

/// `connect`, waiting up to 30 s for a Redis that is starting or restarting.
pub async fn connect_patiently(client: &Client) -> RedisResult<ConnectionManager> {
    patiently("connect", || connect(client)).await
}

/// Runs `attempt` until it succeeds, for up to 30 s: a Redis that was just
/// started refuses connections, and then answers `LOADING` to every command
/// until it has read its append-only file back.
pub(crate) async fn patiently<T, F, Fut>(what: &str, mut attempt: F) -> RedisResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = RedisResult<T>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) if tries < 30 && !common::tls::is_handshake_failure(&err) => {
                tries += 1;
                tracing::warn!(error = %err, attempt = tries, "redis not ready ({what}), retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(err) => return Err(err),
        }
    }
}

/// `/ready`'s check of the queue's Redis.
pub fn ready_check(conn: ConnectionManager) -> common::http::ops::ReadyCheck {
    use futures::FutureExt;
    std::sync::Arc::new(move || {
        let mut conn = conn.clone();
        async move { ping(&mut conn).await }.boxed()
    })
}

/// A Redis answers `PING`.
pub async fn ping(conn: &mut ConnectionManager) -> Result<(), String> {
    redis::cmd("PING")
        .query_async::<String>(conn)
        .await
        .map(|_| ())
        .map_err(|e| format!("redis: {e}"))
}
