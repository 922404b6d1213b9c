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

use serde_json::json;
use shop_client::{Answer, Call, Method, Shop};

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

    /// The shop's client at `base` (the gateway, or a service's port).
    pub fn shop(base: &str) -> Shop {
        Shop::new(base).expect("a client")
    }

    /// The shop's client at `base`, its connections leaving from `address`
    /// (127.0.0.2, ...).
    pub fn shop_from(base: &str, address: &str) -> Shop {
        let address = address.parse::<IpAddr>().expect("a loopback address");
        Shop::from_address(base, address).expect("a client")
    }

    /// Signs `name` up through the gateway.
    pub async fn sign_up(&self, name: &str, password: &str) {
        Self::shop(&self.gateway)
            .sign_up(name, password)
            .await
            .unwrap_or_else(|err| panic!("sign-up of {name}: {err}"));
    }

    /// A login through the gateway from `address`, whatever it is answered.
    pub async fn login_from(&self, address: &str, name: &str, password: &str) -> Answer {
        login(
            &Self::shop_from(&self.gateway, address),
            &[],
            name,
            password,
        )
        .await
    }

    /// A login straight to auth's port from `address`, claiming
    /// `forwarded` as `X-Forwarded-For`.
    pub async fn login_direct(
        &self,
        address: &str,
        forwarded: &str,
        name: &str,
        password: &str,
    ) -> Answer {
        let headers = [("x-forwarded-for", forwarded)];
        login(
            &Self::shop_from(&self.auth, address),
            &headers,
            name,
            password,
        )
        .await
    }

    /// A counter of auth's `/metrics`.
    pub async fn auth_counter(&self, name: &str) -> f64 {
        let answer = Self::shop(&self.auth)
            .call(Method::GET, "/metrics", Call::default())
            .await
            .expect("auth's metrics");
        answer
            .text
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

async fn login(shop: &Shop, headers: &[(&str, &str)], name: &str, password: &str) -> Answer {
    let body = json!({"username": name, "password": password});
    let call = Call {
        json: Some(&body),
        headers,
        ..Call::default()
    };
    shop.call(Method::POST, "/api/token/", call)
        .await
        .expect("an answer")
}

/// A name no other run has used.
pub fn unique_name(prefix: &str) -> String {
    common::testing::unique_name(prefix)
}
