use billing::Settings;
use common::config::Listen;
use common::http::Caller;
use common::testing::{
    self, tokens, Reservations, TestCallers, TestClient, TestDatabase, TestKeys, TestResponse,
};
use hyper::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// A billing server on a free port with a database of its own.
pub struct TestApp {
    pub address: String,
    pub db: TestDatabase,
    pub keys: TestKeys,
    pub callers: TestCallers,
    pub client: TestClient,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with_ceiling(Decimal::from(10_000_000)).await
    }

    /// With `WALLET_CEILING` at `ceiling`.
    pub async fn spawn_with_ceiling(ceiling: Decimal) -> Self {
        testing::init_logs();
        let db = TestDatabase::create("billing", billing::migrations).await;
        let keys = TestKeys::generate();
        let callers = testing::callers();
        let settings = Settings {
            listen: Listen::ephemeral(),
            database: db.settings.clone(),
            verifier: keys.verifier(),
            callers: callers.digests(),
            initial_wallet: Decimal::from(100),
            wallet_ceiling: ceiling,
        };
        let server = billing::build(settings, std::future::pending())
            .await
            .expect("starting billing");
        tokio::spawn(server.run);
        Self {
            address: format!("http://{}", server.addr),
            db,
            keys,
            callers,
            client: TestClient::default(),
        }
    }

    /// What auth presents, for the profile endpoints.
    pub fn auth_credential(&self) -> &str {
        self.callers.credential(Caller::Auth).expose()
    }

    /// What the mediator presents, for reservations and settlements.
    pub fn mediator_credential(&self) -> &str {
        self.callers.credential(Caller::Mediator).expose()
    }

    pub fn token_for(&self, username: &str) -> String {
        tokens::access(&self.keys, username)
    }

    /// Opens an account as auth does, and returns its owner's token.
    pub async fn user(&self, username: &str) -> String {
        let response = self.open_account(username, self.auth_credential()).await;
        assert_eq!(response.status, 201, "{}", response.text);
        self.token_for(username)
    }

    pub async fn open_account(&self, username: &str, credential: &str) -> TestResponse {
        let body =
            json!({"username": username, "email": format!("{username}@example.com"), "user_id": 1});
        self.client
            .json(
                Method::POST,
                &format!("{}/api/profiles/", self.address),
                &[("x-service-token", credential)],
                &body,
            )
            .await
    }

    pub async fn get_account(&self, username: &str, token: Option<&str>) -> TestResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.client
            .send(
                Method::GET,
                &format!("{}/api/accounts/{username}", self.address),
                &headers,
                None,
            )
            .await
    }

    pub async fn deposit_raw(&self, username: &str, token: &str, body: Vec<u8>) -> TestResponse {
        let auth = format!("Bearer {token}");
        self.client
            .send(
                Method::POST,
                &format!("{}/api/accounts/{username}/deposit", self.address),
                &[("authorization", &auth)],
                Some(body),
            )
            .await
    }

    pub async fn deposit(&self, username: &str, token: &str, amount: Value) -> TestResponse {
        let body = serde_json::to_vec(&json!({ "amount": amount })).expect("json");
        self.deposit_raw(username, token, body).await
    }

    /// A deposit with an `Idempotency-Key`.
    pub async fn deposit_once(
        &self,
        username: &str,
        token: &str,
        key: &str,
        amount: Value,
    ) -> TestResponse {
        let auth = format!("Bearer {token}");
        self.client
            .json(
                Method::POST,
                &format!("{}/api/accounts/{username}/deposit", self.address),
                &[("authorization", &auth), ("idempotency-key", key)],
                &json!({ "amount": amount }),
            )
            .await
    }

    pub async fn wallet(&self, username: &str) -> Value {
        let response = self
            .get_account(username, Some(&self.token_for(username)))
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.body["wallet"].clone()
    }

    pub fn reservations(&self) -> Reservations {
        Reservations::new(&self.address, self.callers.credential(Caller::Mediator))
    }

    pub fn reservation_url(&self, order_id: i64) -> String {
        self.reservations().url(order_id)
    }
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
