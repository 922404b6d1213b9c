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

#[tokio::test]
async fn each_internal_endpoint_refuses_the_other_callers_credential() {
    let app = TestApp::spawn().await;
    let name = unique_name("who");
    let (auth, mediator) = (app.auth_credential(), app.mediator_credential());
    let send = |method: hyper::Method, url: String, credential: &str, body: Option<&str>| {
        let headers = [("x-service-token", credential.to_owned())];
        let body = body.map(|b| b.as_bytes().to_vec());
        let app = &app;
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.client.send(method, &url, &headers, body).await
        }
    };
    let profile = format!(r#"{{"username": "{name}", "email": "w@example.com", "user_id": 1}}"#);

    let opened_by_mediator = app.open_account(&name, mediator).await;
    let closed_by_mediator = send(
        hyper::Method::DELETE,
        format!("{}/api/profiles/{name}?user_id=1", app.address),
        mediator,
        None,
    )
    .await;
    let reserved_by_auth = send(
        hyper::Method::PUT,
        app.reservation_url(1),
        auth,
        Some(r#"{"username": "x", "amount": 1}"#),
    )
    .await;
    let cancelled_by_auth = send(hyper::Method::DELETE, app.reservation_url(1), auth, None).await;
    let settled_by_auth = send(
        hyper::Method::POST,
        format!("{}/internal/settlements", app.address),
        auth,
        Some(r#"{"order_ids": [1]}"#),
    )
    .await;

    for response in [
        &opened_by_mediator,
        &closed_by_mediator,
        &reserved_by_auth,
        &cancelled_by_auth,
        &settled_by_auth,
    ] {
        assert_error(response, 403);
    }
    // And each caller's own door opens.
    let opened = send(
        hyper::Method::POST,
        format!("{}/api/profiles/", app.address),
        auth,
        Some(&profile),
    )
    .await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    let cancelled = send(
        hyper::Method::DELETE,
        app.reservation_url(1),
        mediator,
        None,
    )
    .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
}
