//! The public API as a user calls it, through the gateway.

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

#[derive(Clone)]
pub struct Api {
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

/// A user the benchmark made: its access token.
#[derive(Clone)]
pub struct User {
    pub token: String,
}

impl Api {
    pub fn new(base: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(512)
                .build(connector),
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<(StatusCode, Value)> {
        self.send_with(method, path, token, None, body).await
    }

    /// `send`, with an `Idempotency-Key` when `key` is given.
    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let request = request.body(Full::new(Bytes::from(serde_json::to_vec(body)?)))?;
        let response = self.http.request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// Signs up, logs in and deposits `deposit`; returns the user.
    pub async fn new_user(&self, name: &str, deposit: u64) -> anyhow::Result<User> {
        let password = "benchmark password";
        let body = json!({"username": name, "password": password, "email": format!("{name}@bench.example")});
        let (status, answer) = self
            .send(Method::POST, "/api/auth/users/", None, &body)
            .await?;
        if status != StatusCode::CREATED {
            bail!("sign-up of {name}: {status} {answer}");
        }
        let body = json!({"username": name, "password": password});
        let (status, answer) = self.send(Method::POST, "/api/token/", None, &body).await?;
        if status != StatusCode::OK {
            bail!("login of {name}: {status} {answer}");
        }
        let token = answer["access"]
            .as_str()
            .context("no access token")?
            .to_owned();
        let (status, answer) = self
            .send(
                Method::POST,
                &format!("/api/accounts/{name}/deposit"),
                Some(&token),
                &json!({ "amount": deposit }),
            )
            .await?;
        if status != StatusCode::OK {
            bail!("deposit for {name}: {status} {answer}");
        }
        Ok(User { token })
    }

    /// Places one order; the new order's id when accepted.
    pub async fn place(&self, user: &User, item: u32, slot: &str) -> anyhow::Result<i64> {
        let body = json!({"amount": 1, "details": {"item": item, "slot": slot}});
        let (status, answer) = self
            .send(Method::POST, "/api/orders/", Some(&user.token), &body)
            .await?;
        if status != StatusCode::CREATED {
            bail!("order: {status} {answer}");
        }
        answer["id"].as_i64().context("no order id")
    }
}
