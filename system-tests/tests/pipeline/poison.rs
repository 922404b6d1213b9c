//! What the mediator cannot finish alone never holds a worker: a saga whose
//! compensation keeps failing is parked (and stays parked through a
//! restart), and a queue entry that is not an order goes to the dead list.

use std::time::Duration;

use common::testing::{tokens, unique_name};
use queue::QueueKeys;
use queue::RedisSettings;
use redis::AsyncCommands;
use rust_decimal::Decimal;
use serde_json::json;

use system_tests::in_process::{order, redis_url, steps, Stock, TestStack};

/// The parked reason of order `id`, once it has one (waits up to 20 s).
async fn wait_parked(stack: &TestStack, id: i64) -> String {
    let db = stack.orders_db.client().await;
    for _ in 0..200 {
        let row = db
            .query_one("SELECT parked_reason FROM orders WHERE id = $1", &[&id])
            .await
            .expect("order");
        if let Some(reason) = row.get::<_, Option<String>>(0) {
            return reason;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("order {id} was never parked");
}

#[tokio::test]
async fn a_compensation_that_keeps_failing_parks_the_saga_until_an_operator_comes() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    // Slots accepts connections and never answers: its reserve may have
    // happened, so it must be cancelled, and the cancel never gets through.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").expect("bound");
    let mut settings = stack.mediator_settings.clone();
    settings.slots_url = format!("http://{}", hung.local_addr().expect("address"));
    settings.step_timeout = Duration::from_millis(200);
    settings.saga_deadline = Duration::from_millis(600);
    settings.compensation_attempts = 3;
    let first = stack.shutdown.child_token();
    let mediator = mediator::build(settings, first.clone())
        .await
        .expect("mediator");
    let first_run = tokio::spawn(mediator.run);
    let name = unique_name("stuck");
    let token = stack.user(&name, 100).await;
    let placed = stack
        .place(&token, &order(json!(20), 1, "10:00"), None)
        .await;
    let id = placed.body["id"].as_i64().expect("id");

    let reason = wait_parked(&stack, id).await;

    assert!(
        reason.contains("slot cancel failed after 3 attempts"),
        "{reason}"
    );
    let seen = stack.get(&token, &format!("/api/orders/{id}")).await;
    assert_eq!(seen.body["status"], json!("pending"), "{}", seen.text);
    let steps = steps(&seen.body);
    assert_eq!(
        steps.last(),
        Some(&(json!("slot"), json!("cancel"), json!("stuck"))),
        "{steps:?}"
    );
    // Compensation stopped at the slot: the money is still held for it.
    assert_eq!(stack.wallet(&name).await, Decimal::from(80));

    // A restart with every participant back does not pick it up by itself.
    first.cancel();
    first_run.await.expect("the first mediator stopped");
    stack.start_mediator().await;
    let other = stack
        .place(&token, &order(json!(1), 1, "11:00"), None)
        .await;
    let done = stack
        .wait_final(&token, other.body["id"].as_i64().expect("id"))
        .await;
    assert_eq!(done["status"], json!("completed"), "the worker is free");
    tokio::time::sleep(stack.mediator_settings.sweep_age * 2).await;
    let still = stack.get(&token, &format!("/api/orders/{id}")).await;
    assert_eq!(still.body["status"], json!("pending"), "{}", still.text);
    assert_eq!(wait_parked(&stack, id).await, reason);
    // The operator sees it parked, with why.
    let admin = tokens::admin(&stack.keys, "root");
    let parked = stack.get(&admin, "/api/admin/sagas?status=parked").await;
    assert_eq!(parked.status, 200, "{}", parked.text);
    let sagas = parked.body["sagas"].as_array().expect("sagas");
    assert_eq!(sagas.len(), 1, "{}", parked.text);
    assert_eq!(
        (&sagas[0]["id"], &sagas[0]["state"]),
        (&json!(id), &json!("parked"))
    );
    assert_eq!(sagas[0]["parked_reason"], json!(reason));
    let stats = stack.get(&admin, "/api/admin/sagas/stats").await;
    assert_eq!(stats.body["parked"], json!(1), "{}", stats.text);
    assert_eq!(
        stats.body["by_state"]["completed"],
        json!(1),
        "{}",
        stats.text
    );
    // Slots is back: the operator's retry finishes the compensation.
    let retried = stack
        .post(&admin, &format!("/api/admin/sagas/{id}/retry"))
        .await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    assert_eq!(retried.body["saga"]["state"], json!("compensating"));
    assert_eq!(retried.body["saga"]["attempts"], json!(2));
    let ended = stack.wait_final(&token, id).await;
    assert_eq!(ended["status"], json!("failed"), "{ended}");
    assert_eq!(
        ended["reason"],
        json!(orders::reasons::unavailable("slots"))
    );
    assert_eq!(
        stack.wallet(&name).await,
        Decimal::from(99),
        "20 back, 1 spent"
    );
    let again = stack
        .post(&admin, &format!("/api/admin/sagas/{id}/retry"))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    let seen = stack.get(&admin, &format!("/api/admin/sagas/{id}")).await;
    let history = seen.body["history"].as_array().expect("history");
    let retry = history
        .iter()
        .find(|entry| entry["step"] == json!("operator"))
        .expect("the operator's retry in the history");
    assert_eq!(
        (&retry["action"], &retry["admin"], &retry["attempt"]),
        (&json!("retry"), &json!("root"), &json!(2))
    );
    let last = history.last().expect("steps after the retry");
    assert_eq!(
        (&last["step"], &last["action"], &last["attempt"]),
        (&json!("money"), &json!("cancel"), &json!(2))
    );
}

#[tokio::test]
async fn a_queue_entry_that_is_not_an_order_goes_to_the_dead_list() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let keys = QueueKeys::new(&stack.mediator_settings.queue);
    let client = RedisSettings::new(&redis_url())
        .client()
        .expect("a Redis URL");
    let mut redis = client.connect().await.expect("redis");
    let name = unique_name("alive");
    let token = stack.user(&name, 100).await;

    for junk in ["not-an-order", "-5", "0", "12abc"] {
        let _: () = redis.lpush(keys.queue(), junk).await.expect("pushed");
    }
    let done = stack
        .place_final(&token, &order(json!(5), 2, "12:00"))
        .await;

    assert_eq!(done["status"], json!("completed"));
    let mut dead: Vec<String> = Vec::new();
    for _ in 0..50 {
        dead = redis.lrange(keys.dead(), 0, -1).await.expect("dead list");
        if dead.len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    dead.sort();
    assert_eq!(dead, ["-5", "0", "12abc", "not-an-order"]);
    let workers: Vec<String> = redis.zrange(keys.workers(), 0, -1).await.expect("workers");
    for worker in workers {
        let held: Vec<String> = redis
            .lrange(keys.in_flight(&worker), 0, -1)
            .await
            .expect("in flight");
        assert!(held.is_empty(), "{worker} still holds {held:?}");
    }
}
