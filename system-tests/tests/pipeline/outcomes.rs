//! The four ways a saga ends, and what each leaves behind.

use common::testing::unique_name;
use rust_decimal::Decimal;
use serde_json::json;

use system_tests::in_process::{order, steps, Stock, TestStack};

#[tokio::test]
async fn an_order_that_can_be_paid_delivered_and_scheduled_completes() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let name = unique_name("cara");
    let token = stack.user(&name, 100).await;

    let placed = stack
        .place(&token, &order(json!(10.5), 1, "10:00"), None)
        .await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    assert_eq!(placed.body["status"], json!("pending"));
    assert_eq!(placed.body["success"], json!(null));
    let id = placed.body["id"].as_i64().expect("id");
    assert_eq!(
        placed.headers["location"],
        format!("/api/orders/{id}").as_str()
    );
    let done = stack.wait_final(&token, id).await;

    assert_eq!(done["status"], json!("completed"));
    assert_eq!(done["success"], json!(true));
    assert_eq!(done["reason"], json!(null));
    assert_eq!(done["amount"], json!(10.5));
    assert_eq!(done["details"], json!({"item": 1, "slot": "10:00"}));
    let steps = steps(&done);
    assert_eq!(
        steps,
        vec![
            (json!("money"), json!("reserve"), json!("granted")),
            (json!("item"), json!("reserve"), json!("granted")),
            (json!("slot"), json!("reserve"), json!("granted")),
        ]
    );
    assert_eq!(stack.wallet(&name).await, Decimal::new(8950, 2));
    assert_eq!(stack.stock(1).await, 999);
    assert_eq!(stack.booked("10:00").await, 1);
}

#[tokio::test]
async fn an_order_the_wallet_cannot_pay_fails_with_not_enough_money() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let name = unique_name("penny");
    let token = stack.user(&name, 100).await;

    let done = stack
        .place_final(&token, &order(json!(150), 2, "11:00"))
        .await;

    assert_eq!(done["status"], json!("failed"));
    assert_eq!(done["success"], json!(false));
    assert_eq!(done["reason"], json!("Not enough money"));
    assert_eq!(stack.wallet(&name).await, Decimal::from(100));
    assert_eq!(stack.stock(2).await, 1000);
    assert_eq!(stack.booked("11:00").await, 0);
}

#[tokio::test]
async fn an_unknown_item_fails_and_gives_the_money_back() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let name = unique_name("ivan");
    let token = stack.user(&name, 100).await;

    let done = stack
        .place_final(&token, &order(json!(30), 15, "12:00"))
        .await;

    assert_eq!(done["status"], json!("failed"));
    assert_eq!(done["reason"], json!("Can not reserve the item"));
    let cancels: Vec<_> = done["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|s| s["action"] == json!("cancel"))
        .map(|s| (s["step"].clone(), s["outcome"].clone()))
        .collect();
    assert_eq!(
        cancels,
        vec![
            (json!("item"), json!("nothing_held")),
            (json!("money"), json!("released")),
        ]
    );
    assert_eq!(stack.wallet(&name).await, Decimal::from(100));
    assert_eq!(stack.booked("12:00").await, 0);
}

#[tokio::test]
async fn an_unknown_slot_fails_and_gives_item_and_money_back() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let name = unique_name("sol");
    let token = stack.user(&name, 100).await;

    let done = stack
        .place_final(&token, &order(json!(40), 3, "19:00"))
        .await;

    assert_eq!(done["status"], json!("failed"));
    assert_eq!(done["reason"], json!("Can not get the delivery slot"));
    assert_eq!(stack.wallet(&name).await, Decimal::from(100));
    assert_eq!(stack.stock(3).await, 1000);
}

#[tokio::test]
async fn a_full_slot_fails_the_second_order() {
    let stack = TestStack::spawn(
        Stock {
            items: 1000,
            slot_capacity: 1,
            ..Stock::default()
        },
        1,
    )
    .await;
    let name = unique_name("full");
    let token = stack.user(&name, 100).await;

    let first = stack
        .place(&token, &order(json!(10), 4, "09:00"), None)
        .await;
    let first = stack
        .wait_final(&token, first.body["id"].as_i64().expect("id"))
        .await;
    let second = stack
        .place(&token, &order(json!(10), 4, "09:00"), None)
        .await;
    let second = stack
        .wait_final(&token, second.body["id"].as_i64().expect("id"))
        .await;

    assert_eq!(first["status"], json!("completed"));
    assert_eq!(second["reason"], json!("Can not get the delivery slot"));
    assert_eq!(stack.wallet(&name).await, Decimal::from(90));
    assert_eq!(stack.stock(4).await, 999);
    assert_eq!(stack.booked("09:00").await, 1);
}

#[tokio::test]
async fn a_completed_order_is_settled_with_billing() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let name = unique_name("settle");
    let token = stack.user(&name, 100).await;

    let done = stack
        .place_final(&token, &order(json!(40), 1, "10:00"))
        .await;

    assert_eq!(done["status"], json!("completed"));
    let id = done["id"].as_i64().expect("id");
    let billing = stack.billing_db.client().await;
    let mut state = String::new();
    for _ in 0..100 {
        state = billing
            .query_one("SELECT state FROM reservations WHERE order_id = $1", &[&id])
            .await
            .expect("the money's reservation")
            .get(0);
        if state == "settled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "settled");
    assert_eq!(stack.wallet(&name).await, Decimal::from(60));
}
