//! The internal reservation endpoints, called as the mediator calls them.

use std::sync::Arc;

use hyper::Method;
use serde_json::Value;

use super::{TestClient, TestResponse};
use crate::config::Secret;

/// Calls a service's internal reservation endpoints as the mediator does.
#[derive(Clone)]
pub struct Reservations {
    client: TestClient,
    address: String,
    token: Secret,
}

impl Reservations {
    pub fn new(address: &str, token: &Secret) -> Self {
        Self {
            client: TestClient::default(),
            address: address.to_owned(),
            token: token.clone(),
        }
    }

    pub fn url(&self, order_id: i64) -> String {
        format!("{}/internal/reservations/{order_id}", self.address)
    }

    pub async fn reserve(&self, order_id: i64, body: &Value) -> TestResponse {
        let headers = [("x-service-token", self.token.expose())];
        self.client
            .json(Method::PUT, &self.url(order_id), &headers, body)
            .await
    }

    pub async fn cancel(&self, order_id: i64) -> TestResponse {
        let headers = [("x-service-token", self.token.expose())];
        self.client
            .send(Method::DELETE, &self.url(order_id), &headers, None)
            .await
    }

    /// The outcome of a reserve that must answer 200.
    pub async fn reserve_outcome(&self, order_id: i64, body: &Value) -> String {
        outcome(self.reserve(order_id, body).await)
    }

    /// The outcome of a cancel that must answer 200.
    pub async fn cancel_outcome(&self, order_id: i64) -> String {
        outcome(self.cancel(order_id).await)
    }

    /// Fires one reserve per order id all at once (released together by a
    /// barrier) and returns how many were granted.
    pub async fn reserve_concurrently(&self, order_ids: Vec<i64>, body: &Value) -> usize {
        let barrier = Arc::new(tokio::sync::Barrier::new(order_ids.len()));
        let calls = order_ids.into_iter().map(|order_id| {
            let (this, body, barrier) = (self.clone(), body.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                this.reserve_outcome(order_id, &body).await
            })
        });
        let outcomes = futures::future::join_all(calls).await;
        outcomes
            .into_iter()
            .map(|o| o.expect("a reserve task panicked"))
            .filter(|o| o == "granted")
            .count()
    }
}

fn outcome(response: TestResponse) -> String {
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["outcome"]
        .as_str()
        .unwrap_or_else(|| panic!("no outcome in {}", response.text))
        .to_owned()
}
