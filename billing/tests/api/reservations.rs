use common::testing::unique_name;
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

fn money(username: &str, amount: Value) -> Value {
    json!({"username": username, "amount": amount})
}

#[tokio::test]
async fn a_reserve_debits_once_however_often_it_is_repeated() {
    let app = TestApp::spawn().await;
    let name = unique_name("rita");
    app.user(&name).await;
    let ledger = app.reservations();

    let first = ledger.reserve_outcome(1, &money(&name, json!(30))).await;
    let again = ledger.reserve_outcome(1, &money(&name, json!(30))).await;

    assert_eq!((first.as_str(), again.as_str()), ("granted", "granted"));
    assert_eq!(app.wallet(&name).await, json!(70));
}

#[tokio::test]
async fn a_refused_reserve_stays_refused_even_when_money_arrives() {
    let app = TestApp::spawn().await;
    let name = unique_name("rex");
    let token = app.user(&name).await;
    let ledger = app.reservations();

    let refused = ledger.reserve_outcome(7, &money(&name, json!(150))).await;
    app.deposit(&name, &token, json!(100)).await;
    let repeat = ledger.reserve_outcome(7, &money(&name, json!(150))).await;

    assert_eq!((refused.as_str(), repeat.as_str()), ("refused", "refused"));
    assert_eq!(app.wallet(&name).await, json!(200));
    assert_eq!(ledger.cancel_outcome(7).await, "nothing_held");
    assert_eq!(app.wallet(&name).await, json!(200));
}

#[tokio::test]
async fn an_unknown_account_is_refused() {
    let app = TestApp::spawn().await;
    let ledger = app.reservations();

    let outcome = ledger
        .reserve_outcome(3, &money("nobody_here", json!(1)))
        .await;

    assert_eq!(outcome, "refused");
}

#[tokio::test]
async fn a_cancel_gives_the_money_back_exactly_once() {
    let app = TestApp::spawn().await;
    let name = unique_name("carl");
    app.user(&name).await;
    let ledger = app.reservations();
    ledger.reserve_outcome(5, &money(&name, json!(12.5))).await;

    let first = ledger.cancel_outcome(5).await;
    let second = ledger.cancel_outcome(5).await;
    let late_reserve = ledger.reserve_outcome(5, &money(&name, json!(12.5))).await;

    assert_eq!(
        (first.as_str(), second.as_str()),
        ("released", "already_released")
    );
    assert_eq!(late_reserve, "granted", "a repeat keeps its first answer");
    assert_eq!(app.wallet(&name).await, json!(100));
}

#[tokio::test]
async fn a_cancel_before_the_reserve_leaves_a_tombstone() {
    let app = TestApp::spawn().await;
    let name = unique_name("tess");
    app.user(&name).await;
    let ledger = app.reservations();

    let cancel = ledger.cancel_outcome(9).await;
    let reserve = ledger.reserve_outcome(9, &money(&name, json!(10))).await;
    let cancel_again = ledger.cancel_outcome(9).await;

    assert_eq!(cancel, "tombstoned");
    assert_eq!(reserve, "refused");
    assert_eq!(cancel_again, "tombstoned");
    assert_eq!(app.wallet(&name).await, json!(100));
}

#[tokio::test]
async fn bad_reserve_requests_are_400() {
    let app = TestApp::spawn().await;
    let ledger = app.reservations();

    for body in [
        json!({"username": "someone", "amount": -1}),
        json!({"username": "someone", "amount": 0.001}),
        json!({"username": "someone"}),
        json!({"amount": 1}),
        json!({"username": 5, "amount": 1}),
        // Fields a participant does not know are refused, as items and
        // slots refuse them: a caller's mistake is not silently dropped.
        json!({"username": "someone", "amount": 1, "currency": "EUR"}),
    ] {
        assert_error(&ledger.reserve(4, &body).await, 400);
    }
    assert_error(&ledger.reserve(0, &money("someone", json!(1))).await, 400);
    assert_error(&ledger.reserve(-3, &money("someone", json!(1))).await, 400);
}

#[tokio::test]
async fn two_hundred_concurrent_reserves_never_overdraw_a_wallet() {
    let app = TestApp::spawn().await;
    let name = unique_name("crowd");
    app.user(&name).await;
    let ledger = app.reservations();

    let granted = ledger
        .reserve_concurrently((1..=200).collect(), &money(&name, json!(2)))
        .await;

    assert_eq!(granted, 50, "100 pays for exactly 50 reservations of 2");
    assert_eq!(app.wallet(&name).await, json!(0));
    let db = app.db.client().await;
    let row = db
        .query_one(
            "SELECT count(*), coalesce(sum(amount), 0)::text FROM reservations WHERE state = 'granted'",
            &[],
        )
        .await
        .expect("ledger totals");
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, String>(1)),
        (50, "100.00".to_owned())
    );
}

#[tokio::test]
async fn concurrent_repeats_of_one_order_debit_once() {
    let app = TestApp::spawn().await;
    let name = unique_name("dup");
    app.user(&name).await;
    let ledger = app.reservations();

    let granted = ledger
        .reserve_concurrently(vec![42; 20], &money(&name, json!(10)))
        .await;

    assert_eq!(granted, 20, "every repeat reports the one grant");
    assert_eq!(app.wallet(&name).await, json!(90));
}

#[tokio::test]
async fn a_repeat_for_another_user_or_amount_is_409_never_the_stored_grant() {
    let app = TestApp::spawn().await;
    let (name, other) = (unique_name("replay"), unique_name("replayed"));
    app.user(&name).await;
    app.user(&other).await;
    let ledger = app.reservations();
    assert_eq!(
        ledger.reserve_outcome(9, &money(&name, json!(30))).await,
        "granted"
    );

    for changed in [money(&name, json!(31)), money(&other, json!(30))] {
        let response = ledger.reserve(9, &changed).await;
        assert_error(&response, 409);
    }
    assert_eq!(
        ledger.reserve_outcome(9, &money(&name, json!(30.00))).await,
        "granted"
    );
    assert_eq!(app.wallet(&name).await, json!(70));
    assert_eq!(app.wallet(&other).await, json!(100));
}

#[tokio::test]
async fn the_wallet_and_what_unfinished_orders_hold_stay_under_the_ceiling() {
    let app = TestApp::spawn().await;
    let name = unique_name("rich");
    let token = app.user(&name).await;
    let ledger = app.reservations();
    let app = &app;
    let settle = |ids: Value| {
        let url = format!("{}/internal/settlements", app.address);
        let token = app.mediator_credential().to_owned();
        async move {
            app.client
                .json(
                    hyper::Method::POST,
                    &url,
                    &[("x-service-token", token.as_str())],
                    &json!({ "order_ids": ids }),
                )
                .await
        }
    };
    let full = app.deposit(&name, &token, json!(9_999_900)).await;
    assert_eq!(full.body["wallet"], json!(10_000_000), "{}", full.text);
    assert_error(&app.deposit(&name, &token, json!(0.01)).await, 409);

    // Money held for an unfinished order still counts: a refund must fit.
    assert_eq!(
        ledger.reserve_outcome(21, &money(&name, json!(50))).await,
        "granted"
    );
    assert_eq!(
        ledger.reserve_outcome(22, &money(&name, json!(30))).await,
        "granted"
    );
    let refused = app.deposit(&name, &token, json!(1)).await;
    assert_error(&refused, 409);
    assert_eq!(refused.body["field"], json!("amount"));
    assert_eq!(ledger.cancel_outcome(22).await, "released");
    assert_eq!(app.wallet(&name).await, json!(9_999_950));

    // Once its order completed, the money is spent and frees the room.
    let settled = settle(json!([21, 22, 999])).await;
    assert_eq!(settled.status, 200, "{}", settled.text);
    assert_eq!(settled.body, json!({"settled": 1}));
    assert_eq!(settle(json!([21])).await.body, json!({"settled": 0}));
    let room = app.deposit(&name, &token, json!(50)).await;
    assert_eq!(room.body["wallet"], json!(10_000_000), "{}", room.text);
    assert_error(&ledger.cancel(21).await, 409);
    assert_eq!(
        ledger.reserve_outcome(21, &money(&name, json!(50))).await,
        "granted"
    );
    assert_eq!(app.wallet(&name).await, json!(10_000_000));
}
