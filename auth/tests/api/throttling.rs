//! Failed logins are throttled per username and per client address; bad
//! login input is a 400.

use std::time::Duration;

use common::testing::unique_name;
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn ten_failures_lock_the_name_for_the_window_only() {
    let app = TestApp::spawn_with(true, |settings| {
        settings.login_limits.window = Duration::from_secs(3);
    })
    .await;
    let (name, bystander) = (unique_name("locked"), unique_name("bystander"));
    app.sign_up(&name, "correct horse").await;
    app.sign_up(&bystander, "correct horse").await;

    for attempt in 0..10 {
        let response = app.login(&name, &format!("wrong horse {attempt}")).await;
        assert_error(&response, 401);
    }
    let throttled = app.login(&name, "correct horse").await;

    assert_error(&throttled, 429);
    let retry_after: u64 = throttled
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=3).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(app.login(&bystander, "correct horse").await.status, 200);
    tokio::time::sleep(Duration::from_secs(retry_after) + Duration::from_millis(200)).await;
    let later = app.login(&name, "correct horse").await;
    assert_eq!(later.status, 200, "{}", later.text);
}

#[tokio::test]
async fn one_address_guessing_across_names_is_throttled_alone() {
    let app = TestApp::spawn_with(true, |settings| {
        settings.login_limits.per_username = 3;
        settings.login_limits.per_address = 5;
    })
    .await;
    let victim = unique_name("victim");
    app.sign_up(&victim, "correct horse").await;

    for i in 0..5 {
        let guess = app
            .login_from(
                "198.51.100.7",
                &unique_name(&format!("guess{i}")),
                "wrong horse",
            )
            .await;
        assert_error(&guess, 401);
    }

    let from_attacker = app
        .login_from("198.51.100.7", &victim, "correct horse")
        .await;
    assert_error(&from_attacker, 429);
    let from_elsewhere = app
        .login_from("198.51.100.8", &victim, "correct horse")
        .await;
    assert_eq!(from_elsewhere.status, 200, "{}", from_elsewhere.text);
}

#[tokio::test]
async fn malformed_logins_are_400() {
    let app = TestApp::spawn().await;
    let name = unique_name("long");
    let password = "p".repeat(72);
    let signed_up = app.sign_up(&name, &password).await;
    assert_eq!(signed_up.status, 201, "{}", signed_up.text);

    // bcrypt would accept this one: it reads only the first 72 bytes.
    let longer = app.login(&name, &format!("{password}and more")).await;
    assert_error(&longer, 400);
    assert_eq!(longer.body["field"], json!("password"));
    assert_eq!(app.login(&name, &password).await.status, 200);
    for username in ["a\u{0}b", "x", "has space"] {
        let response = app.login(username, "correct horse").await;
        assert_error(&response, 400);
        assert_eq!(response.body["field"], json!("username"));
    }
}
