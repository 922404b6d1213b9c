//! A consumer: takes jobs with BLMOVE into its in-flight list, settles
//! them, heartbeats, reaps the dead and sweeps lost jobs back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::{AsyncCommands, Direction, RedisResult, Script};

use crate::connection::{patiently, BlockingConnection, Connection, Redis};
use crate::inspect::depth;
use crate::scripts::{BURY, DEAD_KEPT, RECLAIM, RETRY_LATER, SWEEP};
use crate::QueueKeys;

/// One consumer of a queue: takes jobs with `next`. Everything else a
/// consumer does goes through its cloneable `handle`.
pub struct Consumer {
    pub handle: ConsumerHandle,
    redis: Redis,
    /// BLMOVE blocks its connection, so it gets one of its own.
    blocking: Option<BlockingConnection>,
}

/// A consumer's id, keys and shared connection, for the tasks that finish
/// jobs, heartbeat, reap and sweep.
#[derive(Clone)]
pub struct ConsumerHandle {
    pub id: String,
    keys: QueueKeys,
    conn: Connection,
}

impl Consumer {
    /// A consumer with a fresh id, registered by a first heartbeat.
    pub async fn start(redis: Redis, keys: QueueKeys, conn: Connection) -> RedisResult<Self> {
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
            redis,
            blocking: None,
        })
    }

    /// Waits up to `wait` for a job and moves it into this consumer's
    /// in-flight list. `Ok(None)` if none came, or if what came was not a
    /// job id (it goes to the dead list).
    pub async fn next(&mut self, wait: Duration) -> RedisResult<Option<i64>> {
        let blocking = match &mut self.blocking {
            Some(conn) => conn,
            none => none.insert(self.redis.connect_blocking(wait).await?),
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
