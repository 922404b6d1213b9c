//! The running local stack as its clients see it: through the gateway, or
//! straight to a service's port, each request from a loopback address of
//! the test's choosing (the whole 127.0.0.0/8 is this machine), so that
//! per-address behaviour is tested with real addresses. Nothing here starts
//! a process: `scripts/stack up` has, and these tests fail when it has not.
//!
//! `SHOP_URL` (default `http://127.0.0.1:8080`, the gateway), and each
//! service's own port: `AUTH_URL` (default `http://127.0.0.1:8001`),
//! `BILLING_URL` (8002) and `ORDERS_URL` (order-api, 8003).

use std::net::IpAddr;

use common::testing::{TestClient, TestResponse};
use hyper::Method;
use serde_json::{json, Value};
use shop_client::Shop;

pub struct LocalStack {
    pub gateway: String,
    pub auth: String,
    pub billing: String,
    pub orders: String,
}

impl LocalStack {
    pub fn from_env() -> Self {
        let url = |var, default: &str| {
            std::env::var(var)
                .unwrap_or_else(|_| default.to_owned())
                .trim_end_matches('/')
                .to_owned()
        };
        Self {
            gateway: url("SHOP_URL", "http://127.0.0.1:8080"),
            auth: url("AUTH_URL", "http://127.0.0.1:8001"),
            billing: url("BILLING_URL", "http://127.0.0.1:8002"),
            orders: url("ORDERS_URL", "http://127.0.0.1:8003"),
        }
    }

    /// A client whose connections leave from `address` (127.0.0.2, ...).
    pub fn client(address: &str) -> TestClient {
        TestClient::from_address(address.parse::<IpAddr>().expect("a loopback address"))
    }

    /// The shop's client at `base` (the gateway, or a service's port).
    pub fn shop(base: &str) -> Shop {
        Shop::new(base).expect("a client")
    }

    /// Signs `name` up through the gateway.
    pub async fn sign_up(&self, name: &str, password: &str) {
        Self::shop(&self.gateway)
            .sign_up(name, password)
            .await
            .unwrap_or_else(|err| panic!("sign-up of {name}: {err}"));
    }

    /// A login through the gateway from `address`.
    pub async fn login_from(&self, address: &str, name: &str, password: &str) -> TestResponse {
        login(&Self::client(address), &self.gateway, &[], name, password).await
    }

    /// A login straight to auth's port from `address`, claiming
    /// `forwarded` as `X-Forwarded-For`.
    pub async fn login_direct(
        &self,
        address: &str,
        forwarded: &str,
        name: &str,
        password: &str,
    ) -> TestResponse {
        let headers = [("x-forwarded-for", forwarded)];
        login(&Self::client(address), &self.auth, &headers, name, password).await
    }

    /// A counter of auth's `/metrics`.
    pub async fn auth_counter(&self, name: &str) -> f64 {
        let answer = Self::client("127.0.0.1")
            .send(Method::GET, &format!("{}/metrics", self.auth), &[], None)
            .await;
        answer
            .text
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

async fn login(
    client: &TestClient,
    base: &str,
    headers: &[(&str, &str)],
    name: &str,
    password: &str,
) -> TestResponse {
    let body: Value = json!({"username": name, "password": password});
    client
        .json(Method::POST, &format!("{base}/api/token/"), headers, &body)
        .await
}

/// A name no other run has used.
pub fn unique_name(prefix: &str) -> String {
    common::testing::unique_name(prefix)
}
