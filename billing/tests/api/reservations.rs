//! What is billing's own beside the ledger's contract (contract.rs): a
//! refusal that money arriving later does not turn, a repeat for another
//! user as well as another amount, and the wallet ceiling.

use common::testing::unique_name;
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

fn money(username: &str, amount: Value) -> Value {
    json!({"username": username, "amount": amount})
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
