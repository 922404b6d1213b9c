//! Redis wiped (FLUSHALL) with orders queued.

use std::process::Command;
use std::time::Duration;

use tokio::time::Instant;

use super::{all_final, parked, start};
use crate::{assert_conservation, begin};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_wiped_with_orders_queued_loses_none_of_them() {
    let (_alone, drill) = begin().await;
    let running = start(&drill, 10).await;
    let mediator = running.mediator(&drill, "mediator", &[]).await;

    // With the mediator paused the orders wait in Redis; then Redis forgets
    // everything (FLUSHALL), and the mediator wakes up to an empty queue.
    mediator.signal("STOP");
    let accepted = running.place(4).await.expect("placing orders");
    let flushed = Command::new("redis-cli")
        .args(["-p", &running.redis.port.to_string(), "FLUSHALL"])
        .output()
        .expect("redis-cli FLUSHALL");
    assert!(flushed.status.success(), "FLUSHALL: {flushed:?}");
    mediator.signal("CONT");
    let woke = Instant::now();

    // The sweeper finds the pending orders nobody holds and queues them again.
    all_final(&drill, Duration::from_secs(60), &[&mediator]).await;
    eprintln!(
        "redis wiped with {} orders queued: all final {:?} after the mediator woke",
        accepted.len(),
        woke.elapsed()
    );
    assert!(
        mediator
            .log_text()
            .contains("queued pending orders that nobody held"),
        "the sweeper queued nothing:\n{}",
        mediator.log_tail()
    );
    assert_eq!(parked(&drill).await, 0, "nothing parked");
    assert_conservation(&drill, &running.users, &accepted).await;
}
