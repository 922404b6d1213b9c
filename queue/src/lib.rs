//! A reliable work queue on Redis lists (the apalis design).
//!
//! ```text
//! {name}:queue            LIST  job ids; producers LPUSH, consumers take from the right
//! {name}:inflight:<id>    LIST  the jobs one consumer holds (BLMOVE from the queue)
//! {name}:workers          ZSET  consumer id -> last heartbeat (ms since the epoch)
//! {name}:dead             LIST  entries that are not job ids, newest first, the last 10000
//! ```
//!
//! A job is never popped destructively: BLMOVE moves it atomically into the
//! consumer's in-flight list, and it leaves that list only once its outcome
//! is durable elsewhere (`complete`). A consumer that stops heartbeating is
//! dead: `reap` moves its in-flight jobs back to the queue. A job lost by
//! Redis itself (a restart without persistence) or never pushed (a producer
//! crash after its commit) is put back by `sweep`, which pushes the ids it is
//! given that are neither queued nor in flight. Jobs may therefore be
//! delivered more than once; consumers must be idempotent. Every key shares
//! the `{name}` hash tag, so the multi-key scripts stay legal on a cluster.
//!
//! `settings` says where Redis is (`REDIS_URL`, `REDIS_CA_FILE`): one
//! server or a Redis Cluster; `connection` opens and waits for either,
//! `consumer` takes and settles jobs, `scripts` holds the Lua that must run
//! atomically, and `inspect` is what an operator reads (depth, workers). Each script is tested on its own
//! against a real Redis in `tests/`.
#![forbid(unsafe_code)]

mod connection;
mod consumer;
mod inspect;
mod scripts;
mod settings;

use redis::{AsyncCommands, RedisResult};

pub use connection::{connect_patiently, ping, ready_check, Connection, Redis};
pub use consumer::{Consumer, ConsumerHandle};
pub use inspect::{depth, workers, Worker};
pub use settings::RedisSettings;

/// The keys of one named queue.
#[derive(Debug, Clone)]
pub struct QueueKeys {
    name: String,
}

impl QueueKeys {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
        }
    }

    pub fn queue(&self) -> String {
        format!("{{{}}}:queue", self.name)
    }

    pub fn workers(&self) -> String {
        format!("{{{}}}:workers", self.name)
    }

    pub fn dead(&self) -> String {
        format!("{{{}}}:dead", self.name)
    }

    pub fn in_flight(&self, worker: &str) -> String {
        format!("{{{}}}:inflight:{worker}", self.name)
    }
}

/// Pushes a job id onto the queue.
pub async fn push(conn: &mut Connection, keys: &QueueKeys, job: i64) -> RedisResult<()> {
    conn.lpush::<_, _, ()>(keys.queue(), job).await
}
