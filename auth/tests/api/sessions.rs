//! Refresh tokens rotate, a replayed one revokes its session, logout revokes;
//! a session is one row, a user keeps a bounded number of them, and revoked
//! ones are pruned.

use common::testing::unique_name;
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

async fn logged_in(app: &TestApp, name: &str) -> Value {
    app.sign_up(name, "correct horse").await;
    let login = app.login(name, "correct horse").await;
    assert_eq!(login.status, 200, "{}", login.text);
    login.body
}

#[tokio::test]
async fn refresh_spends_the_token_and_hands_out_the_next() {
    let app = TestApp::spawn().await;
    let name = unique_name("rota");
    let login = logged_in(&app, &name).await;

    let first = app
        .post("/api/token/refresh/", &json!({"refresh": login["refresh"]}))
        .await;

    assert_eq!(first.status, 200, "{}", first.text);
    assert_ne!(first.body["refresh"], login["refresh"]);
    let access = first.body["access"].as_str().expect("access");
    assert_eq!(app.account(&name, access).await.status, 200);
    let second = app
        .post(
            "/api/token/refresh/",
            &json!({"refresh": first.body["refresh"]}),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
}

#[tokio::test]
async fn a_replayed_refresh_token_is_401_and_revokes_its_family() {
    let app = TestApp::spawn().await;
    let name = unique_name("thief");
    let login = logged_in(&app, &name).await;
    let other_session = app.login(&name, "correct horse").await.body;
    let rotated = app
        .post("/api/token/refresh/", &json!({"refresh": login["refresh"]}))
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);

    let replay = app
        .post("/api/token/refresh/", &json!({"refresh": login["refresh"]}))
        .await;

    assert_error(&replay, 401);
    // The token the rotation handed out is of the revoked family now.
    let after = app
        .post(
            "/api/token/refresh/",
            &json!({"refresh": rotated.body["refresh"]}),
        )
        .await;
    assert_error(&after, 401);
    let verify = app
        .post(
            "/api/token/verify/",
            &json!({"token": rotated.body["refresh"]}),
        )
        .await;
    assert_error(&verify, 401);
    // Another login's family is untouched.
    let elsewhere = app
        .post(
            "/api/token/refresh/",
            &json!({"refresh": other_session["refresh"]}),
        )
        .await;
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.text);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token_and_its_family() {
    let app = TestApp::spawn().await;
    let name = unique_name("bye");
    let login = logged_in(&app, &name).await;
    let access = login["access"].as_str().expect("access");
    let refresh = json!({"refresh": login["refresh"]});

    assert_error(&app.post("/api/token/logout/", &refresh).await, 401);
    let other = unique_name("other");
    let others = logged_in(&app, &other).await;
    let others_access = others["access"].as_str().expect("access");
    assert_error(
        &app.post_as(others_access, "/api/token/logout/", &refresh)
            .await,
        403,
    );
    let logout = app.post_as(access, "/api/token/logout/", &refresh).await;

    assert_eq!(logout.status, 204, "{}", logout.text);
    assert_error(&app.post("/api/token/refresh/", &refresh).await, 401);
    let verify = app
        .post("/api/token/verify/", &json!({"token": login["refresh"]}))
        .await;
    assert_error(&verify, 401);
    // The access token stays valid until it expires.
    assert_eq!(app.account(&name, access).await.status, 200);
}

#[tokio::test]
async fn a_session_is_one_row_however_often_it_refreshes() {
    let app = TestApp::spawn().await;
    let name = unique_name("busy");
    let mut refresh = logged_in(&app, &name).await["refresh"].clone();

    for _ in 0..30 {
        let next = app
            .post("/api/token/refresh/", &json!({"refresh": refresh}))
            .await;
        assert_eq!(next.status, 200, "{}", next.text);
        refresh = next.body["refresh"].clone();
    }

    assert_eq!(app.session_rows(&name).await, (1, 1));
}

#[tokio::test]
async fn a_login_past_the_cap_ends_the_oldest_sessions() {
    let app = TestApp::spawn_with(true, |settings| settings.max_sessions = 3).await;
    let name = unique_name("many");
    let first = logged_in(&app, &name).await;
    let mut logins = vec![first];
    for _ in 0..4 {
        logins.push(app.login(&name, "correct horse").await.body);
    }

    assert_eq!(app.session_rows(&name).await.0, 3, "live sessions");
    let refresh = |login: &Value| json!({"refresh": login["refresh"]});
    for oldest in &logins[..2] {
        assert_error(
            &app.post("/api/token/refresh/", &refresh(oldest)).await,
            401,
        );
    }
    for newest in &logins[2..] {
        let kept = app.post("/api/token/refresh/", &refresh(newest)).await;
        assert_eq!(kept.status, 200, "{}", kept.text);
    }
}

#[tokio::test]
async fn revoked_sessions_are_pruned_on_a_timer() {
    let app = TestApp::spawn_with(true, |settings| {
        settings.session_prune_interval = std::time::Duration::from_millis(200);
    })
    .await;
    let name = unique_name("pruned");
    let login = logged_in(&app, &name).await;
    let access = login["access"].as_str().expect("access");
    let _kept = app.login(&name, "correct horse").await;
    let logout = app
        .post_as(
            access,
            "/api/token/logout/",
            &json!({"refresh": login["refresh"]}),
        )
        .await;
    assert_eq!(logout.status, 204, "{}", logout.text);

    let mut rows = app.session_rows(&name).await;
    for _ in 0..100 {
        if rows == (1, 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        rows = app.session_rows(&name).await;
    }
    assert_eq!(
        rows,
        (1, 1),
        "the revoked session is gone, the live one kept"
    );
}
