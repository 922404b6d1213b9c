//! Connections to the queue's Redis, a standalone server or a Redis Cluster,
//! and patience while it starts.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Client, Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// How long a connection attempt may take, and a reply to a command that
/// does not block: a dead node fails calls instead of hanging them.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// A cluster call's whole budget, redirections and the slot refresh after
/// a failover included: each attempt still has `RESPONSE_TIMEOUT`.
const CLUSTER_CALL_TIMEOUT: Duration = Duration::from_secs(6);

/// Where the queue's Redis is, from [`crate::RedisSettings`]; it connects
/// only when asked to.
// One or two per process: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub enum Redis {
    Server(Client),
    Cluster {
        /// Every call within `CLUSTER_CALL_TIMEOUT`.
        shared: ClusterClient,
        /// No budget beyond each attempt's reply timeout, which a blocking
        /// connection sets from its wait.
        blocking: ClusterClient,
    },
}

/// A connection to the queue's Redis, shared by every task of a process
/// (clones share it). Either kind runs every command and script of the
/// queue: a cluster connection follows MOVED and ASK, refreshes the slots
/// after a failover, and loads a script again where a node answers NOSCRIPT.
#[derive(Clone)]
pub enum Connection {
    Server(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Redis {
    /// A connection that reconnects by itself, each call bounded in time.
    pub async fn connect(&self) -> RedisResult<Connection> {
        match self {
            Redis::Server(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(500));
                ConnectionManager::new_with_config(client.clone(), config)
                    .await
                    .map(Connection::Server)
            }
            Redis::Cluster { shared, .. } => {
                shared.get_async_connection().await.map(Connection::Cluster)
            }
        }
    }

    /// A connection of its own for a command that blocks up to `wait`
    /// (BLMOVE): on a shared one it would hold up every other call to the
    /// same server.
    pub(crate) async fn connect_blocking(&self, wait: Duration) -> RedisResult<BlockingConnection> {
        let response_timeout = wait + RESPONSE_TIMEOUT;
        match self {
            Redis::Server(client) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(response_timeout));
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(BlockingConnection::Server)
            }
            Redis::Cluster { blocking, .. } => {
                let config = ClusterConfig::new()
                    .set_connection_timeout(CONNECT_TIMEOUT)
                    .set_response_timeout(response_timeout);
                blocking
                    .get_async_connection_with_config(config)
                    .await
                    .map(BlockingConnection::Cluster)
            }
        }
    }

    /// The cluster clients for `nodes` (seed URLs).
    pub(crate) fn cluster(
        nodes: Vec<String>,
        certificates: Option<redis::TlsCertificates>,
    ) -> RedisResult<Self> {
        let client = |budget: Option<Duration>| {
            let mut builder = ClusterClient::builder(nodes.clone())
                .connection_timeout(CONNECT_TIMEOUT)
                .response_timeout(RESPONSE_TIMEOUT)
                .overall_response_timeout(budget);
            if let Some(certificates) = certificates.clone() {
                builder = builder.certs(certificates);
            }
            builder.build()
        };
        Ok(Redis::Cluster {
            shared: client(Some(CLUSTER_CALL_TIMEOUT))?,
            blocking: client(None)?,
        })
    }
}

/// A connection for one blocking command at a time.
pub(crate) enum BlockingConnection {
    Server(redis::aio::MultiplexedConnection),
    Cluster(ClusterConnection),
}

macro_rules! delegate_connection_like {
    ($type:ident) => {
        impl ConnectionLike for $type {
            fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
                match self {
                    $type::Server(conn) => conn.req_packed_command(cmd),
                    $type::Cluster(conn) => conn.req_packed_command(cmd),
                }
            }

            fn req_packed_commands<'a>(
                &'a mut self,
                pipeline: &'a Pipeline,
                offset: usize,
                count: usize,
            ) -> RedisFuture<'a, Vec<Value>> {
                match self {
                    $type::Server(conn) => conn.req_packed_commands(pipeline, offset, count),
                    $type::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
                }
            }

            fn get_db(&self) -> i64 {
                match self {
                    $type::Server(conn) => conn.get_db(),
                    $type::Cluster(conn) => conn.get_db(),
                }
            }
        }
    };
}

delegate_connection_like!(Connection);
delegate_connection_like!(BlockingConnection);

/// `redis.connect()`, waiting up to 30 s for a Redis that is starting or restarting.
pub async fn connect_patiently(redis: &Redis) -> RedisResult<Connection> {
    patiently("connect", || redis.connect()).await
}

/// Runs `attempt` until it succeeds, for up to 30 s: a Redis that was just
/// started refuses connections, answers `LOADING` to every command until
/// it has read its append-only file back, and a cluster answers
/// `CLUSTERDOWN` until every slot has a primary.
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
pub fn ready_check(conn: Connection) -> common::http::ops::ReadyCheck {
    use futures::FutureExt;
    std::sync::Arc::new(move || {
        let mut conn = conn.clone();
        async move { ping(&mut conn).await }.boxed()
    })
}

/// A Redis answers `PING` (on a cluster: one node).
pub async fn ping(conn: &mut Connection) -> Result<(), String> {
    redis::cmd("PING")
        .query_async::<String>(conn)
        .await
        .map(|_| ())
        .map_err(|e| format!("redis: {e}"))
}
