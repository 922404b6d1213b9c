//! What an administrator does, through the admin API (`/api/admin/`).

use serde_json::Value;

use crate::{Call, Method, Shop, ShopError};

/// The shop as one administrator, logged in.
pub struct Admin {
    shop: Shop,
    token: String,
}

impl Admin {
    pub async fn login(shop: Shop, name: &str, password: &str) -> Result<Self, ShopError> {
        let token = shop.login(name, password).await?.access;
        Ok(Self { shop, token })
    }

    /// With an access token got elsewhere: `shop` serves the admin API
    /// but not the login (order-api's own port, say).
    pub fn with_token(shop: Shop, token: String) -> Self {
        Self { shop, token }
    }

    pub async fn get(&self, path: &str) -> Result<Value, ShopError> {
        self.shop.expect(Method::GET, path, self.call()).await
    }

    /// A POST without a body (retry, cancel).
    pub async fn post(&self, path: &str) -> Result<Value, ShopError> {
        self.shop.expect(Method::POST, path, self.call()).await
    }

    /// The sagas `query` selects (empty, or `?status=parked&limit=20`,
    /// percent-encoded), newest first.
    pub async fn sagas(&self, query: &str) -> Result<Value, ShopError> {
        self.get(&format!("/api/admin/sagas{query}")).await
    }

    /// Retries every parked saga `query` selects (`?status=parked&...`).
    pub async fn retry_all(&self, query: &str) -> Result<Value, ShopError> {
        self.post(&format!("/api/admin/sagas/retry{query}")).await
    }

    pub async fn stats(&self) -> Result<Value, ShopError> {
        self.get("/api/admin/sagas/stats").await
    }

    pub async fn workers(&self) -> Result<Value, ShopError> {
        self.get("/api/admin/workers").await
    }

    pub async fn saga(&self, id: i64) -> Result<Value, ShopError> {
        self.get(&format!("/api/admin/sagas/{id}")).await
    }

    pub async fn retry(&self, id: i64) -> Result<Value, ShopError> {
        self.post(&format!("/api/admin/sagas/{id}/retry")).await
    }

    pub async fn cancel(&self, id: i64) -> Result<Value, ShopError> {
        self.post(&format!("/api/admin/sagas/{id}/cancel")).await
    }

    fn call(&self) -> Call<'_> {
        Call::with_token(&self.token)
    }
}
