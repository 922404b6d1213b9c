use std::sync::Arc;
use std::time::Duration;

use auth::Settings;
use common::config::Listen;
use common::http::{Caller, TrustedProxies};
use common::jwt::{Role, TokenKind};
use common::testing::{self, TestCallers, TestClient, TestDatabase, TestKeys, TestResponse};
use hyper::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// auth and the billing it opens wallets in, each on a free port with a
/// database of its own.
pub struct TestApp {
    pub auth: String,
    pub billing: String,
    pub auth_db: TestDatabase,
    pub keys: TestKeys,
    pub client: TestClient,
    pub billing_db: Option<TestDatabase>,
    callers: TestCallers,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with_billing(true).await
    }

    /// With `billing_up` false, auth points at a port where nothing listens.
    pub async fn spawn_with_billing(billing_up: bool) -> Self {
        Self::spawn_with(billing_up, |_| {}).await
    }

    /// As `spawn_with_billing`, with settings changed by `configure`.
    pub async fn spawn_with(billing_up: bool, configure: impl FnOnce(&mut Settings)) -> Self {
        testing::init_logs();
        let keys = TestKeys::generate();
        let callers = testing::callers();
        let (billing, billing_db) = if billing_up {
            let (address, db) = spawn_billing(&keys, &callers).await;
            (address, Some(db))
        } else {
            ("http://127.0.0.1:9".to_owned(), None)
        };
        let auth_db = TestDatabase::create("auth", auth::migrations).await;
        let mut settings = settings(&keys, &callers, &auth_db, &billing);
        configure(&mut settings);
        settings.validate().expect("test settings are valid");
        let server = auth::build(settings, std::future::pending())
            .await
            .expect("starting auth");
        tokio::spawn(server.run);
        Self {
            auth: format!("http://{}", server.addr),
            billing,
            auth_db,
            keys,
            client: TestClient::default(),
            billing_db,
            callers,
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> TestResponse {
        self.client
            .json(Method::POST, &format!("{}{path}", self.auth), &[], body)
            .await
    }

    pub async fn post_raw(&self, path: &str, body: &[u8]) -> TestResponse {
        self.client
            .send(
                Method::POST,
                &format!("{}{path}", self.auth),
                &[],
                Some(body.to_vec()),
            )
            .await
    }

    pub async fn sign_up(&self, username: &str, password: &str) -> TestResponse {
        let body = json!({"username": username, "password": password, "email": format!("{username}@example.com")});
        self.post("/api/auth/users/", &body).await
    }

    pub async fn login(&self, username: &str, password: &str) -> TestResponse {
        self.post(
            "/api/token/",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// A login that arrives through a proxy for the client at `address`.
    pub async fn login_from(&self, address: &str, username: &str, password: &str) -> TestResponse {
        self.client
            .json(
                Method::POST,
                &format!("{}/api/token/", self.auth),
                &[("x-forwarded-for", &format!("203.0.113.250, {address}"))],
                &json!({"username": username, "password": password}),
            )
            .await
    }

    /// POST with a bearer token.
    pub async fn post_as(&self, access: &str, path: &str, body: &Value) -> TestResponse {
        let auth = format!("Bearer {access}");
        self.client
            .json(
                Method::POST,
                &format!("{}{path}", self.auth),
                &[("authorization", &auth)],
                body,
            )
            .await
    }

    /// Signs up and logs in; returns the access token.
    pub async fn user(&self, username: &str) -> String {
        let signed_up = self.sign_up(username, "correct horse").await;
        assert_eq!(signed_up.status, 201, "{}", signed_up.text);
        let login = self.login(username, "correct horse").await;
        assert_eq!(login.status, 200, "{}", login.text);
        login.body["access"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    pub async fn account(&self, username: &str, access: &str) -> TestResponse {
        let auth = format!("Bearer {access}");
        self.client
            .send(
                Method::GET,
                &format!("{}/api/accounts/{username}", self.billing),
                &[("authorization", &auth)],
                None,
            )
            .await
    }

    /// Settings for another auth on this app's database and billing.
    pub fn settings(&self) -> Settings {
        settings(&self.keys, &self.callers, &self.auth_db, &self.billing)
    }

    /// The role an access or refresh answer's access token carries.
    pub fn role_in(&self, answer: &TestResponse) -> Role {
        let access = answer.body["access"].as_str().expect("an access token");
        let claims = self.keys.verifier().verify(access, TokenKind::Access);
        claims.expect("a valid access token").role
    }

    /// `username`'s stored session rows: (live, all).
    pub async fn session_rows(&self, username: &str) -> (i64, i64) {
        let db = self.auth_db.client().await;
        let row = db
            .query_one(
                "SELECT count(*) FILTER (WHERE r.state = 'live'), count(*)
                 FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE u.username = $1",
                &[&username],
            )
            .await
            .expect("count");
        (row.get(0), row.get(1))
    }

    /// Login attempts recorded for `username` (each one reached bcrypt).
    pub async fn attempts_recorded(&self, username: &str) -> i64 {
        let db = self.auth_db.client().await;
        db.query_one(
            "SELECT count(*) FROM login_failures WHERE username = $1",
            &[&username],
        )
        .await
        .expect("count")
        .get(0)
    }

    /// A login straight from `local` (no proxy), claiming `forwarded` in
    /// `X-Forwarded-For`.
    pub async fn login_direct(
        &self,
        local: &str,
        forwarded: &str,
        username: &str,
        password: &str,
    ) -> TestResponse {
        TestClient::from_address(local.parse().expect("an address"))
            .json(
                Method::POST,
                &format!("{}/api/token/", self.auth),
                &[("x-forwarded-for", forwarded)],
                &json!({"username": username, "password": password}),
            )
            .await
    }

    pub async fn user_count(&self, username: &str) -> i64 {
        let db = self.auth_db.client().await;
        db.query_one(
            "SELECT count(*) FROM users WHERE username = $1",
            &[&username],
        )
        .await
        .expect("count")
        .get(0)
    }
}

fn settings(
    keys: &TestKeys,
    callers: &TestCallers,
    auth_db: &TestDatabase,
    billing: &str,
) -> Settings {
    Settings {
        listen: Listen::ephemeral(),
        database: auth_db.settings.clone(),
        issuer: keys.issuer(),
        verifier: keys.verifier(),
        billing_url: billing.to_owned(),
        billing_timeout: Duration::from_secs(3),
        service_token: callers.credential(Caller::Auth).clone(),
        bcrypt_cost: 4,
        access_ttl: Duration::from_secs(300),
        refresh_ttl: Duration::from_secs(3600),
        max_sessions: 10,
        session_prune_interval: Duration::from_secs(300),
        login_limits: auth::LoginLimits {
            per_username: 10,
            per_address: 100,
            slowdown_after: 50,
            window: Duration::from_secs(60),
            checks_in_flight: 4,
        },
        trusted_proxies: TrustedProxies::parse(TrustedProxies::DEFAULT).expect("the default"),
        admin: None,
    }
}

async fn spawn_billing(keys: &TestKeys, callers: &TestCallers) -> (String, TestDatabase) {
    let db = TestDatabase::create("billing", billing::migrations).await;
    let settings = billing::Settings {
        listen: Listen::ephemeral(),
        database: db.settings.clone(),
        verifier: Arc::clone(&keys.verifier()),
        callers: callers.digests(),
        initial_wallet: Decimal::from(100),
        wallet_ceiling: Decimal::from(10_000_000),
    };
    let server = billing::build(settings, std::future::pending())
        .await
        .expect("starting billing");
    tokio::spawn(server.run);
    (format!("http://{}", server.addr), db)
}

/// Asserts a JSON error with this status.
pub fn assert_error(response: &TestResponse, status: u16) {
    assert_eq!(response.status.as_u16(), status, "{}", response.text);
    assert!(
        response.body["error"].is_string(),
        "expected a JSON error, got {}",
        response.text
    );
}
