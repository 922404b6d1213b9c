use common::testing::unique_name;
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn opening_an_account_is_idempotent() {
    let app = TestApp::spawn().await;
    let name = unique_name("ida");

    let first = app.open_account(&name, app.auth_credential()).await;
    let second = app.open_account(&name, app.auth_credential()).await;

    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(first.body, second.body);
    assert_eq!(first.body["wallet"], json!(100));
    let db = app.db.client().await;
    let deposits: i64 = db
        .query_one(
            "SELECT count(*) FROM deposits WHERE username = $1",
            &[&name],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(deposits, 1, "the opening balance is deposited once");
}

#[tokio::test]
async fn a_bad_username_is_refused() {
    let app = TestApp::spawn().await;

    let response = app
        .open_account("no spaces allowed", app.auth_credential())
        .await;

    assert_error(&response, 400);
    assert_eq!(response.body["field"], json!("username"));
}

#[tokio::test]
async fn an_account_is_never_handed_to_another_user_id() {
    let app = TestApp::spawn().await;
    let name = unique_name("owner");
    let (app, name) = (&app, &name);
    let token = app.auth_credential();
    let open = |user_id: i64| {
        let body = json!({"username": name, "email": format!("{user_id}@example.com"), "user_id": user_id});
        let url = format!("{}/api/profiles/", app.address);
        async move {
            app.client
                .json(
                    hyper::Method::POST,
                    &url,
                    &[("x-service-token", token)],
                    &body,
                )
                .await
        }
    };
    let close = |user_id: i64| {
        let url = format!("{}/api/profiles/{name}?user_id={user_id}", app.address);
        async move {
            app.client
                .send(
                    hyper::Method::DELETE,
                    &url,
                    &[("x-service-token", token)],
                    None,
                )
                .await
        }
    };
    assert_eq!(open(1).await.status, 201);

    assert_error(&open(2).await, 409);
    let not_theirs = close(2).await;
    assert_eq!(not_theirs.status, 200, "{}", not_theirs.text);
    assert_eq!(not_theirs.body, json!({"closed": false}));
    assert_eq!(close(1).await.body, json!({"closed": true}));
    let reopened = open(2).await;
    assert_eq!(reopened.status, 201, "{}", reopened.text);
    assert_eq!(reopened.body["email"], json!("2@example.com"));
    assert_error(
        &app.client
            .send(
                hyper::Method::DELETE,
                &format!("{}/api/profiles/{name}?user_id=2", app.address),
                &[],
                None,
            )
            .await,
        401,
    );
}
