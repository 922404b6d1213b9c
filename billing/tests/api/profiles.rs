use common::testing::unique_name;
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn opening_an_account_is_idempotent() {
    let app = TestApp::spawn().await;
    let name = unique_name("ida");

    let first = app.open_account(&name, app.service_token.expose()).await;
    let second = app.open_account(&name, app.service_token.expose()).await;

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
        .open_account("no spaces allowed", app.service_token.expose())
        .await;

    assert_error(&response, 400);
    assert_eq!(response.body["field"], json!("username"));
}
