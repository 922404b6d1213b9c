//! Every operation of the queue, and so every Lua script, against a real
//! Redis (`TEST_REDIS_URL`, default the local stack's). Each test has a
//! queue of its own name, so tests run in parallel on one Redis.

use std::time::Duration;

use queue::{Consumer, ConsumerHandle, QueueKeys, RedisSettings};
use redis::AsyncCommands;

/// How long a `next` waits when the test expects nothing.
const SHORT: Duration = Duration::from_millis(200);

struct TestQueue {
    keys: QueueKeys,
    client: queue::Redis,
    conn: queue::Connection,
}

impl TestQueue {
    async fn new() -> Self {
        let url = common::config::string("TEST_REDIS_URL", "redis://127.0.0.1:56379");
        let client = RedisSettings::new(&url).client().expect("a Redis URL");
        let conn = client.connect().await.expect("Redis answers");
        let keys = QueueKeys::new(&common::testing::unique_name("test"));
        Self { keys, client, conn }
    }

    async fn consumer(&self) -> Consumer {
        Consumer::start(self.client.clone(), self.keys.clone(), self.conn.clone())
            .await
            .expect("registered")
    }

    async fn push(&self, job: i64) {
        queue::push(&mut self.conn.clone(), &self.keys, job)
            .await
            .expect("pushed");
    }

    /// Pushes what a producer of jobs never would.
    async fn push_raw(&self, entry: &str) {
        let _: () = self
            .conn
            .clone()
            .lpush(self.keys.queue(), entry)
            .await
            .expect("pushed");
    }

    async fn depth(&self) -> u64 {
        queue::depth(&mut self.conn.clone(), &self.keys)
            .await
            .expect("depth")
    }

    /// What each registered consumer holds, by id.
    async fn held(&self) -> Vec<(String, Vec<String>)> {
        let workers = queue::workers(&mut self.conn.clone(), &self.keys)
            .await
            .expect("workers");
        workers.into_iter().map(|w| (w.id, w.in_flight)).collect()
    }

    async fn heartbeat_of(&self, consumer: &ConsumerHandle) -> Option<u64> {
        self.conn
            .clone()
            .zscore(self.keys.workers(), &consumer.id)
            .await
            .expect("a score")
    }

    /// Makes `consumer` look silent since the epoch began.
    async fn silence(&self, consumer: &ConsumerHandle) {
        let _: () = self
            .conn
            .clone()
            .zadd(self.keys.workers(), &consumer.id, 1)
            .await
            .expect("heartbeat backdated");
    }
}

async fn take(consumer: &mut Consumer) -> Option<i64> {
    consumer.next(SHORT).await.expect("BLMOVE answered")
}

#[tokio::test]
async fn jobs_are_taken_oldest_first_into_the_consumers_in_flight_list() {
    let queue = TestQueue::new().await;
    let mut consumer = queue.consumer().await;
    queue.push(1).await;
    queue.push(2).await;

    assert_eq!(take(&mut consumer).await, Some(1));

    assert_eq!(queue.depth().await, 1);
    assert_eq!(
        queue.held().await,
        [(consumer.handle.id.clone(), vec!["1".to_owned()])]
    );
}

#[tokio::test]
async fn an_empty_queue_answers_nothing_after_the_wait() {
    let queue = TestQueue::new().await;
    let mut consumer = queue.consumer().await;
    assert_eq!(take(&mut consumer).await, None);
}

#[tokio::test]
async fn complete_removes_a_held_job_once() {
    let queue = TestQueue::new().await;
    let mut consumer = queue.consumer().await;
    queue.push(5).await;
    let job = take(&mut consumer).await.expect("a job");

    assert!(consumer.handle.complete(job).await.expect("answered"));
    assert!(!consumer.handle.complete(job).await.expect("answered"));
    assert_eq!(queue.held().await[0].1, Vec::<String>::new());
}

#[tokio::test]
async fn a_silent_consumer_is_reaped_and_its_late_complete_finds_nothing() {
    let queue = TestQueue::new().await;
    let (mut silent, mut alive) = (queue.consumer().await, queue.consumer().await);
    queue.push(7).await;
    assert_eq!(take(&mut silent).await, Some(7));
    queue.silence(&silent.handle).await;

    let reaped = alive.handle.reap(Duration::from_secs(10)).await;

    assert_eq!(reaped.expect("reaped"), [silent.handle.id.clone()]);
    assert_eq!(queue.held().await, [(alive.handle.id.clone(), vec![])]);
    // The job is the live consumer's now; the reaped one cannot settle it.
    assert_eq!(take(&mut alive).await, Some(7));
    assert!(!silent.handle.complete(7).await.expect("answered"));
    assert!(alive.handle.complete(7).await.expect("answered"));
}

#[tokio::test]
async fn a_consumer_that_heartbeats_is_not_reaped() {
    let queue = TestQueue::new().await;
    let (mut busy, other) = (queue.consumer().await, queue.consumer().await);
    queue.push(3).await;
    assert_eq!(take(&mut busy).await, Some(3));
    busy.handle.heartbeat().await.expect("heartbeat");

    let reaped = other.handle.reap(Duration::from_secs(10)).await;

    assert_eq!(reaped.expect("reaped"), Vec::<String>::new());
    let held = queue.held().await;
    assert!(held.contains(&(busy.handle.id.clone(), vec!["3".to_owned()])));
    assert_eq!(queue.depth().await, 0);
}

#[tokio::test]
async fn a_heartbeat_registers_a_consumer_and_moves_its_time_on() {
    let queue = TestQueue::new().await;
    let consumer = queue.consumer().await;
    assert!(queue.heartbeat_of(&consumer.handle).await.is_some());
    queue.silence(&consumer.handle).await;

    consumer.handle.heartbeat().await.expect("heartbeat");

    let beat = queue.heartbeat_of(&consumer.handle).await.expect("a beat");
    assert!(beat > 1_700_000_000_000, "{beat}");
}

#[tokio::test]
async fn a_sweep_pushes_back_only_what_is_neither_queued_nor_held() {
    let queue = TestQueue::new().await;
    let mut consumer = queue.consumer().await;
    queue.push(1).await;
    assert_eq!(take(&mut consumer).await, Some(1));
    queue.push(2).await;

    let pushed = consumer.handle.sweep(&[1, 2, 3]).await.expect("swept");

    assert_eq!(pushed, [3]);
    assert_eq!(queue.depth().await, 2);
    assert_eq!(take(&mut consumer).await, Some(2));
    assert_eq!(take(&mut consumer).await, Some(3));
}

#[tokio::test]
async fn an_entry_that_is_not_a_job_is_buried_in_the_dead_list() {
    let queue = TestQueue::new().await;
    let mut consumer = queue.consumer().await;
    for entry in ["not a job", "0", "-4"] {
        queue.push_raw(entry).await;
    }
    queue.push(9).await;

    let mut taken = Vec::new();
    for _ in 0..4 {
        taken.push(take(&mut consumer).await);
    }

    assert_eq!(taken, [None, None, None, Some(9)]);
    let dead: Vec<String> = queue
        .conn
        .clone()
        .lrange(queue.keys.dead(), 0, -1)
        .await
        .expect("the dead list");
    assert_eq!(dead, ["-4", "0", "not a job"]);
    assert_eq!(queue.held().await[0].1, ["9"]);
}

#[tokio::test]
async fn retry_later_puts_a_held_job_behind_the_queued_ones() {
    let queue = TestQueue::new().await;
    let mut consumer = queue.consumer().await;
    queue.push(1).await;
    assert_eq!(take(&mut consumer).await, Some(1));
    queue.push(2).await;

    assert!(consumer.handle.retry_later(1).await.expect("answered"));
    assert!(!consumer.handle.retry_later(99).await.expect("answered"));

    assert_eq!(take(&mut consumer).await, Some(2));
    assert_eq!(take(&mut consumer).await, Some(1));
}

#[tokio::test]
async fn hand_back_queues_everything_held_and_unregisters() {
    let queue = TestQueue::new().await;
    let mut consumer = queue.consumer().await;
    queue.push(1).await;
    queue.push(2).await;
    take(&mut consumer).await.expect("a job");
    take(&mut consumer).await.expect("a job");

    let moved = consumer.handle.hand_back().await.expect("handed back");

    assert_eq!(moved, 2);
    assert_eq!(queue.depth().await, 2);
    assert_eq!(queue.held().await, []);
}

#[tokio::test]
async fn a_script_that_redis_forgot_is_loaded_again() {
    // A restarted server, or a replica a cluster just promoted, holds no
    // scripts: it answers NOSCRIPT to the first EVALSHA.
    let queue = TestQueue::new().await;
    let mut consumer = queue.consumer().await;
    queue.push(4).await;
    assert_eq!(take(&mut consumer).await, Some(4));
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut queue.conn.clone())
        .await
        .expect("scripts flushed");

    assert!(consumer.handle.retry_later(4).await.expect("answered"));
    assert_eq!(queue.depth().await, 1);
}

#[tokio::test]
async fn a_consumer_waiting_for_a_job_holds_up_no_other_call() {
    let queue = TestQueue::new().await;
    let mut consumer = queue.consumer().await;
    let waiting = tokio::spawn(async move { consumer.next(Duration::from_secs(10)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The push shares the connection the consumer was given: had BLMOVE
    // blocked that one, the push would wait behind it and the BLMOVE would
    // end empty.
    queue.push(9).await;

    let taken = waiting.await.expect("the consumer ran");
    assert_eq!(taken.expect("BLMOVE answered"), Some(9));
}
