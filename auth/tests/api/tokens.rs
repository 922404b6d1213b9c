use common::jwt::TokenKind;
use common::testing::{tokens, unique_name};
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn login_issues_an_access_and_a_refresh_token_for_the_user() {
    let app = TestApp::spawn().await;
    let name = unique_name("lou");
    app.sign_up(&name, "correct horse").await;

    let response = app.login(&name, "correct horse").await;

    assert_eq!(response.status, 200, "{}", response.text);
    let verifier = app.keys.verifier();
    let access = verifier
        .verify(
            response.body["access"].as_str().expect("access"),
            TokenKind::Access,
        )
        .expect("a valid access token");
    let refresh = verifier
        .verify(
            response.body["refresh"].as_str().expect("refresh"),
            TokenKind::Refresh,
        )
        .expect("a valid refresh token");
    assert_eq!(
        (access.sub.as_str(), refresh.sub.as_str()),
        (name.as_str(), name.as_str())
    );
}

#[tokio::test]
async fn wrong_credentials_are_401() {
    let app = TestApp::spawn().await;
    let name = unique_name("wendy");
    app.sign_up(&name, "correct horse").await;

    assert_error(&app.login(&name, "wrong horse").await, 401);
    assert_error(&app.login("nobody_at_all", "correct horse").await, 401);
    assert_error(
        &app.post("/api/token/", &json!({"username": name})).await,
        400,
    );
}

#[tokio::test]
async fn refresh_gives_a_working_access_token() {
    let app = TestApp::spawn().await;
    let name = unique_name("rae");
    app.sign_up(&name, "correct horse").await;
    let login = app.login(&name, "correct horse").await;

    let refreshed = app
        .post(
            "/api/token/refresh/",
            &json!({"refresh": login.body["refresh"]}),
        )
        .await;

    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let access = refreshed.body["access"].as_str().expect("access");
    assert_eq!(app.account(&name, access).await.status, 200);
}

#[tokio::test]
async fn refresh_refuses_anything_but_a_valid_refresh_token() {
    let app = TestApp::spawn().await;
    let name = unique_name("rob");
    let access = app.user(&name).await;

    for bad in [
        access,
        "garbage".to_owned(),
        tokens::foreign(&name),
        tokens::alg_none(&name),
    ] {
        let response = app
            .post("/api/token/refresh/", &json!({ "refresh": bad }))
            .await;
        assert_error(&response, 401);
    }
    assert_error(&app.post("/api/token/refresh/", &json!({})).await, 400);
}

#[tokio::test]
async fn verify_accepts_valid_tokens_and_refuses_the_rest() {
    let app = TestApp::spawn().await;
    let name = unique_name("vic");
    let access = app.user(&name).await;

    let good = app
        .post("/api/token/verify/", &json!({ "token": access }))
        .await;
    assert_eq!(good.status, 200, "{}", good.text);
    assert_eq!(good.body, json!({}));

    for bad in [
        tokens::expired(&app.keys, &name),
        tokens::alg_none(&name),
        tokens::tampered(&app.keys, &name, "someone_else"),
        tokens::foreign(&name),
        "not.a.token".to_owned(),
    ] {
        let response = app
            .post("/api/token/verify/", &json!({ "token": bad }))
            .await;
        assert_error(&response, 401);
    }
}

#[tokio::test]
async fn a_user_cannot_read_another_users_wallet() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (unique_name("alice"), unique_name("bob"));
    let alice_token = app.user(&alice).await;
    app.user(&bob).await;

    assert_error(&app.account(&bob, &alice_token).await, 403);
    assert_eq!(app.account(&alice, &alice_token).await.status, 200);
}
