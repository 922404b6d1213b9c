//! The worker driven one order at a time (`Worker::process_next`): each
//! step takes the oldest queued order, runs its saga to the end and
//! settles it, and the others wait in the queue meanwhile.

use std::time::Duration;

use serde_json::json;

use common::testing::unique_name;
use system_tests::in_process::{order, steps, Stock, TestStack};

#[tokio::test]
async fn each_step_runs_the_oldest_queued_order_to_its_end_and_no_other() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    let mut worker = mediator::worker(
        stack.mediator_settings.clone(),
        stack.shutdown.child_token(),
    )
    .await
    .expect("a worker");
    let name = unique_name("stepped");
    let token = stack.user(&name, 100).await;
    let first = stack
        .place(&token, &order(json!(30), 1, "10:00"), None)
        .await;
    let second = stack
        .place(&token, &order(json!(30), 99, "10:00"), None)
        .await;
    let (first, second) = (
        first.body["id"].as_i64().expect("an id"),
        second.body["id"].as_i64().expect("an id"),
    );

    let taken = worker.process_next(Duration::from_secs(2)).await;

    assert_eq!(taken.expect("Redis answered"), Some(first));
    let done = stack
        .get(&token, &format!("/api/orders/{first}"))
        .await
        .body;
    assert_eq!(done["status"], json!("completed"), "{done}");
    let waiting = stack
        .get(&token, &format!("/api/orders/{second}"))
        .await
        .body;
    assert_eq!(waiting["status"], json!("pending"), "{waiting}");
    assert!(steps(&waiting).is_empty(), "not started: {waiting}");

    let taken = worker.process_next(Duration::from_secs(2)).await;

    assert_eq!(taken.expect("Redis answered"), Some(second));
    let refused = stack
        .get(&token, &format!("/api/orders/{second}"))
        .await
        .body;
    assert_eq!(
        (&refused["status"], &refused["reason"]),
        (&json!("failed"), &json!("Can not reserve the item")),
        "{refused}"
    );
    let idle = worker.process_next(Duration::from_millis(200)).await;
    assert_eq!(idle.expect("Redis answered"), None);
    // The refused order's money went back: only the completed one's is held.
    assert_eq!(stack.wallet(&name).await, rust_decimal::Decimal::from(70));
}
