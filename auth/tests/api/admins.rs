//! Administrators: never made by sign-up; made at start from the settings
//! or by `auth admin create`; their access tokens carry the role.

use std::io::Write;
use std::process::{Command, Stdio};

use auth::AdminAccount;
use common::config::Secret;
use common::domain::Username;
use common::jwt::Role;
use common::testing::unique_name;
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

/// `auth admin create NAME` with `password` on standard input.
fn admin_create(app: &TestApp, name: &str, password: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_auth"))
        .args(["admin", "create", name])
        .env("DATABASE_URL", app.auth_db.settings.url.expose())
        .env("BCRYPT_COST", "4")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running auth admin create");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{password}").expect("writing the password");
    drop(stdin);
    let output = child.wait_with_output().expect("auth admin create");
    let text = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text.into_owned())
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
