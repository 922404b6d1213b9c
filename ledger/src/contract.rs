//! The ledger's contract as tests, written once and run by every participant
//! (billing, items and slots) against its own server and database:
//! `ledger::contract_tests!(crate::helpers::TestApp);` in a test crate whose
//! `TestApp` implements [`Participant`].
//!
//! Each participant lends a resource of its own to the same rules: money from
//! a wallet, an item from the shelf, a place in a delivery slot.

use std::future::Future;

use common::config::Secret;
use common::testing::{Reservations, TestClient};
use hyper::Method;
use serde_json::Value;

/// A participant as the contract sees it.
pub trait Participant: Sized {
    /// A fresh server whose first resource can be reserved `units` times
    /// (1, 5 or 50).
    fn spawn(units: u32) -> impl Future<Output = Self>;
    /// Its reservation endpoints, called with the mediator's credential.
    fn reservations(&self) -> &Reservations;
    /// The credential auth presents, which may reserve nothing.
    fn auth_credential(&self) -> &Secret;
    /// A request for one unit of the first resource.
    fn first(&self) -> Value;
    /// A request for something else, granted as readily.
    fn second(&self) -> Value;
    /// A request for something this participant does not have.
    fn unknown(&self) -> Value;
    /// Bodies that are no request of this participant's, each a 400.
    fn malformed(&self) -> Vec<Value>;
    /// How many units of the first resource are free.
    fn free(&self) -> impl Future<Output = i64>;
}

/// Runs every test of the contract against `$participant`, one
/// `#[tokio::test]` each, named as in [`contract`](crate::contract).
#[macro_export]
macro_rules! contract_tests {
    ($participant:ty) => {
        $crate::contract_tests!(@each $participant;
            a_reserve_is_taken_once_however_often_it_is_repeated_and_a_cancel_gives_it_back_once,
            concurrent_repeats_of_one_order_take_one_unit,
            what_is_unknown_or_used_up_is_refused,
            a_cancel_before_the_reserve_leaves_a_tombstone,
            a_repeat_that_asks_for_something_else_is_409_and_changes_nothing,
            bad_requests_are_400_with_a_json_error,
            only_the_mediators_credential_reserves,
            two_hundred_concurrent_reserves_take_exactly_the_fifty_units_free
        );
    };
    (@each $participant:ty; $($test:ident),*) => {
        $(
            #[tokio::test]
            async fn $test() {
                $crate::contract::$test::<$participant>().await
            }
        )*
    };
}

pub async fn a_reserve_is_taken_once_however_often_it_is_repeated_and_a_cancel_gives_it_back_once<
    P: Participant,
>() {
    let app = P::spawn(5).await;
    let ledger = app.reservations();

    assert_eq!(ledger.reserve_outcome(1, &app.first()).await, "granted");
    assert_eq!(ledger.reserve_outcome(1, &app.first()).await, "granted");
    assert_eq!(app.free().await, 4);
    assert_eq!(ledger.cancel_outcome(1).await, "released");
    assert_eq!(ledger.cancel_outcome(1).await, "already_released");
    assert_eq!(app.free().await, 5);
    assert_eq!(
        ledger.reserve_outcome(1, &app.first()).await,
        "granted",
        "a repeat after the cancel keeps its first answer and takes nothing"
    );
    assert_eq!(app.free().await, 5);
}

pub async fn concurrent_repeats_of_one_order_take_one_unit<P: Participant>() {
    let app = P::spawn(5).await;

    let granted = app
        .reservations()
        .reserve_concurrently(vec![42; 20], &app.first())
        .await;

    assert_eq!(granted, 20, "every repeat reports the one grant");
    assert_eq!(app.free().await, 4);
}

pub async fn what_is_unknown_or_used_up_is_refused<P: Participant>() {
    let app = P::spawn(1).await;
    let ledger = app.reservations();

    assert_eq!(ledger.reserve_outcome(1, &app.unknown()).await, "refused");
    assert_eq!(ledger.reserve_outcome(2, &app.first()).await, "granted");
    assert_eq!(ledger.reserve_outcome(3, &app.first()).await, "refused");
    assert_eq!(ledger.cancel_outcome(3).await, "nothing_held");
    assert_eq!(
        ledger.reserve_outcome(3, &app.first()).await,
        "refused",
        "a refusal stays the answer"
    );
    assert_eq!(app.free().await, 0);
}

pub async fn a_cancel_before_the_reserve_leaves_a_tombstone<P: Participant>() {
    let app = P::spawn(5).await;
    let ledger = app.reservations();

    assert_eq!(ledger.cancel_outcome(8).await, "tombstoned");
    assert_eq!(ledger.reserve_outcome(8, &app.first()).await, "refused");
    assert_eq!(ledger.cancel_outcome(8).await, "tombstoned");
    assert_eq!(app.free().await, 5);
}

pub async fn a_repeat_that_asks_for_something_else_is_409_and_changes_nothing<P: Participant>() {
    let app = P::spawn(5).await;
    let ledger = app.reservations();
    assert_eq!(ledger.reserve_outcome(4, &app.first()).await, "granted");

    let other = ledger.reserve(4, &app.second()).await;

    assert_eq!(other.status, 409, "{}", other.text);
    assert!(other.body["error"].is_string(), "{}", other.text);
    assert_eq!(ledger.reserve_outcome(4, &app.first()).await, "granted");
    assert_eq!(app.free().await, 4);
    assert_eq!(
        ledger.reserve_outcome(5, &app.second()).await,
        "granted",
        "the second resource was left untouched"
    );
}

pub async fn bad_requests_are_400_with_a_json_error<P: Participant>() {
    let app = P::spawn(5).await;
    let ledger = app.reservations();

    for body in app.malformed() {
        let answer = ledger.reserve(1, &body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert!(answer.body["error"].is_string(), "{body}: {}", answer.text);
    }
    for order_id in [0, -3] {
        let answer = ledger.reserve(order_id, &app.first()).await;
        assert_eq!(answer.status, 400, "order {order_id}: {}", answer.text);
        assert!(answer.body["error"].is_string(), "{}", answer.text);
    }
    assert_eq!(app.free().await, 5);
}

pub async fn only_the_mediators_credential_reserves<P: Participant>() {
    let app = P::spawn(5).await;
    let url = app.reservations().url(1);
    let client = TestClient::default();

    let anonymous = client.json(Method::PUT, &url, &[], &app.first()).await;
    let auth = [("x-service-token", app.auth_credential().expose())];
    let as_auth = client.json(Method::PUT, &url, &auth, &app.first()).await;
    let cancel_as_auth = client.send(Method::DELETE, &url, &auth, None).await;

    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    assert!(anonymous.body["error"].is_string());
    assert_eq!(as_auth.status, 403, "{}", as_auth.text);
    assert!(as_auth.body["error"].is_string());
    assert_eq!(cancel_as_auth.status, 403, "{}", cancel_as_auth.text);
    assert_eq!(app.free().await, 5);
    assert_eq!(
        app.reservations().cancel_outcome(1).await,
        "tombstoned",
        "no reservation was made"
    );
}

pub async fn two_hundred_concurrent_reserves_take_exactly_the_fifty_units_free<P: Participant>() {
    let app = P::spawn(50).await;

    let granted = app
        .reservations()
        .reserve_concurrently((1..=200).collect(), &app.first())
        .await;

    assert_eq!(granted, 50);
    assert_eq!(app.free().await, 0);
}
