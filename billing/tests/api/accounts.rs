use common::testing::unique_name;
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn a_new_account_shows_its_owner_a_wallet_of_exactly_100() {
    let app = TestApp::spawn().await;
    let name = unique_name("ann");
    let token = app.user(&name).await;

    let response = app.get_account(&name, Some(&token)).await;

    assert_eq!(response.status, 200);
    assert_eq!(
        response.body,
        json!({"username": name, "email": format!("{name}@example.com"), "wallet": 100})
    );
    assert!(
        response.text.contains("\"wallet\":100"),
        "{}",
        response.text
    );
}

#[tokio::test]
async fn another_users_account_is_forbidden() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (unique_name("alice"), unique_name("bob"));
    let alice_token = app.user(&alice).await;
    app.user(&bob).await;

    let read = app.get_account(&bob, Some(&alice_token)).await;
    let deposit = app.deposit(&bob, &alice_token, json!(10)).await;

    assert_error(&read, 403);
    assert_error(&deposit, 403);
    assert_eq!(app.wallet(&bob).await, json!(100));
}

#[tokio::test]
async fn an_owner_without_an_account_gets_404() {
    let app = TestApp::spawn().await;
    let name = unique_name("ghost");

    let response = app.get_account(&name, Some(&app.token_for(&name))).await;

    assert_error(&response, 404);
}

#[tokio::test]
async fn deposits_add_exactly() {
    let app = TestApp::spawn().await;
    let name = unique_name("dora");
    let token = app.user(&name).await;

    let first = app.deposit(&name, &token, json!(0.1)).await;
    let second = app.deposit(&name, &token, json!(0.2)).await;

    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(second.body["wallet"], json!(100.3));
    assert_eq!(app.wallet(&name).await, json!(100.3));
}

#[tokio::test]
async fn bad_deposits_are_refused_with_400_and_change_nothing() {
    let app = TestApp::spawn().await;
    let name = unique_name("eve");
    let token = app.user(&name).await;

    for amount in [
        json!(0),
        json!(-5),
        json!(0.001),
        json!("10"),
        json!(null),
        json!(1e12),
    ] {
        let response = app.deposit(&name, &token, amount.clone()).await;
        assert_error(&response, 400);
        assert_eq!(response.body["field"], json!("amount"), "for {amount}");
    }
    for body in [
        &b"{"[..],
        b"[]",
        b"{}",
        b"{\"amount\": 5, \"extra\": 1}",
        b"not json",
    ] {
        let response = app.deposit_raw(&name, &token, body.to_vec()).await;
        assert_error(&response, 400);
    }
    let oversized = format!("{{\"amount\": 1, \"pad\": \"{}\"}}", "x".repeat(100_000));
    let response = app.deposit_raw(&name, &token, oversized.into_bytes()).await;
    assert_error(&response, 413);

    assert_eq!(app.wallet(&name).await, json!(100));
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json_errors() {
    let app = TestApp::spawn().await;
    let client = &app.client;

    let missing = client
        .send(
            hyper::Method::GET,
            &format!("{}/api/nothing", app.address),
            &[],
            None,
        )
        .await;
    let wrong_method = client
        .send(
            hyper::Method::DELETE,
            &format!("{}/api/accounts/x", app.address),
            &[],
            None,
        )
        .await;

    assert_error(&missing, 404);
    assert!(
        wrong_method.status.is_client_error(),
        "{}",
        wrong_method.text
    );
    assert!(wrong_method.body["error"].is_string());
}

#[tokio::test]
async fn operational_routes_answer() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    let get = |path: &str| {
        let url = format!("{}{path}", app.address);
        async move { client.send(hyper::Method::GET, &url, &[], None).await }
    };

    let health = get("/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["version"], common::version::VERSION);
    assert_eq!(get("/ready").await.status, 200);
    let metrics = get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.text.contains("http_requests_total"),
        "{}",
        metrics.text
    );
}

#[tokio::test]
async fn a_deposit_repeated_with_its_key_credits_once_and_answers_the_same() {
    let app = TestApp::spawn().await;
    let name = unique_name("retry");
    let token = app.user(&name).await;

    let first = app.deposit_once(&name, &token, "top-up-1", json!(25)).await;
    let repeats = futures::future::join_all(
        (0..5).map(|_| app.deposit_once(&name, &token, "top-up-1", json!(25))),
    )
    .await;

    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["wallet"], json!(125));
    for repeat in repeats {
        assert_eq!(repeat.status, 200, "{}", repeat.text);
        assert_eq!(repeat.body, first.body);
    }
    assert_eq!(app.wallet(&name).await, json!(125));
    let other_amount = app.deposit_once(&name, &token, "top-up-1", json!(30)).await;
    assert_error(&other_amount, 409);
    let next = app.deposit_once(&name, &token, "top-up-2", json!(25)).await;
    assert_eq!(next.body["wallet"], json!(150));
    let unkeyed = app.deposit(&name, &token, json!(1)).await;
    assert_eq!(unkeyed.body["wallet"], json!(151));
    for bad_key in ["", "with space", &"k".repeat(256)] {
        let response = app.deposit_once(&name, &token, bad_key, json!(1)).await;
        assert_error(&response, 400);
    }
    assert_eq!(app.wallet(&name).await, json!(151));
}
