use common::testing::{tokens, unique_name};

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn reading_an_account_needs_a_valid_access_token() {
    let app = TestApp::spawn().await;
    let name = unique_name("tom");
    app.user(&name).await;
    let other = unique_name("other");

    let refused = [
        ("no token", None),
        ("garbage", Some("not-a-jwt".to_owned())),
        ("expired", Some(tokens::expired(&app.keys, &name))),
        ("alg none", Some(tokens::alg_none(&name))),
        ("tampered", Some(tokens::tampered(&app.keys, &other, &name))),
        ("foreign key", Some(tokens::foreign(&name))),
        ("refresh token", Some(tokens::refresh(&app.keys, &name))),
    ];
    for (what, token) in refused {
        let response = app.get_account(&name, token.as_deref()).await;
        assert_eq!(response.status, 401, "{what}: {}", response.text);
        assert!(response.body["error"].is_string(), "{what}");
    }
}

#[tokio::test]
async fn an_authorization_header_that_is_not_bearer_is_refused() {
    let app = TestApp::spawn().await;
    let name = unique_name("tim");
    let token = app.user(&name).await;
    let url = format!("{}/api/accounts/{name}", app.address);

    let basic = app
        .client
        .send(
            hyper::Method::GET,
            &url,
            &[("authorization", "Basic dXNlcjpwYXNz")],
            None,
        )
        .await;
    let bare = app
        .client
        .send(hyper::Method::GET, &url, &[("authorization", &token)], None)
        .await;

    assert_error(&basic, 401);
    assert_error(&bare, 401);
}

#[tokio::test]
async fn internal_endpoints_demand_the_service_credential() {
    let app = TestApp::spawn().await;
    let name = unique_name("int");

    let without = app.open_account(&name, "").await;
    let wrong = app.open_account(&name, "wrong-credential-0000000000").await;
    let reserve = app
        .client
        .send(
            hyper::Method::PUT,
            &app.reservation_url(1),
            &[],
            Some(br#"{"username": "x", "amount": 1}"#.to_vec()),
        )
        .await;
    let cancel = app
        .client
        .send(
            hyper::Method::DELETE,
            &app.reservation_url(1),
            &[("x-service-token", "nope")],
            None,
        )
        .await;

    for response in [&without, &wrong, &reserve, &cancel] {
        assert_error(response, 401);
    }
}
