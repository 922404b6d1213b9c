//! What an operator reads of a queue: how deep it is, who consumes it.

use redis::{AsyncCommands, RedisResult};

use crate::{Connection, QueueKeys};

/// How many jobs wait in the queue (not those in flight).
pub async fn depth(conn: &mut Connection, keys: &QueueKeys) -> RedisResult<u64> {
    conn.llen(keys.queue()).await
}

/// A registered consumer as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    pub id: String,
    /// Milliseconds since the epoch.
    pub last_heartbeat_ms: u64,
    /// The entries it holds: job ids, or whatever else was pushed.
    pub in_flight: Vec<String>,
}

/// Every registered consumer, the most recently heard first, with what it
/// holds. A dead one stays listed until a live one reaps it.
pub async fn workers(conn: &mut Connection, keys: &QueueKeys) -> RedisResult<Vec<Worker>> {
    let registered: Vec<(String, u64)> = conn.zrevrange_withscores(keys.workers(), 0, -1).await?;
    let mut workers = Vec::with_capacity(registered.len());
    for (id, last_heartbeat_ms) in registered {
        let in_flight = conn.lrange(keys.in_flight(&id), 0, -1).await?;
        workers.push(Worker {
            id,
            last_heartbeat_ms,
            in_flight,
        });
    }
    Ok(workers)
}
