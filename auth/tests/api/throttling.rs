//! Failed logins are throttled per username and client address, per
//! address, and slowed per username; the attempt is counted before the
//! password is checked, so parallel bursts pass no limit; bad login input
//! is a 400.

use std::time::Duration;

use futures::future::join_all;

use common::testing::unique_name;
use serde_json::json;

use common::testing::TestResponse;

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

fn retry_after(response: &TestResponse) -> u64 {
    response
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds")
}

#[tokio::test]
async fn two_hundred_parallel_wrong_logins_reach_bcrypt_exactly_ten_times() {
    let app = TestApp::spawn().await;
    let name = unique_name("burst");
    app.sign_up(&name, "correct horse").await;

    let guesses: Vec<String> = (0..200).map(|i| format!("wrong horse {i}")).collect();
    let answers = join_all(guesses.iter().map(|guess| app.login(&name, guess))).await;

    let checked = answers.iter().filter(|a| a.status == 401).count();
    let refused: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(checked, 10, "wrong passwords compared with the hash");
    assert_eq!(refused.len(), 190, "the rest are throttled before bcrypt");
    for answer in refused {
        assert_error(answer, 429);
        assert!((1..=60).contains(&retry_after(answer)));
    }
    assert_eq!(app.attempts_recorded(&name).await, 10);
}

#[tokio::test]
async fn a_stranger_failing_from_elsewhere_never_refuses_the_right_password() {
    let app = TestApp::spawn().await;
    let name = unique_name("owner");
    app.sign_up(&name, "correct horse").await;

    for attempt in 0..15 {
        let guess = app
            .login_from("198.51.100.20", &name, &format!("wrong horse {attempt}"))
            .await;
        assert!(matches!(guess.status.as_u16(), 401 | 429), "{}", guess.text);
    }
    let stranger = app
        .login_from("198.51.100.20", &name, "correct horse")
        .await;
    assert_error(&stranger, 429);

    let owner = app
        .login_from("198.51.100.21", &name, "correct horse")
        .await;
    assert_eq!(owner.status, 200, "{}", owner.text);
    assert_eq!(
        app.attempts_recorded(&name).await,
        10,
        "the owner's login is forgotten"
    );
}

#[tokio::test]
async fn many_addresses_failing_for_one_name_slow_it_and_refuse_only_themselves() {
    let app = TestApp::spawn_with(true, |settings| {
        settings.login_limits.slowdown_after = 5;
    })
    .await;
    let name = unique_name("attacked");
    app.sign_up(&name, "correct horse").await;
    for i in 0..5 {
        let guess = app
            .login_from(&format!("198.51.100.{}", 30 + i), &name, "wrong horse")
            .await;
        assert_error(&guess, 401);
    }

    let failing_again = app
        .login_from("198.51.100.30", &name, "correct horse")
        .await;
    assert_error(&failing_again, 429);
    let clean_but_wrong = app.login_from("198.51.100.99", &name, "wrong horse").await;
    assert_error(&clean_but_wrong, 401);
    let owner = app
        .login_from("198.51.100.100", &name, "correct horse")
        .await;
    assert_eq!(owner.status, 200, "{}", owner.text);
}

#[tokio::test]
async fn a_client_without_the_proxy_cannot_choose_its_address() {
    let app = TestApp::spawn().await;
    let name = unique_name("forged");
    app.sign_up(&name, "correct horse").await;

    // Straight to auth's port from 127.0.0.5, which is no trusted proxy,
    // each time claiming another address.
    let mut statuses = Vec::new();
    for i in 0..12 {
        let forged = format!("203.0.113.{i}");
        let guess = app
            .login_direct("127.0.0.5", &forged, &name, "wrong horse")
            .await;
        statuses.push(guess.status.as_u16());
    }
    assert_eq!(statuses[..10], [401; 10]);
    assert_eq!(statuses[10..], [429; 2], "counted as 127.0.0.5 alone");

    let elsewhere = app
        .login_direct("127.0.0.6", "203.0.113.0", &name, "correct horse")
        .await;
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.text);
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

#[tokio::test]
async fn attempts_past_the_window_are_deleted_on_the_timer() {
    let app = TestApp::spawn_with(true, |settings| {
        settings.login_limits.window = Duration::from_secs(1);
        settings.session_prune_interval = Duration::from_millis(200);
    })
    .await;
    let name = unique_name("aged");
    let signed = app.sign_up(&name, "correct horse").await;
    assert_eq!(signed.status, 201, "{}", signed.text);
    let wrong = app.login(&name, "not the password").await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert_eq!(app.attempts_recorded(&name).await, 1);

    let mut recorded = 1;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        recorded = app.attempts_recorded(&name).await;
        if recorded == 0 {
            break;
        }
    }
    assert_eq!(recorded, 0, "the attempt outlived its window and a prune");
}
