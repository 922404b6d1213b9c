//! What a customer does: sign up, log in, pay in, order and follow orders.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::{Call, Method, Shop, ShopError};

/// What a login gives.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// An order to place: an amount, one item, one delivery slot.
pub struct NewOrder<'a> {
    /// A JSON number (`10`, `12.5`): amounts keep the precision they are written with.
    pub amount: Value,
    pub item: u32,
    pub slot: &'a str,
}

impl NewOrder<'_> {
    pub fn to_json(&self) -> Value {
        json!({"amount": self.amount, "details": {"item": self.item, "slot": self.slot}})
    }
}

/// An order as its owner reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    pub id: i64,
    pub status: String,
    pub reason: Option<String>,
}

impl Order {
    pub fn is_final(&self) -> bool {
        self.status != "pending"
    }
}

impl Shop {
    /// Signs `name` up, with the e-mail address `name@example.com`.
    pub async fn sign_up(&self, name: &str, password: &str) -> Result<(), ShopError> {
        let body =
            json!({"username": name, "password": password, "email": format!("{name}@example.com")});
        self.expect(Method::POST, "/api/auth/users/", Call::with_json(&body))
            .await?;
        Ok(())
    }

    pub async fn login(&self, name: &str, password: &str) -> Result<Tokens, ShopError> {
        let body = json!({"username": name, "password": password});
        self.expect_as(Method::POST, "/api/token/", Call::with_json(&body))
            .await
    }

    /// Signs `name` up and logs in: the access token.
    pub async fn customer(&self, name: &str, password: &str) -> Result<String, ShopError> {
        self.sign_up(name, password).await?;
        Ok(self.login(name, password).await?.access)
    }

    /// `name`'s account: username, email, wallet.
    pub async fn account(&self, token: &str, name: &str) -> Result<Value, ShopError> {
        let path = format!("/api/accounts/{name}");
        self.expect(Method::GET, &path, Call::with_token(token))
            .await
    }

    /// Pays `amount` (a JSON number) into `name`'s wallet: the account after.
    pub async fn deposit(
        &self,
        token: &str,
        name: &str,
        amount: Value,
    ) -> Result<Value, ShopError> {
        let body = json!({ "amount": amount });
        let call = Call {
            token: Some(token),
            json: Some(&body),
            ..Call::default()
        };
        self.expect(Method::POST, &format!("/api/accounts/{name}/deposit"), call)
            .await
    }

    /// Places `order`, with an `Idempotency-Key` when `key` is given.
    pub async fn place(
        &self,
        token: &str,
        order: &NewOrder<'_>,
        key: Option<&str>,
    ) -> Result<Order, ShopError> {
        let body = order.to_json();
        let call = Call {
            token: Some(token),
            key,
            json: Some(&body),
            ..Call::default()
        };
        self.expect_as(Method::POST, "/api/orders/", call).await
    }

    pub async fn order(&self, token: &str, id: i64) -> Result<Order, ShopError> {
        let path = format!("/api/orders/{id}");
        self.expect_as(Method::GET, &path, Call::with_token(token))
            .await
    }

    /// Reads order `id` until it is final, for `patience` at most: the
    /// order as last read.
    pub async fn wait_final(
        &self,
        token: &str,
        id: i64,
        patience: Duration,
    ) -> Result<Order, ShopError> {
        let until = tokio::time::Instant::now() + patience;
        loop {
            let order = self.order(token, id).await?;
            if order.is_final() || tokio::time::Instant::now() >= until {
                return Ok(order);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
