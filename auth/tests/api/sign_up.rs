use common::testing::unique_name;
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn sign_up_creates_the_user_and_a_wallet_of_100() {
    let app = TestApp::spawn().await;
    let name = unique_name("sue");

    let response = app.sign_up(&name, "correct horse").await;

    assert_eq!(response.status, 201, "{}", response.text);
    assert!(response.body["id"].is_i64());
    assert_eq!(response.body["username"], json!(name));
    assert_eq!(response.body["email"], json!(format!("{name}@example.com")));
    assert!(response.body.get("password").is_none());
    let login = app.login(&name, "correct horse").await;
    let access = login.body["access"].as_str().expect("access token");
    let account = app.account(&name, access).await;
    assert_eq!(account.status, 200, "{}", account.text);
    assert_eq!(account.body["wallet"], json!(100));
    assert_eq!(account.body["email"], json!(format!("{name}@example.com")));
}

#[tokio::test]
async fn the_password_is_stored_as_a_bcrypt_hash() {
    let app = TestApp::spawn().await;
    let name = unique_name("hash");
    app.sign_up(&name, "correct horse").await;

    let db = app.auth_db.client().await;
    let stored: String = db
        .query_one(
            "SELECT password_hash FROM users WHERE username = $1",
            &[&name],
        )
        .await
        .expect("user row")
        .get(0);

    assert!(stored.starts_with("$2"), "{stored}");
    assert!(bcrypt::verify("correct horse", &stored).expect("a bcrypt hash"));
}

#[tokio::test]
async fn a_taken_username_is_409() {
    let app = TestApp::spawn().await;
    let name = unique_name("twin");
    app.sign_up(&name, "correct horse").await;

    let again = app.sign_up(&name, "another password").await;

    assert_error(&again, 409);
    assert_eq!(app.user_count(&name).await, 1);
}

#[tokio::test]
async fn concurrent_sign_ups_for_one_name_create_one_user() {
    let app = TestApp::spawn().await;
    let name = unique_name("race");

    let attempts = (0..10).map(|_| app.sign_up(&name, "correct horse"));
    let responses = futures::future::join_all(attempts).await;

    let created = responses.iter().filter(|r| r.status == 201).count();
    let conflicts = responses.iter().filter(|r| r.status == 409).count();
    assert_eq!((created, conflicts), (1, 9));
    assert_eq!(app.user_count(&name).await, 1);
}

#[tokio::test]
async fn when_billing_is_down_sign_up_is_503_and_leaves_no_user() {
    let app = TestApp::spawn_with_billing(false).await;
    let name = unique_name("lost");

    let response = app.sign_up(&name, "correct horse").await;

    assert_error(&response, 503);
    assert_eq!(app.user_count(&name).await, 0);
    assert_error(&app.login(&name, "correct horse").await, 401);
}

#[tokio::test]
async fn bad_sign_ups_are_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let ok = |name: &str| json!({"username": name, "password": "correct horse", "email": "a@example.com"});
    let with = |field: &str, value: serde_json::Value| {
        let mut body = ok("valid_name");
        body[field] = value;
        body
    };
    let cases = [
        (with("password", json!("short")), "password"),
        (with("password", json!("x".repeat(73))), "password"),
        (with("password", json!(12345678)), "password"),
        (with("email", json!("not-an-email")), "email"),
        (with("email", json!("a@b")), "email"),
        (with("username", json!("no spaces")), "username"),
        (with("username", json!("ab")), "username"),
        (with("username", json!(null)), "username"),
    ];

    for (body, field) in cases {
        let response = app.post("/api/auth/users/", &body).await;
        assert_error(&response, 400);
        assert_eq!(response.body["field"], json!(field), "{body}");
    }
    let missing = app
        .post("/api/auth/users/", &json!({"username": "valid_name"}))
        .await;
    assert_error(&missing, 400);
    for raw in [&b"{"[..], b"[1, 2]", b"", b"\"text\""] {
        assert_error(&app.post_raw("/api/auth/users/", raw).await, 400);
    }
    let huge = format!("{{\"username\": \"{}\"}}", "x".repeat(50_000));
    assert_error(
        &app.post_raw("/api/auth/users/", huge.as_bytes()).await,
        413,
    );
    assert_eq!(app.user_count("valid_name").await, 0);
}

/// Billing is held up (its accounts table locked) past auth's timeout, so
/// sign-up gives up while billing may still open the wallet. A second
/// person who later signs up with the same name gets a fresh account of
/// their own, never the first one's.
#[tokio::test]
async fn a_sign_up_that_failed_half_way_leaves_nothing_to_inherit() {
    let app = TestApp::spawn_with(true, |settings| {
        settings.billing_timeout = std::time::Duration::from_millis(400);
    })
    .await;
    let name = unique_name("half");
    let billing_db = app.billing_db.as_ref().expect("billing runs");
    let mut locker = billing_db.client().await;
    let lock = locker.transaction().await.expect("begin");
    lock.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE", &[])
        .await
        .expect("lock");

    let first = app
        .post(
            "/api/auth/users/",
            &json!({"username": name, "password": "first person", "email": "first@example.com"}),
        )
        .await;
    assert_error(&first, 503);
    lock.commit().await.expect("release");
    // Whatever billing still does with the first request, it does now.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;

    let second = app
        .post(
            "/api/auth/users/",
            &json!({"username": name, "password": "second person", "email": "second@example.com"}),
        )
        .await;

    assert_eq!(second.status, 201, "{}", second.text);
    let access = {
        let login = app.login(&name, "second person").await;
        assert_eq!(login.status, 200, "{}", login.text);
        login.body["access"].as_str().expect("access").to_owned()
    };
    let account = app.account(&name, &access).await;
    assert_eq!(account.status, 200, "{}", account.text);
    assert_eq!(account.body["email"], json!("second@example.com"));
    assert_eq!(account.body["wallet"], json!(100));
    assert_error(&app.login(&name, "first person").await, 401);
    assert_eq!(app.user_count(&name).await, 1);
}

#[tokio::test]
async fn text_the_database_cannot_hold_is_400() {
    let app = TestApp::spawn().await;

    let nul_email = app
        .post(
            "/api/auth/users/",
            &json!({"username": unique_name("nul"), "password": "correct horse", "email": "a\u{0}b@example.com"}),
        )
        .await;

    assert_error(&nul_email, 400);
}
