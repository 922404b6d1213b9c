//! A small JSON HTTP client for tests.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client, Error};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

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
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Default for TestClient {
    fn default() -> Self {
        Self {
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

impl TestClient {
    /// A client whose connections leave from `local` (127.0.0.2, ...: the
    /// whole 127.0.0.0/8 is this machine), as another client would.
    pub fn from_address(local: std::net::IpAddr) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_local_address(Some(local));
        Self {
            http: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Sends `body` as-is with `headers`; panics only when the server is gone.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        self.exchange(method, url, headers, body)
            .await
            .unwrap_or_else(|err| panic!("sending a test request to {url}: {err}"))
    }

    /// `send`, with a connection that fails (refused, reset, cut short)
    /// as an `Err` instead of a panic: for tests that expect servers to go.
    pub async fn exchange(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<TestResponse, String> {
        let mut request = Request::builder().method(method).uri(url);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body.map(Bytes::from).unwrap_or_default()))
            .map_err(|err| format!("building a test request: {err}"))?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|err| format!("{err:?}"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|err| format!("reading the response: {err}"))?
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(TestResponse {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
        })
    }

    /// Sends a bodiless request; the status, or the error when nothing answers.
    pub async fn try_send(&self, method: Method, url: &str) -> Result<StatusCode, Error> {
        let request = Request::builder()
            .method(method)
            .uri(url)
            .body(Full::default())
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
