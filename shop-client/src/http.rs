//! The connection and one exchange.

use std::net::IpAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The shop at one base URL.
#[derive(Clone)]
pub struct Shop {
    base: String,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// What a call got back: any status, the body as JSON (`Null` when it is
/// none) and as text.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

/// What goes with a request besides its method and path.
#[derive(Default)]
pub struct Call<'a> {
    /// Sent as `Authorization: Bearer`.
    pub token: Option<&'a str>,
    /// Sent as `Idempotency-Key`.
    pub key: Option<&'a str>,
    /// Sent as `application/json`.
    pub json: Option<&'a Value>,
    /// Sent as they are, after the others.
    pub headers: &'a [(&'a str, &'a str)],
    /// Sent as they are instead of `json`: any bytes a client might send.
    pub raw: Option<Vec<u8>>,
}

impl<'a> Call<'a> {
    /// A JSON body, and nothing else.
    pub fn with_json(json: &'a Value) -> Self {
        Self {
            json: Some(json),
            ..Self::default()
        }
    }

    /// A bearer token, and nothing else.
    pub fn with_token(token: &'a str) -> Self {
        Self {
            token: Some(token),
            ..Self::default()
        }
    }
}

impl Answer {
    /// Whether the answer says it is JSON (`application/json`, any parameters).
    pub fn is_json(&self) -> bool {
        self.headers
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    /// Nothing answered: refused, reset, timed out, or not a usable URL.
    #[error("cannot reach {url}: {cause}")]
    Unreachable { url: String, cause: String },
    /// The API answered with an error.
    #[error("{} {url}: {error}", status.as_u16())]
    Refused {
        url: String,
        status: StatusCode,
        error: String,
    },
    /// The API answered what this client cannot read.
    #[error("{url} answered {detail}")]
    Unexpected { url: String, detail: String },
}

impl ShopError {
    /// The status of a refusal.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ShopError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl Shop {
    /// The shop at `base` (`http://127.0.0.1:8080`, `https://shop.example`).
    pub fn new(base: &str) -> Result<Self, ShopError> {
        Self::with_connector(base, HttpConnector::new())
    }

    /// The shop at `base`, with connections that leave from `local`
    /// (127.0.0.2, ...: the whole 127.0.0.0/8 is this machine), as another
    /// client would.
    pub fn from_address(base: &str, local: IpAddr) -> Result<Self, ShopError> {
        let mut connector = HttpConnector::new();
        connector.set_local_address(Some(local));
        Self::with_connector(base, connector)
    }

    fn with_connector(base: &str, mut connector: HttpConnector) -> Result<Self, ShopError> {
        connector.set_nodelay(true);
        connector.enforce_http(false);
        // The system's trusted certificates: an operator's private CA for
        // the admin ingress is trusted as the rest of the machine trusts it.
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|err| ShopError::Unreachable {
                url: base.to_owned(),
                cause: format!("loading the system's trusted certificates: {err}"),
            })?
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// One request, whatever it is answered.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        call: Call<'_>,
    ) -> Result<Answer, ShopError> {
        let url = format!("{}{path}", self.base);
        let unreachable = |cause: String| ShopError::Unreachable {
            url: url.clone(),
            cause,
        };
        let mut request = Request::builder().method(method).uri(&url);
        if let Some(token) = call.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(key) = call.key {
            request = request.header("idempotency-key", key);
        }
        let body = match (call.raw, call.json) {
            (Some(raw), _) => Bytes::from(raw),
            (None, Some(json)) => {
                request = request.header("content-type", "application/json");
                Bytes::from(json.to_string())
            }
            (None, None) => Bytes::new(),
        };
        for (name, value) in call.headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|err| unreachable(format!("not a usable request: {err}")))?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|err| unreachable(causes(&err)))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|err| unreachable(format!("reading the answer: {err}")))?
            .to_bytes();
        Ok(Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// One request that must succeed: its JSON answer, or the API's error.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        call: Call<'_>,
    ) -> Result<Value, ShopError> {
        let answer = self.call(method, path, call).await?;
        if !answer.status.is_success() {
            return Err(ShopError::Refused {
                url: format!("{}{path}", self.base),
                status: answer.status,
                error: answer.body["error"]
                    .as_str()
                    .unwrap_or("no error message")
                    .to_owned(),
            });
        }
        Ok(answer.body)
    }

    /// `expect`, read as a `T`.
    pub(crate) async fn expect_as<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        call: Call<'_>,
    ) -> Result<T, ShopError> {
        let body = self.expect(method, path, call).await?;
        serde_json::from_value(body).map_err(|err| ShopError::Unexpected {
            url: format!("{}{path}", self.base),
            detail: err.to_string(),
        })
    }
}

/// An error and its causes, outermost first: `client error (Connect): tcp
/// connect error: Connection refused (os error 111)`.
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text = format!("{text}: {inner}");
        cause = inner.source();
    }
    text
}
