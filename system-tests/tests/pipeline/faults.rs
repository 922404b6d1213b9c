//! Participants that do not answer.

use std::time::Duration;

use common::testing::unique_name;
use rust_decimal::Decimal;
use serde_json::json;

use system_tests::in_process::{order, Stock, TestStack};

#[tokio::test]
async fn a_participant_unreachable_past_the_deadline_fails_the_saga_and_compensates() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    let mut settings = stack.mediator_settings.clone();
    settings.items_url = "http://127.0.0.1:9".to_owned(); // nothing listens there
    settings.saga_deadline = Duration::from_secs(1);
    let mediator = mediator::build(settings, stack.shutdown.child_token())
        .await
        .expect("mediator");
    tokio::spawn(mediator.run);
    let name = unique_name("unlucky");
    let token = stack.user(&name, 100).await;

    let done = stack
        .place_final(&token, &order(json!(20), 1, "10:00"))
        .await;

    assert_eq!(done["status"], json!("failed"));
    assert_eq!(done["reason"], json!("Service unavailable: items"));
    let item_steps: Vec<_> = done["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|s| s["step"] == json!("item"))
        .map(|s| (s["action"].clone(), s["outcome"].clone()))
        .collect();
    assert_eq!(item_steps[0], (json!("reserve"), json!("unavailable")));
    assert_eq!(
        stack.wallet(&name).await,
        Decimal::from(100),
        "the money came back"
    );
}

#[tokio::test]
async fn a_stopped_mediator_leaves_the_queue_to_the_others() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    let first = stack.start_mediator().await;
    first.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stack.start_mediator().await;
    let name = unique_name("after");
    let token = stack.user(&name, 100).await;

    let done = stack
        .place_final(&token, &order(json!(1), 1, "10:00"))
        .await;

    assert_eq!(done["status"], json!("completed"));
}
