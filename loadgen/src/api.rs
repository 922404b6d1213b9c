//! The public API as loadgen calls it, through the gateway: the shop's
//! client (`shop_client`), with answers as loadgen counts them.

use anyhow::Context;
use serde_json::{json, Value};
use shop_client::{Call, Method, NewOrder, Shop, StatusCode};

#[derive(Clone)]
pub struct Api {
    shop: Shop,
}

/// A user the benchmark made: its access token.
#[derive(Clone)]
pub struct User {
    pub token: String,
}

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        Ok(Self {
            shop: Shop::new(base)?,
        })
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
        let call = Call {
            token,
            key,
            json: Some(body),
            ..Call::default()
        };
        let answer = self.shop.call(method, path, call).await?;
        Ok((answer.status, answer.body))
    }

    /// Signs up, logs in and deposits `deposit`; returns the user.
    pub async fn new_user(&self, name: &str, deposit: u64) -> anyhow::Result<User> {
        let token = self
            .shop
            .customer(name, "benchmark password")
            .await
            .with_context(|| format!("signing {name} up"))?;
        self.shop
            .deposit(&token, name, json!(deposit))
            .await
            .with_context(|| format!("a deposit for {name}"))?;
        Ok(User { token })
    }

    /// Places one order; the new order's id when accepted.
    pub async fn place(&self, user: &User, item: u32, slot: &str) -> anyhow::Result<i64> {
        let order = NewOrder {
            amount: json!(1),
            item,
            slot,
        };
        Ok(self.shop.place(&user.token, &order, None).await?.id)
    }
}
