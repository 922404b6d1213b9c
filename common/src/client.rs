//! The client our services use to call each other's internal endpoints: JSON
//! in and out, the service credential and the caller's `traceparent` on
//! every call, a timeout, and errors that say whether a retry may help.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::Secret;
use crate::http::SERVICE_TOKEN_HEADER;
use crate::telemetry;

/// The largest response body we read from another service.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Calls one service (`name` is for messages) at `base_url`.
#[derive(Clone)]
pub struct ServiceClient {
    name: &'static str,
    base_url: String,
    token: Secret,
    timeout: Duration,
    http: Client<HttpConnector, Full<Bytes>>,
}

/// Why a call did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No answer in time: the effect may or may not have happened.
    #[error("{service} did not answer within {timeout:?}")]
    Timeout {
        service: &'static str,
        timeout: Duration,
    },
    /// No connection could be made: the request was certainly not sent.
    #[error("{service} refused the connection: {detail}")]
    Refused {
        service: &'static str,
        detail: String,
    },
    /// The connection failed while the request was under way.
    #[error("{service} is unreachable: {detail}")]
    Unreachable {
        service: &'static str,
        detail: String,
    },
    /// The service answered with an error status.
    #[error("{service} answered {status}: {body}")]
    Status {
        service: &'static str,
        status: StatusCode,
        body: String,
    },
    /// The service answered 2xx with a body we cannot read.
    #[error("{service} sent an unreadable answer: {detail}")]
    Decode {
        service: &'static str,
        detail: String,
    },
}

impl CallError {
    /// A retry may succeed: no answer, or a 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Timeout { .. }
            | CallError::Refused { .. }
            | CallError::Unreachable { .. } => true,
            CallError::Status { status, .. } => status.is_server_error(),
            CallError::Decode { .. } => false,
        }
    }

    /// The call may have had its effect though no answer came back: only a
    /// refused connection or a 4xx proves it did not.
    pub fn maybe_done(&self) -> bool {
        match self {
            CallError::Refused { .. } => false,
            CallError::Status { status, .. } => !status.is_client_error(),
            CallError::Timeout { .. }
            | CallError::Unreachable { .. }
            | CallError::Decode { .. } => true,
        }
    }

    /// The service that failed.
    pub fn service(&self) -> &'static str {
        match self {
            CallError::Timeout { service, .. }
            | CallError::Refused { service, .. }
            | CallError::Unreachable { service, .. }
            | CallError::Status { service, .. }
            | CallError::Decode { service, .. } => service,
        }
    }
}

impl ServiceClient {
    pub fn new(name: &'static str, base_url: &str, token: Secret, timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        Self {
            name,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            timeout,
            http: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(connector),
        }
    }

    /// Sends `body` (if any) as JSON with `method` to `path`; a 2xx answer is
    /// read as `R`.
    pub async fn call<B, R>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, CallError>
    where
        B: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let bytes = match body {
            Some(body) => serde_json::to_vec(body).map_err(|e| self.decode_error(e))?,
            None => Vec::new(),
        };
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base_url, path))
            .header("content-type", "application/json")
            .header(SERVICE_TOKEN_HEADER, self.token.expose());
        // The callee's span joins the caller's trace.
        if let Some(traceparent) = telemetry::traceparent(&tracing::Span::current()) {
            builder = builder.header("traceparent", traceparent);
        }
        let request =
            builder
                .body(Full::new(Bytes::from(bytes)))
                .map_err(|e| CallError::Refused {
                    service: self.name,
                    detail: format!("bad request: {e}"),
                })?;
        // hyper's own message says only what failed; its causes say why.
        let unreachable = |err: anyhow::Error| CallError::Unreachable {
            service: self.name,
            detail: format!("{err:#}"),
        };
        let exchange = async {
            let response = self.http.request(request).await.map_err(|err| {
                if err.is_connect() {
                    CallError::Refused {
                        service: self.name,
                        detail: format!("{:#}", anyhow::Error::new(err)),
                    }
                } else {
                    unreachable(err.into())
                }
            })?;
            let status = response.status();
            let body = read_limited(response.into_body())
                .await
                .map_err(|err| unreachable(err.into()))?;
            Ok((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| CallError::Timeout {
                service: self.name,
                timeout: self.timeout,
            })??;
        if !status.is_success() {
            return Err(CallError::Status {
                service: self.name,
                status,
                body: String::from_utf8_lossy(&body).chars().take(500).collect(),
            });
        }
        serde_json::from_slice(&body).map_err(|e| self.decode_error(e))
    }

    fn decode_error(&self, err: serde_json::Error) -> CallError {
        CallError::Decode {
            service: self.name,
            detail: err.to_string(),
        }
    }
}

/// The body, cut at `MAX_RESPONSE_BYTES` (and read to its end, so that
/// the connection can serve the next call).
async fn read_limited(mut body: Incoming) -> Result<Vec<u8>, hyper::Error> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(chunk) = frame?.into_data() {
            let room = MAX_RESPONSE_BYTES.saturating_sub(bytes.len());
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
    }
    Ok(bytes)
}
