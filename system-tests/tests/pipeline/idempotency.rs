use common::testing::unique_name;
use serde_json::json;

use system_tests::in_process::{assert_error, order, Stock, TestStack};

#[tokio::test]
async fn twenty_concurrent_repeats_of_one_key_create_one_order() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let name = unique_name("idem");
    let token = stack.user(&name, 100).await;
    let body = order(json!(5), 1, "08:00");

    let attempts = (0..20).map(|_| stack.place(&token, &body, Some("key-123")));
    let responses = futures::future::join_all(attempts).await;

    let ids: std::collections::HashSet<_> = responses
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.text);
            r.body["id"].as_i64().expect("id")
        })
        .collect();
    assert_eq!(ids.len(), 1);
    let id = *ids.iter().next().expect("one id");
    let done = stack.wait_final(&token, id).await;
    assert_eq!(done["status"], json!("completed"));
    let db = stack.orders_db.client().await;
    let count: i64 = db
        .query_one("SELECT count(*) FROM orders WHERE username = $1", &[&name])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 1);
    assert_eq!(stack.wallet(&name).await, rust_decimal::Decimal::from(95));
}

#[tokio::test]
async fn a_key_reused_for_another_order_is_409() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let name = unique_name("reuse");
    let token = stack.user(&name, 100).await;

    let first = stack
        .place(&token, &order(json!(5), 1, "08:00"), Some("k"))
        .await;
    let other = stack
        .place(&token, &order(json!(6), 1, "08:00"), Some("k"))
        .await;

    assert_eq!(first.status, 201);
    assert_error(&other, 409);
}

#[tokio::test]
async fn keys_belong_to_their_user() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let (ann, bob) = (unique_name("ann"), unique_name("bob"));
    let (ann_token, bob_token) = (stack.user(&ann, 100).await, stack.user(&bob, 100).await);
    let body = order(json!(5), 1, "08:00");

    let for_ann = stack.place(&ann_token, &body, Some("same")).await;
    let for_bob = stack.place(&bob_token, &body, Some("same")).await;

    assert_ne!(for_ann.body["id"], for_bob.body["id"]);
    assert_eq!(for_bob.body["username"], json!(bob));
}
