//! Test support (feature `testing`): a fresh database per test cloned from a
//! migrated template, generated JWT keys, a random service credential, and a
//! small JSON HTTP client. Tests find PostgreSQL through `TEST_DATABASE_URL`
//! (an admin connection, default the local stack's) and log only when
//! `TEST_LOG=1`.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use hyper::body::HttpBody;
use hyper::{Body, Method, Request, StatusCode};
use rand::RngCore;
use serde_json::Value;
use tokio_postgres::NoTls;

use crate::config::Secret;
use crate::db::DatabaseSettings;
use crate::jwt::{TokenIssuer, TokenVerifier};

/// The admin connection string tests use.
pub fn admin_url() -> String {
    crate::config::string(
        "TEST_DATABASE_URL",
        "postgres://postgres@127.0.0.1:55432/postgres",
    )
}

/// Logs to stdout when `TEST_LOG` is set.
pub fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        crate::telemetry::init("test");
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A database of its own for one test; dropped with it.
pub struct TestDatabase {
    pub settings: DatabaseSettings,
    name: String,
}

impl TestDatabase {
    /// Clones a new database from the template that `migrations` built
    /// (built once per set of migrations, shared by every test binary).
    pub async fn create(service: &str, migrations: fn() -> refinery::Runner) -> Self {
        let template = ensure_template(service, migrations).await;
        let name = format!("test_{service}_{}", random_hex(6));
        let admin = connect(&admin_url()).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("creating the test database");
        let url = swap_database(&admin_url(), &name);
        Self {
            settings: DatabaseSettings {
                url: Secret::new(url),
                pool_size: 16,
            },
            name,
        }
    }

    /// A direct connection, for arranging and inspecting state.
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(self.settings.url.expose()).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::env::var_os("TEST_KEEP_DB").is_some() {
            return;
        }
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot block on itself.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok((client, conn)) = tokio_postgres::connect(&admin_url(), NoTls).await {
                        tokio::spawn(conn);
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = client.batch_execute(&sql).await;
                    }
                });
            }
        })
        .join();
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at {url} (is `scripts/stack up --infra` running?): {e}"));
    tokio::spawn(conn);
    client
}

fn swap_database(url: &str, database: &str) -> String {
    let base = url.rsplit_once('/').map(|(base, _)| base).unwrap_or(url);
    format!("{base}/{database}")
}

/// The template for these migrations, built under an advisory lock so that
/// test binaries running at once build it only once.
async fn ensure_template(service: &str, migrations: fn() -> refinery::Runner) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for migration in migrations().get_migrations() {
        migration.checksum().hash(&mut hasher);
    }
    let template = format!("tmpl_{service}_{:016x}", hasher.finish());
    let admin = connect(&admin_url()).await;
    admin
        .execute("SELECT pg_advisory_lock(7357)", &[])
        .await
        .expect("taking the template lock");
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .expect("looking for the template")
        .is_some();
    if !exists {
        let building = format!("{template}_building");
        for sql in [
            format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
            format!("CREATE DATABASE {building}"),
        ] {
            admin
                .batch_execute(&sql)
                .await
                .expect("creating the template database");
        }
        {
            let mut client = connect(&swap_database(&admin_url(), &building)).await;
            migrations()
                .run_async(&mut client)
                .await
                .expect("migrating the template database");
        }
        // Renaming waits for the migration connection to go away.
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                &[&building],
            )
            .await
            .expect("closing the template's connections");
        admin
            .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .await
            .expect("publishing the template database");
    }
    admin
        .execute("SELECT pg_advisory_unlock(7357)", &[])
        .await
        .expect("releasing the template lock");
    template
}

/// A fresh Ed25519 key pair for signing and verifying tokens.
pub struct TestKeys {
    pub private_pem: String,
    pub public_pem: String,
}

impl TestKeys {
    pub fn generate() -> Self {
        let signing = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let private_pem = signing
            .to_pkcs8_pem(LineEnding::LF)
            .expect("encoding the private key")
            .to_string();
        let public_pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("encoding the public key");
        Self {
            private_pem,
            public_pem,
        }
    }

    pub fn issuer(&self) -> TokenIssuer {
        TokenIssuer::from_pem(self.private_pem.as_bytes()).expect("test private key")
    }

    pub fn verifier(&self) -> Arc<TokenVerifier> {
        Arc::new(TokenVerifier::from_pem(self.public_pem.as_bytes()).expect("test public key"))
    }
}

/// A random service credential.
pub fn service_token() -> Secret {
    Secret::new(random_hex(32))
}

/// A random name that fits every username rule.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", random_hex(5))
}

/// What a test request got back.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Value,
    pub text: String,
}

/// A JSON HTTP client for tests: sends any body, reads any answer.
#[derive(Clone)]
pub struct TestClient {
    http: hyper::Client<hyper::client::HttpConnector>,
}

impl Default for TestClient {
    fn default() -> Self {
        Self {
            http: hyper::Client::new(),
        }
    }
}

impl TestClient {
    /// Sends `body` as-is with `headers`; panics only when the server is gone.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(url);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("building a test request");
        let response = self
            .http
            .request(request)
            .await
            .expect("sending a test request");
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.data().await {
            bytes.extend_from_slice(&chunk.expect("reading a test response"));
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        TestResponse {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
        }
    }

    /// Sends a bodiless request; the status, or the error when nothing answers.
    pub async fn try_send(&self, method: Method, url: &str) -> Result<StatusCode, hyper::Error> {
        let request = Request::builder()
            .method(method)
            .uri(url)
            .body(Body::empty())
            .expect("building a test request");
        Ok(self.http.request(request).await?.status())
    }

    /// Sends a JSON value.
    pub async fn json(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> TestResponse {
        let bytes = serde_json::to_vec(body).expect("serializing a test body");
        self.send(method, url, headers, Some(bytes)).await
    }
}

/// Tokens for the authorization tests: one good kind, and the kinds a server must refuse.
pub mod tokens {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use std::time::Duration;

    use super::TestKeys;
    use crate::jwt::{unix_now, Claims, TokenKind};

    /// Correctly signed, but expired two minutes ago.
    pub fn expired(keys: &TestKeys, username: &str) -> String {
        let mut claims = Claims::new(username, 1, TokenKind::Access, Duration::ZERO);
        claims.iat = unix_now() - 600;
        claims.exp = unix_now() - 120;
        keys.issuer().sign(&claims).expect("signing")
    }

    /// Unsigned, with `"alg": "none"`.
    pub fn alg_none(username: &str) -> String {
        let claims = Claims::new(username, 1, TokenKind::Access, Duration::from_secs(600));
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims"));
        format!("{header}.{payload}.")
    }

    /// A valid token whose payload was changed to claim another user.
    pub fn tampered(keys: &TestKeys, username: &str, other: &str) -> String {
        let claims = Claims::new(username, 1, TokenKind::Access, Duration::from_secs(600));
        let token = keys.issuer().sign(&claims).expect("signing");
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let forged = Claims {
            sub: other.to_owned(),
            ..claims
        };
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("claims"));
        parts.join(".")
    }

    /// Well formed and unexpired, but signed by a key the server does not trust.
    pub fn foreign(username: &str) -> String {
        let claims = Claims::new(username, 1, TokenKind::Access, Duration::from_secs(600));
        TestKeys::generate()
            .issuer()
            .sign(&claims)
            .expect("signing")
    }

    /// A valid refresh token, which must not pass as an access token.
    pub fn refresh(keys: &TestKeys, username: &str) -> String {
        let claims = Claims::new(username, 1, TokenKind::Refresh, Duration::from_secs(600));
        keys.issuer().sign(&claims).expect("signing")
    }

    /// A valid access token.
    pub fn access(keys: &TestKeys, username: &str) -> String {
        let claims = Claims::new(username, 1, TokenKind::Access, Duration::from_secs(600));
        keys.issuer().sign(&claims).expect("signing")
    }
}

/// Calls a service's internal reservation endpoints as the mediator does.
#[derive(Clone)]
pub struct Reservations {
    client: TestClient,
    address: String,
    token: Secret,
}

impl Reservations {
    pub fn new(address: &str, token: &Secret) -> Self {
        Self {
            client: TestClient::default(),
            address: address.to_owned(),
            token: token.clone(),
        }
    }

    pub fn url(&self, order_id: i64) -> String {
        format!("{}/internal/reservations/{order_id}", self.address)
    }

    pub async fn reserve(&self, order_id: i64, body: &Value) -> TestResponse {
        let headers = [("x-service-token", self.token.expose())];
        self.client
            .json(Method::PUT, &self.url(order_id), &headers, body)
            .await
    }

    pub async fn cancel(&self, order_id: i64) -> TestResponse {
        let headers = [("x-service-token", self.token.expose())];
        self.client
            .send(Method::DELETE, &self.url(order_id), &headers, None)
            .await
    }

    /// The outcome of a reserve that must answer 200.
    pub async fn reserve_outcome(&self, order_id: i64, body: &Value) -> String {
        outcome(self.reserve(order_id, body).await)
    }

    /// The outcome of a cancel that must answer 200.
    pub async fn cancel_outcome(&self, order_id: i64) -> String {
        outcome(self.cancel(order_id).await)
    }

    /// Fires one reserve per order id all at once (released together by a
    /// barrier) and returns how many were granted.
    pub async fn reserve_concurrently(&self, order_ids: Vec<i64>, body: &Value) -> usize {
        let barrier = Arc::new(tokio::sync::Barrier::new(order_ids.len()));
        let calls = order_ids.into_iter().map(|order_id| {
            let (this, body, barrier) = (self.clone(), body.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                this.reserve_outcome(order_id, &body).await
            })
        });
        let outcomes = futures::future::join_all(calls).await;
        outcomes
            .into_iter()
            .map(|o| o.expect("a reserve task panicked"))
            .filter(|o| o == "granted")
            .count()
    }
}

fn outcome(response: TestResponse) -> String {
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["outcome"]
        .as_str()
        .unwrap_or_else(|| panic!("no outcome in {}", response.text))
        .to_owned()
}
