//! Faults beyond kills, with real processes: a worker paused past its
//! heartbeat (a zombie that wakes up after another took its orders),
//! replies lost on the network (iptables drops what a participant sends on
//! the loopback), and a slow participant (a row lock in its database holds
//! its reserve past the step timeout), Redis wiped with orders queued, and
//! every database connection cut under load. Each ends with every order
//! final, nothing parked and the conservation check.

use std::time::Duration;

use common::testing::TestClient;

use crate::{place_orders, redis, wait_redis, wait_until_final, Drill, Process, Services};

mod connections_cut;
mod lost_replies;
mod redis_wiped;
mod slow_participant;
mod zombie;

/// A drill's processes: Redis, the services, one mediator or two.
pub(super) struct Running {
    pub(super) redis: Process,
    pub(super) services: Services,
    pub(super) redis_url: String,
    pub(super) client: TestClient,
    pub(super) orders_url: String,
    pub(super) users: Vec<(String, String)>,
}

pub(super) async fn start(drill: &Drill, users: usize) -> Running {
    let mut redis = redis(&drill.dir, &drill.dir);
    redis.start();
    let redis_url = format!("redis://127.0.0.1:{}", redis.port);
    wait_redis(&redis_url).await;
    let services = drill.start_services(&redis_url).await;
    let users = drill.open_accounts(services.billing.port, users).await;
    Running {
        redis,
        orders_url: format!("http://127.0.0.1:{}", services.order_api.port),
        services,
        redis_url,
        client: TestClient::default(),
        users,
    }
}

impl Running {
    pub(super) async fn mediator(
        &self,
        drill: &Drill,
        name: &str,
        env: &[(&str, &str)],
    ) -> Process {
        let mut mediator = drill.mediator(name, &self.redis_url, self.services.participants());
        for (key, value) in env {
            mediator = mediator.env(key, *value);
        }
        mediator.start();
        mediator.wait_ready().await;
        mediator
    }

    /// Places `rounds` orders per user in the background.
    pub(super) fn place(&self, rounds: usize) -> tokio::task::JoinHandle<Vec<i64>> {
        let (client, users, url) = (
            self.client.clone(),
            self.users.clone(),
            self.orders_url.clone(),
        );
        tokio::spawn(async move { place_orders(&client, &users, &url, rounds).await })
    }
}

/// Waits until every order is final, or panics with the mediators' logs.
pub(super) async fn all_final(drill: &Drill, within: Duration, mediators: &[&Process]) {
    if let Err(pending) = wait_until_final(&drill.orders_db, within).await {
        let logs: Vec<String> = mediators
            .iter()
            .map(|m| format!("--- {}\n{}", m.name, m.log_tail()))
            .collect();
        panic!("{pending} orders still pending\n{}", logs.join("\n"));
    }
}

/// How many orders failed with `reason`.
pub(super) async fn failed_with(drill: &Drill, reason: &str) -> i64 {
    let db = drill.orders_db.client().await;
    db.query_one(
        "SELECT count(*) FROM orders WHERE status = 'failed' AND reason = $1",
        &[&reason],
    )
    .await
    .expect("count")
    .get(0)
}

pub(super) async fn parked(drill: &Drill) -> i64 {
    let db = drill.orders_db.client().await;
    db.query_one(
        "SELECT count(*) FROM orders WHERE parked_at IS NOT NULL",
        &[],
    )
    .await
    .expect("count")
    .get(0)
}
