//! The whole pipeline in one process, each service on a database of its
//! own and the queue on a Redis list of its own, so that tests run side by
//! side: `TEST_DATABASE_URL` and `TEST_REDIS_URL` say where the real
//! PostgreSQL and Redis are.

use std::time::Duration;

use common::config::Listen;
use common::http::Caller;
use common::testing::{
    self, tokens, TestCallers, TestClient, TestDatabase, TestKeys, TestResponse,
};
use hyper::Method;
use queue::RedisSettings;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// The whole pipeline in one process: billing, items, slots, order-api and
/// `mediators` mediator workers, each service with a database of its own,
/// on a Redis queue of its own.
pub struct TestStack {
    pub orders: String,
    pub billing: String,
    pub keys: TestKeys,
    pub client: TestClient,
    pub billing_db: TestDatabase,
    pub items_db: TestDatabase,
    pub slots_db: TestDatabase,
    pub orders_db: TestDatabase,
    pub callers: TestCallers,
    pub mediator_settings: mediator::Settings,
    pub shutdown: CancellationToken,
}

/// What the stack starts with: each item's stock, each slot's capacity,
/// and the unfinished orders a customer may have (`MAX_UNFINISHED_ORDERS`,
/// high by default: tests place many orders at once).
pub struct Stock {
    pub items: i32,
    pub slot_capacity: i32,
    pub max_unfinished_orders: i64,
}

impl Default for Stock {
    fn default() -> Self {
        Self {
            items: 1000,
            slot_capacity: 1000,
            max_unfinished_orders: 1000,
        }
    }
}

pub fn redis_url() -> String {
    common::config::string("TEST_REDIS_URL", "redis://127.0.0.1:56379")
}

impl TestStack {
    pub async fn spawn(stock: Stock, mediators: usize) -> Self {
        testing::init_logs();
        let keys = TestKeys::generate();
        let callers = testing::callers();
        let shutdown = CancellationToken::new();
        let stop = || shutdown.clone().cancelled_owned();

        let billing_db = TestDatabase::create("billing", billing::migrations).await;
        let billing = billing::build(
            billing::Settings {
                listen: Listen::ephemeral(),
                database: billing_db.settings.clone(),
                verifier: keys.verifier(),
                callers: callers.digests(),
                initial_wallet: Decimal::from(100),
                wallet_ceiling: Decimal::from(10_000_000),
            },
            stop(),
        )
        .await
        .expect("billing");
        let items_db = TestDatabase::create("items", items::migrations).await;
        let items = items::build(
            items::Settings {
                listen: Listen::ephemeral(),
                database: items_db.settings.clone(),
                callers: callers.digests(),
                item_count: 10,
                initial_stock: stock.items,
            },
            stop(),
        )
        .await
        .expect("items");
        let slots_db = TestDatabase::create("slots", slots::migrations).await;
        let slots = slots::build(
            slots::Settings {
                listen: Listen::ephemeral(),
                database: slots_db.settings.clone(),
                callers: callers.digests(),
                first_hour: 8,
                last_hour: 18,
                capacity: stock.slot_capacity,
            },
            stop(),
        )
        .await
        .expect("slots");
        let orders_db = TestDatabase::create("orders", orders::migrations).await;
        let queue = testing::unique_name("orders");
        let order_api = order_api::build(
            order_api::Settings {
                listen: Listen::ephemeral(),
                database: orders_db.settings.clone(),
                redis: RedisSettings::new(&redis_url()),
                queue: queue.clone(),
                verifier: keys.verifier(),
                max_unfinished_orders: stock.max_unfinished_orders,
            },
            stop(),
        )
        .await
        .expect("order-api");
        let billing_url = format!("http://{}", billing.addr);
        let orders_url = format!("http://{}", order_api.addr);
        let mediator_settings = mediator::Settings {
            listen: Listen::ephemeral(),
            database: orders_db.settings.clone(),
            redis: RedisSettings::new(&redis_url()),
            queue,
            billing_url: billing_url.clone(),
            items_url: format!("http://{}", items.addr),
            slots_url: format!("http://{}", slots.addr),
            service_token: callers.credential(Caller::Mediator).clone(),
            concurrency: 32,
            step_timeout: Duration::from_secs(2),
            retry_base: Duration::from_millis(20),
            retry_max: Duration::from_millis(500),
            saga_deadline: Duration::from_secs(10),
            compensation_attempts: 30,
            heartbeat_interval: Duration::from_millis(200),
            heartbeat_expiry: Duration::from_secs(3),
            sweep_interval: Duration::from_millis(500),
            sweep_age: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(5),
        };
        for server in [billing, items, slots, order_api] {
            tokio::spawn(server.run);
        }
        let stack = Self {
            orders: orders_url,
            billing: billing_url,
            keys,
            client: TestClient::default(),
            billing_db,
            items_db,
            slots_db,
            orders_db,
            callers,
            mediator_settings,
            shutdown,
        };
        for _ in 0..mediators {
            stack.start_mediator().await;
        }
        stack
    }

    /// Starts one more mediator worker on the same queue.
    pub async fn start_mediator(&self) -> CancellationToken {
        let token = self.shutdown.child_token();
        let mediator = mediator::build(self.mediator_settings.clone(), token.clone())
            .await
            .expect("mediator");
        tokio::spawn(mediator.run);
        token
    }

    /// A user with an account holding `wallet`, and their access token.
    pub async fn user(&self, name: &str, wallet: u32) -> String {
        let body = json!({"username": name, "email": format!("{name}@example.com"), "user_id": 1});
        let opened = self
            .client
            .json(
                Method::POST,
                &format!("{}/api/profiles/", self.billing),
                &[(
                    "x-service-token",
                    self.callers.credential(Caller::Auth).expose(),
                )],
                &body,
            )
            .await;
        assert_eq!(opened.status, 201, "{}", opened.text);
        let token = tokens::access(&self.keys, name);
        if wallet > 100 {
            let auth = format!("Bearer {token}");
            let deposit = self
                .client
                .json(
                    Method::POST,
                    &format!("{}/api/accounts/{name}/deposit", self.billing),
                    &[("authorization", &auth)],
                    &json!({ "amount": wallet - 100 }),
                )
                .await;
            assert_eq!(deposit.status, 200, "{}", deposit.text);
        } else if wallet < 100 {
            let db = self.billing_db.client().await;
            db.execute(
                "UPDATE accounts SET wallet = $2 WHERE username = $1",
                &[&name, &Decimal::from(wallet)],
            )
            .await
            .expect("setting the wallet");
        }
        token
    }

    pub async fn place(&self, token: &str, body: &Value, key: Option<&str>) -> TestResponse {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("authorization", auth.as_str())];
        if let Some(key) = key {
            headers.push(("idempotency-key", key));
        }
        self.client
            .json(
                Method::POST,
                &format!("{}/api/orders/", self.orders),
                &headers,
                body,
            )
            .await
    }

    pub async fn get(&self, token: &str, path: &str) -> TestResponse {
        let auth = format!("Bearer {token}");
        self.client
            .send(
                Method::GET,
                &format!("{}{path}", self.orders),
                &[("authorization", &auth)],
                None,
            )
            .await
    }

    /// POST with an empty body.
    pub async fn post(&self, token: &str, path: &str) -> TestResponse {
        let auth = format!("Bearer {token}");
        self.client
            .send(
                Method::POST,
                &format!("{}{path}", self.orders),
                &[("authorization", &auth)],
                None,
            )
            .await
    }

    /// Places `body` and waits for the order to be final.
    pub async fn place_final(&self, token: &str, body: &Value) -> Value {
        let placed = self.place(token, body, None).await;
        assert_eq!(placed.status, 201, "{}", placed.text);
        self.wait_final(token, placed.body["id"].as_i64().expect("id"))
            .await
    }

    /// Polls the order until it is final (30 s at most).
    pub async fn wait_final(&self, token: &str, id: i64) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let response = self.get(token, &format!("/api/orders/{id}")).await;
            assert_eq!(response.status, 200, "{}", response.text);
            if response.body["status"] != json!("pending") {
                return response.body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "order {id} still pending: {}",
                response.text
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until no order is pending (60 s at most).
    pub async fn wait_all_final(&self) {
        let db = self.orders_db.client().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let pending: i64 = db
                .query_one("SELECT count(*) FROM orders WHERE status = 'pending'", &[])
                .await
                .expect("count")
                .get(0);
            if pending == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{pending} orders still pending"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wallet(&self, name: &str) -> Decimal {
        let db = self.billing_db.client().await;
        db.query_one("SELECT wallet FROM accounts WHERE username = $1", &[&name])
            .await
            .expect("wallet")
            .get(0)
    }

    pub async fn stock(&self, item: i32) -> i32 {
        let db = self.items_db.client().await;
        db.query_one("SELECT stock FROM items WHERE id = $1", &[&item])
            .await
            .expect("stock")
            .get(0)
    }

    pub async fn booked(&self, slot: &str) -> i32 {
        let db = self.slots_db.client().await;
        db.query_one("SELECT booked FROM slots WHERE slot = $1", &[&slot])
            .await
            .expect("booked")
            .get(0)
    }
}

/// An order's history as (step, action, outcome), without the times.
pub fn steps(order: &Value) -> Vec<(Value, Value, Value)> {
    order["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|s| (s["step"].clone(), s["action"].clone(), s["outcome"].clone()))
        .collect()
}

pub fn order(amount: Value, item: i64, slot: &str) -> Value {
    json!({"amount": amount, "details": {"item": item, "slot": slot}})
}

pub fn assert_error(response: &TestResponse, status: u16) {
    assert_eq!(response.status.as_u16(), status, "{}", response.text);
    assert!(response.body["error"].is_string(), "{}", response.text);
}
