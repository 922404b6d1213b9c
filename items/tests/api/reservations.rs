use common::http::Caller;
use common::testing::TestClient;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn items_one_to_ten_are_on_the_shelf_from_the_first_start() {
    let app = TestApp::spawn(5).await;

    let db = app.db.client().await;
    let rows = db
        .query("SELECT id, stock FROM items ORDER BY id", &[])
        .await
        .expect("items");

    let items: Vec<(i32, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(items, (1..=10).map(|id| (id, 5)).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_reserve_takes_one_item_once_and_a_cancel_gives_it_back_once() {
    let app = TestApp::spawn(5).await;
    let ledger = &app.reservations;
    let item_3 = json!({"item": 3});

    assert_eq!(ledger.reserve_outcome(1, &item_3).await, "granted");
    assert_eq!(ledger.reserve_outcome(1, &item_3).await, "granted");
    assert_eq!(app.stock(3).await, 4);
    assert_eq!(ledger.cancel_outcome(1).await, "released");
    assert_eq!(ledger.cancel_outcome(1).await, "already_released");
    assert_eq!(app.stock(3).await, 5);
}

#[tokio::test]
async fn an_unknown_item_or_an_empty_shelf_is_refused() {
    let app = TestApp::spawn(1).await;
    let ledger = &app.reservations;

    assert_eq!(
        ledger.reserve_outcome(1, &json!({"item": 15})).await,
        "refused"
    );
    assert_eq!(
        ledger.reserve_outcome(2, &json!({"item": 7})).await,
        "granted"
    );
    assert_eq!(
        ledger.reserve_outcome(3, &json!({"item": 7})).await,
        "refused"
    );
    assert_eq!(ledger.cancel_outcome(3).await, "nothing_held");
    assert_eq!(app.stock(7).await, 0);
}

#[tokio::test]
async fn a_cancel_before_the_reserve_leaves_a_tombstone() {
    let app = TestApp::spawn(5).await;
    let ledger = &app.reservations;

    assert_eq!(ledger.cancel_outcome(8).await, "tombstoned");
    assert_eq!(
        ledger.reserve_outcome(8, &json!({"item": 2})).await,
        "refused"
    );
    assert_eq!(app.stock(2).await, 5);
}

#[tokio::test]
async fn bad_requests_are_4xx_with_a_json_error() {
    let app = TestApp::spawn(5).await;
    let ledger = &app.reservations;

    for body in [
        json!({}),
        json!({"item": "3"}),
        json!({"item": 3.5}),
        json!({"item": 1, "x": 1}),
    ] {
        let response = ledger.reserve(1, &body).await;
        assert_eq!(response.status, 400, "{body}: {}", response.text);
        assert!(response.body["error"].is_string());
    }
    let unauthenticated = TestClient::default()
        .json(hyper::Method::PUT, &ledger.url(1), &[], &json!({"item": 1}))
        .await;
    assert_eq!(unauthenticated.status, 401);
    assert!(unauthenticated.body["error"].is_string());
}

#[tokio::test]
async fn two_hundred_concurrent_reserves_take_exactly_the_fifty_in_stock() {
    let app = TestApp::spawn(50).await;

    let granted = app
        .reservations
        .reserve_concurrently((1..=200).collect(), &json!({"item": 1}))
        .await;

    assert_eq!(granted, 50);
    assert_eq!(app.stock(1).await, 0);
    let db = app.db.client().await;
    let held: i64 = db
        .query_one(
            "SELECT count(*) FROM reservations WHERE state = 'granted'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(held, 50);
}

#[tokio::test]
async fn a_repeat_for_another_item_is_409_and_changes_nothing() {
    let app = TestApp::spawn(5).await;
    let ledger = &app.reservations;
    assert_eq!(
        ledger.reserve_outcome(4, &json!({"item": 3})).await,
        "granted"
    );

    let other = ledger.reserve(4, &json!({"item": 4})).await;

    assert_eq!(other.status, 409, "{}", other.text);
    assert!(other.body["error"].is_string(), "{}", other.text);
    assert_eq!(
        ledger.reserve_outcome(4, &json!({"item": 3})).await,
        "granted"
    );
    let db = app.db.client().await;
    let stock: Vec<i32> = db
        .query(
            "SELECT stock FROM items WHERE id IN (3, 4) ORDER BY id",
            &[],
        )
        .await
        .expect("stock")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(stock, vec![4, 5]);
}

#[tokio::test]
async fn auths_credential_reserves_nothing() {
    let app = TestApp::spawn(5).await;
    let auth = app.callers.credential(Caller::Auth).expose();

    let answer = TestClient::default()
        .json(
            hyper::Method::PUT,
            &app.reservations.url(1),
            &[("x-service-token", auth)],
            &json!({"item": 1}),
        )
        .await;

    assert_eq!(answer.status, 403, "{}", answer.text);
    assert!(answer.body["error"].is_string());
    assert_eq!(app.stock(1).await, 5);
}
