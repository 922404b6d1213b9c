//! Administrators: never made by sign-up; made at start from the settings
//! or by `auth admin create`; their access tokens carry the role.

use std::io::Write;
use std::process::{Command, Stdio};

use auth::AdminAccount;
use common::config::Secret;
use common::domain::Username;
use common::jwt::Role;
use common::testing::{unique_name, TestResponse};
use serde_json::json;

use crate::helpers::TestApp;

fn account(name: &str, password: &str) -> AdminAccount {
    AdminAccount {
        username: Username::parse(name).expect("a username"),
        password: Secret::new(password),
    }
}

#[tokio::test]
async fn sign_up_makes_a_customer() {
    let app = TestApp::spawn().await;
    let name = unique_name("cust");
    app.sign_up(&name, "correct horse").await;

    let login = app.login(&name, "correct horse").await;

    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(app.role_in(&login), Role::Customer);
}

#[tokio::test]
async fn the_configured_administrator_logs_in_as_one_and_its_name_cannot_be_signed_up() {
    let name = unique_name("boss");
    let admin = account(&name, "a long admin password");
    let app = TestApp::spawn_with(true, |s| s.admin = Some(admin)).await;

    let login = app.login(&name, "a long admin password").await;
    let sign_up = app.sign_up(&name, "correct horse").await;

    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(app.role_in(&login), Role::Admin);
    assert_eq!(sign_up.status, 409, "{}", sign_up.text);
}

#[tokio::test]
async fn a_customers_name_is_never_made_an_administrator() {
    let app = TestApp::spawn().await;
    let name = unique_name("mallory");
    app.sign_up(&name, "correct horse").await;
    let mut settings = app.settings();
    settings.admin = Some(account(&name, "a long admin password"));

    let Err(err) = auth::build(settings, std::future::pending()).await else {
        panic!("auth started with a customer's name as the administrator's");
    };

    assert!(
        format!("{err:#}").contains("a customer's username"),
        "{err:#}"
    );
    let login = app.login(&name, "correct horse").await;
    assert_eq!(app.role_in(&login), Role::Customer);
}

#[tokio::test]
async fn a_refresh_reads_the_role_afresh() {
    let name = unique_name("demoted");
    let admin = account(&name, "a long admin password");
    let app = TestApp::spawn_with(true, |s| s.admin = Some(admin)).await;
    let login = app.login(&name, "a long admin password").await;
    let db = app.auth_db.client().await;
    db.execute(
        "UPDATE users SET role = 'customer' WHERE username = $1",
        &[&name],
    )
    .await
    .expect("demoting");

    let refreshed = app
        .post(
            "/api/token/refresh/",
            &json!({"refresh": login.body["refresh"]}),
        )
        .await;

    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(app.role_in(&refreshed), Role::Customer);
}

/// `auth admin ARGS...` on the app's database, `stdin` on standard input:
/// whether it succeeded, and what it printed.
fn auth_admin(app: &TestApp, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_auth"))
        .arg("admin")
        .args(args)
        .env("DATABASE_URL", app.auth_db.settings.url.expose())
        .env("BCRYPT_COST", "4")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running auth admin");
    let mut input = child.stdin.take().expect("stdin");
    write!(input, "{stdin}").expect("writing standard input");
    drop(input);
    let output = child.wait_with_output().expect("auth admin");
    let text = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text.into_owned())
}

/// `auth admin create NAME` with `password` on standard input.
fn admin_create(app: &TestApp, name: &str, password: &str) -> (bool, String) {
    auth_admin(app, &["create", name], &format!("{password}\n"))
}

/// Refreshes with the refresh token of `login`; the status.
async fn refresh_status(app: &TestApp, login: &TestResponse) -> u16 {
    let refreshed = app
        .post(
            "/api/token/refresh/",
            &json!({"refresh": login.body["refresh"]}),
        )
        .await;
    refreshed.status.as_u16()
}

#[tokio::test]
async fn a_new_admin_password_ends_its_sessions_and_the_same_one_keeps_them() {
    let name = unique_name("rotated");
    let app = TestApp::spawn_with(true, |s| {
        s.admin = Some(account(&name, "first admin password"))
    })
    .await;
    let before = app.login(&name, "first admin password").await;
    assert_eq!(before.status, 200, "{}", before.text);

    // auth restarted with the same password: nobody is signed out.
    let mut same = app.settings();
    same.admin = Some(account(&name, "first admin password"));
    drop(
        auth::build(same, std::future::pending())
            .await
            .expect("restarting auth"),
    );
    let kept = app.login(&name, "first admin password").await;
    assert_eq!(refresh_status(&app, &kept).await, 200);

    // Started with a new password (a rotated Secret): old sessions end.
    let mut rotated = app.settings();
    rotated.admin = Some(account(&name, "second admin password"));
    drop(
        auth::build(rotated, std::future::pending())
            .await
            .expect("restarting auth"),
    );
    assert_eq!(refresh_status(&app, &before).await, 401);

    // And again by hand.
    let fresh = app.login(&name, "second admin password").await;
    let (set, said) = admin_create(&app, &name, "third admin password");
    assert!(set && said.contains("ended its sessions"), "{said}");
    assert_eq!(refresh_status(&app, &fresh).await, 401);
    assert_eq!(app.login(&name, "third admin password").await.status, 200);
}

#[tokio::test]
async fn admin_revoke_ends_a_users_sessions() {
    let app = TestApp::spawn().await;
    let name = unique_name("stolen");
    app.sign_up(&name, "correct horse").await;
    let first = app.login(&name, "correct horse").await;
    let second = app.login(&name, "correct horse").await;

    let (ok, said) = auth_admin(&app, &["revoke", &name], "");
    let (unknown, about_nobody) = auth_admin(&app, &["revoke", "nobody_here"], "");

    assert!(ok && said.contains("2 refresh tokens revoked"), "{said}");
    assert_eq!(refresh_status(&app, &first).await, 401);
    assert_eq!(refresh_status(&app, &second).await, 401);
    assert!(
        !unknown && about_nobody.contains("no user"),
        "{about_nobody}"
    );
    let again = app.login(&name, "correct horse").await;
    assert_eq!(refresh_status(&app, &again).await, 200, "a new login works");
}

#[tokio::test]
async fn admin_demote_makes_an_administrator_a_customer_and_ends_its_sessions() {
    let name = unique_name("former");
    let app = TestApp::spawn_with(true, |s| {
        s.admin = Some(account(&name, "a long admin password"))
    })
    .await;
    let login = app.login(&name, "a long admin password").await;
    let customer = unique_name("dora");
    app.sign_up(&customer, "correct horse").await;

    let (ok, said) = auth_admin(&app, &["demote", &name], "");
    let (refused, why) = auth_admin(&app, &["demote", &customer], "");

    assert!(ok && said.contains("is a customer now"), "{said}");
    assert_eq!(refresh_status(&app, &login).await, 401);
    let after = app.login(&name, "a long admin password").await;
    assert_eq!(app.role_in(&after), Role::Customer);
    assert!(!refused && why.contains("not an administrator"), "{why}");
    let (bad, usage) = auth_admin(&app, &["promote", &customer], "");
    assert!(!bad && usage.contains("usage"), "{usage}");
}

#[tokio::test]
async fn admin_create_makes_an_administrator_sets_its_password_and_refuses_a_customers_name() {
    let app = TestApp::spawn().await;
    let name = unique_name("ops");
    let customer = unique_name("carol");
    app.sign_up(&customer, "correct horse").await;

    let created = admin_create(&app, &name, "first admin password");
    let changed = admin_create(&app, &name, "second admin password");
    let refused = admin_create(&app, &customer, "an admin password");

    assert_eq!(
        created,
        (true, format!("created the administrator {name}\n"))
    );
    assert!(
        changed.0 && changed.1.contains("set the password"),
        "{changed:?}"
    );
    assert!(
        !refused.0 && refused.1.contains("a customer's username"),
        "{refused:?}"
    );
    assert_eq!(app.login(&name, "first admin password").await.status, 401);
    let login = app.login(&name, "second admin password").await;
    assert_eq!(app.role_in(&login), Role::Admin);
    let still = app.login(&customer, "correct horse").await;
    assert_eq!(app.role_in(&still), Role::Customer);
}
