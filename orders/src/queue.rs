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

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncCommands, AsyncConnectionConfig, Client, Direction, RedisResult, Script};

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
async fn patiently<T, F, Fut>(what: &str, mut attempt: F) -> RedisResult<T>
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

/// `/ready`'s Redis check.
pub async fn ping(conn: &mut ConnectionManager) -> Result<(), String> {
    redis::cmd("PING")
        .query_async::<String>(conn)
        .await
        .map(|_| ())
        .map_err(|e| format!("redis: {e}"))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Pushes a job id onto the queue.
pub async fn push(conn: &mut ConnectionManager, keys: &QueueKeys, job: i64) -> RedisResult<()> {
    conn.lpush::<_, _, ()>(keys.queue(), job).await
}

/// How many jobs wait in the queue (not those in flight).
pub async fn depth(conn: &mut ConnectionManager, keys: &QueueKeys) -> RedisResult<u64> {
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
pub async fn workers(conn: &mut ConnectionManager, keys: &QueueKeys) -> RedisResult<Vec<Worker>> {
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

/// One consumer of a queue: takes jobs with `next`. Everything else a
/// consumer does goes through its cloneable `handle`.
pub struct Consumer {
    pub handle: ConsumerHandle,
    client: Client,
    /// BLMOVE blocks its connection, so it gets one of its own.
    blocking: Option<MultiplexedConnection>,
}

/// A consumer's id, keys and shared connection, for the tasks that finish
/// jobs, heartbeat, reap and sweep.
#[derive(Clone)]
pub struct ConsumerHandle {
    pub id: String,
    keys: QueueKeys,
    conn: ConnectionManager,
}

/// Moves a dead consumer's in-flight jobs back to the queue.
const RECLAIM: &str = r"
-- KEYS[1] the queue, KEYS[2] the workers zset, KEYS[3] the worker's in-flight list
-- ARGV[1] the worker id; ARGV[2] a heartbeat older than this (ms) is dead,
--         or 'now' to hand back unconditionally (a consumer shutting down)
-- Returns how many jobs went back, or -1 if the worker turned out alive.
local beat = redis.call('ZSCORE', KEYS[2], ARGV[1])
if ARGV[2] ~= 'now' and beat and tonumber(beat) >= tonumber(ARGV[2]) then
  return -1
end
local moved = 0
while redis.call('LMOVE', KEYS[3], KEYS[1], 'RIGHT', 'RIGHT') do
  moved = moved + 1
end
redis.call('ZREM', KEYS[2], ARGV[1])
return moved
";

/// Pushes back the candidates that are neither queued nor in flight.
const SWEEP: &str = r"
-- KEYS[1] the queue, KEYS[2..] every worker's in-flight list
-- ARGV the candidate job ids
-- Returns the ids pushed back onto the queue.
local present = {}
for i = 1, #KEYS do
  for _, id in ipairs(redis.call('LRANGE', KEYS[i], 0, -1)) do
    present[id] = true
  end
end
local pushed = {}
for _, id in ipairs(ARGV) do
  if not present[id] then
    redis.call('LPUSH', KEYS[1], id)
    table.insert(pushed, id)
  end
end
return pushed
";

/// Puts one held job back at the end of the queue (its run failed for a
/// reason that a later run may not meet).
const BURY: &str = r"
-- KEYS[1] the consumer's in-flight list, KEYS[2] the dead list
-- ARGV[1] the entry, ARGV[2] how many entries the dead list keeps
-- Returns 1 if the entry was held and is buried now, else 0.
if redis.call('LREM', KEYS[1], 1, ARGV[1]) > 0 then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
  return 1
end
return 0
";

/// How many entries the dead list keeps.
const DEAD_KEPT: usize = 10_000;

const RETRY_LATER: &str = r"
-- KEYS[1] the queue, KEYS[2] the consumer's in-flight list
-- ARGV[1] the job id
-- Returns 1 if the job was held and is queued again, 0 if it was not held.
if redis.call('LREM', KEYS[2], 1, ARGV[1]) > 0 then
  redis.call('LPUSH', KEYS[1], ARGV[1])
  return 1
end
return 0
";

impl Consumer {
    /// A consumer with a fresh id, registered by a first heartbeat.
    pub async fn start(
        client: Client,
        keys: QueueKeys,
        conn: ConnectionManager,
    ) -> RedisResult<Self> {
        let id = format!(
            "{}-{}-{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into()),
            std::process::id(),
            rand::random::<u32>()
        );
        let handle = ConsumerHandle { id, keys, conn };
        patiently("register", || handle.heartbeat()).await?;
        Ok(Self {
            handle,
            client,
            blocking: None,
        })
    }

    /// Waits up to `wait` for a job and moves it into this consumer's
    /// in-flight list. `Ok(None)` if none came, or if what came was not a
    /// job id (it goes to the dead list).
    pub async fn next(&mut self, wait: Duration) -> RedisResult<Option<i64>> {
        let blocking = match &mut self.blocking {
            Some(conn) => conn,
            none => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(wait + Duration::from_secs(2)));
                none.insert(
                    self.client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await?,
                )
            }
        };
        let keys = &self.handle.keys;
        let moved: RedisResult<Option<String>> = blocking
            .blmove(
                keys.queue(),
                keys.in_flight(&self.handle.id),
                Direction::Right,
                Direction::Left,
                wait.as_secs_f64(),
            )
            .await;
        match moved {
            Ok(Some(entry)) => match entry.parse::<i64>() {
                Ok(job) if job > 0 => Ok(Some(job)),
                _ => {
                    // Not a job: it would sit in flight for ever. Out of the
                    // way, where an operator can read it.
                    let shown: String = entry.chars().take(100).collect();
                    tracing::error!(entry = %shown, "not a job id: moved to the dead list");
                    self.handle.bury(&entry).await?;
                    Ok(None)
                }
            },
            Ok(None) => Ok(None),
            Err(err) => {
                self.blocking = None; // reconnect on the next call
                Err(err)
            }
        }
    }
}

impl ConsumerHandle {
    /// Removes a finished job from the in-flight list; `false` if it was no
    /// longer there (a reaper handed it back: the next run will find it done).
    pub async fn complete(&self, job: i64) -> RedisResult<bool> {
        let removed: usize = self
            .conn
            .clone()
            .lrem(self.keys.in_flight(&self.id), 1, job)
            .await?;
        Ok(removed > 0)
    }

    /// How many jobs wait in the queue.
    pub async fn queue_depth(&self) -> RedisResult<u64> {
        depth(&mut self.conn.clone(), &self.keys).await
    }

    /// Tells the others this consumer is alive.
    pub async fn heartbeat(&self) -> RedisResult<()> {
        self.conn
            .clone()
            .zadd::<_, _, _, ()>(self.keys.workers(), &self.id, now_ms())
            .await
    }

    /// Hands every job this consumer holds back to the queue (shutdown).
    pub async fn hand_back(&self) -> RedisResult<i64> {
        let id = self.id.clone();
        self.reclaim(&id, "now".into()).await
    }

    /// Returns the jobs of consumers silent for longer than `expiry` to the
    /// queue; the ids of the consumers reaped.
    pub async fn reap(&self, expiry: Duration) -> RedisResult<Vec<String>> {
        let cutoff = now_ms().saturating_sub(expiry.as_millis() as u64);
        let dead: Vec<String> = self
            .conn
            .clone()
            .zrangebyscore(self.keys.workers(), 0, cutoff.saturating_sub(1))
            .await?;
        let mut reaped = Vec::new();
        let me = self.id.clone();
        for worker in dead.into_iter().filter(|w| *w != me) {
            let moved = self.reclaim(&worker, cutoff.to_string()).await?;
            if moved >= 0 {
                reaped.push(worker);
            }
        }
        Ok(reaped)
    }

    /// Moves a held entry that is not a job to the dead list.
    async fn bury(&self, entry: &str) -> RedisResult<bool> {
        let buried: i64 = Script::new(BURY)
            .key(self.keys.in_flight(&self.id))
            .key(self.keys.dead())
            .arg(entry)
            .arg(DEAD_KEPT)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(buried == 1)
    }

    /// Puts a held job back at the end of the queue; `false` if not held.
    pub async fn retry_later(&self, job: i64) -> RedisResult<bool> {
        let requeued: i64 = Script::new(RETRY_LATER)
            .key(self.keys.queue())
            .key(self.keys.in_flight(&self.id))
            .arg(job)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(requeued == 1)
    }

    async fn reclaim(&self, worker: &str, cutoff: String) -> RedisResult<i64> {
        Script::new(RECLAIM)
            .key(self.keys.queue())
            .key(self.keys.workers())
            .key(self.keys.in_flight(worker))
            .arg(worker)
            .arg(cutoff)
            .invoke_async(&mut self.conn.clone())
            .await
    }

    /// Pushes back those `candidates` that are neither queued nor held by
    /// any consumer; returns them.
    pub async fn sweep(&self, candidates: &[i64]) -> RedisResult<Vec<i64>> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let workers: Vec<String> = self.conn.clone().zrange(self.keys.workers(), 0, -1).await?;
        let script = Script::new(SWEEP);
        let mut invocation = script.key(self.keys.queue());
        for worker in &workers {
            invocation.key(self.keys.in_flight(worker));
        }
        for job in candidates {
            invocation.arg(job);
        }
        let pushed: Vec<String> = invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(pushed.iter().filter_map(|id| id.parse().ok()).collect())
    }
}
