//! The tests' HTTP client: shop-client's one exchange, addressed by whole
//! URLs (a service started on any port), sending any bytes and reading any
//! answer.

use hyper::{Method, StatusCode};
use serde_json::Value;
use shop_client::{Call, Shop, ShopError};

/// What a test request got back: status, headers, the body as JSON and as text.
pub use shop_client::Answer as TestResponse;

/// A JSON HTTP client for tests: sends any body, reads any answer.
#[derive(Clone)]
pub struct TestClient {
    /// At no base URL: every path it is given is a whole URL.
    shop: Shop,
}

impl Default for TestClient {
    fn default() -> Self {
        Self {
            shop: Shop::new("").expect("a test client"),
        }
    }
}

impl TestClient {
    /// A client whose connections leave from `local` (127.0.0.2, ...: the
    /// whole 127.0.0.0/8 is this machine), as another client would.
    pub fn from_address(local: std::net::IpAddr) -> Self {
        Self {
            shop: Shop::from_address("", local).expect("a test client"),
        }
    }

    /// Sends `body` as-is (as JSON's content type) with `headers`; panics
    /// only when the server is gone.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        self.exchange(method, url, headers, body)
            .await
            .unwrap_or_else(|err| panic!("sending a test request: {err}"))
    }

    /// `send`, with a connection that fails (refused, reset, cut short)
    /// as an `Err` instead of a panic: for tests that expect servers to go.
    pub async fn exchange(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<TestResponse, ShopError> {
        let mut sent = Vec::with_capacity(headers.len() + 1);
        if body.is_some() {
            sent.push(("content-type", "application/json"));
        }
        sent.extend_from_slice(headers);
        let call = Call {
            headers: &sent,
            raw: body,
            ..Call::default()
        };
        self.shop.call(method, url, call).await
    }

    /// Sends a bodiless request; the status, or the error when nothing answers.
    pub async fn try_send(&self, method: Method, url: &str) -> Result<StatusCode, ShopError> {
        Ok(self.shop.call(method, url, Call::default()).await?.status)
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
