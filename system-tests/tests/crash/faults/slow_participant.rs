//! A slow participant: a row lock in its database holds its reserve past
//! the step timeout.

use std::time::Duration;

use super::{all_final, start};
use crate::{assert_conservation, begin};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reserve_slowed_past_the_step_timeout_is_retried_and_applied_once() {
    let (_alone, drill) = begin().await;
    let running = start(&drill, 1).await;
    let mediator = running.mediator(&drill, "mediator", &[]).await;
    let retries_before = mediator
        .metric("saga_step_retries_total{step=\"item\"}")
        .await;

    // The delay: a transaction holds item 3's row, so items' reserve of it
    // waits, past STEP_TIMEOUT_MS (1 s), for 2.5 s.
    let mut items = drill.items_db.client().await;
    let holding = items.transaction().await.expect("begin");
    holding
        .execute("SELECT 1 FROM items WHERE id = 3 FOR UPDATE", &[])
        .await
        .expect("locking item 3");
    let (_, token) = &running.users[0];
    let placed = running
        .client
        .json(
            hyper::Method::POST,
            &format!("{}/api/orders/", running.orders_url),
            &[("authorization", &format!("Bearer {token}"))],
            &serde_json::json!({"amount": 5, "details": {"item": 3, "slot": "12:00"}}),
        )
        .await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    let id = placed.body["id"].as_i64().expect("an id");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    holding.commit().await.expect("releasing item 3");

    all_final(&drill, Duration::from_secs(30), &[&mediator]).await;
    let retries = mediator
        .metric("saga_step_retries_total{step=\"item\"}")
        .await
        - retries_before;
    assert!(retries >= 1.0, "the item step was not retried");
    let orders = drill.orders_db.client().await;
    let status: String = orders
        .query_one("SELECT status FROM orders WHERE id = $1", &[&id])
        .await
        .expect("the order")
        .get(0);
    assert_eq!(status, "completed");
    let items = drill.items_db.client().await;
    let row = items
        .query_one(
            "SELECT (SELECT count(*) FROM reservations WHERE order_id = $1),
                    (SELECT initial_stock - stock FROM items WHERE id = 3)",
            &[&id],
        )
        .await
        .expect("items");
    let (reservations, taken): (i64, i32) = (row.get(0), row.get(1));
    eprintln!(
        "slow items: {retries} retries of the item step, {reservations} reservation, {taken} taken"
    );
    assert_eq!((reservations, taken), (1, 1), "answered once, taken once");
    assert_conservation(&drill, &running.users, &[id]).await;
}
