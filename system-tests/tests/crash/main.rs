//! The crash drill, with real processes: while 300 orders are in flight, one
//! of two mediator processes is SIGKILLed and restarted three times, the items
//! service is killed and restarted once, and Redis is killed and restarted
//! once. Afterwards every accepted order is final, and money, stock and slot
//! capacity add up exactly: no order lost, none applied twice.

mod conservation;
mod faults;
mod processes;
mod versions;

use std::path::PathBuf;
use std::time::Duration;

use common::http::Caller;
use common::testing::{self, tokens, TestCallers, TestClient, TestDatabase, TestKeys};
use hyper::Method;
use rand::Rng;
use serde_json::json;
use tokio::time::Instant;

use conservation::assert_conservation;
use processes::{binaries, free_port, redis, Process};

const USERS: usize = 30;
const ORDERS_PER_USER: usize = 10;
const INITIAL_STOCK: i32 = 25;

/// The drills of this binary run one after another: on two cores, two at
/// once would stretch their timings past the heartbeats they test.
static ONE_DRILL_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fresh drill, once the drills before it are done; the guard keeps the
/// others waiting until it is dropped.
async fn begin() -> (tokio::sync::MutexGuard<'static, ()>, Drill) {
    let alone = ONE_DRILL_AT_A_TIME.lock().await;
    testing::init_logs();
    (alone, Drill::new().await)
}

struct Drill {
    dir: PathBuf,
    keys: TestKeys,
    callers: TestCallers,
    billing_db: TestDatabase,
    items_db: TestDatabase,
    slots_db: TestDatabase,
    orders_db: TestDatabase,
}

impl Drill {
    async fn new() -> Self {
        let dir = std::env::temp_dir().join(testing::unique_name("crash-drill"));
        std::fs::create_dir_all(&dir).expect("drill dir");
        let keys = TestKeys::generate();
        std::fs::write(dir.join("public.pem"), &keys.public_pem).expect("public key");
        Self {
            callers: testing::callers(),
            billing_db: TestDatabase::create("billing", billing::migrations).await,
            items_db: TestDatabase::create("items", items::migrations).await,
            slots_db: TestDatabase::create("slots", slots::migrations).await,
            orders_db: TestDatabase::create("orders", orders::migrations).await,
            keys,
            dir,
        }
    }

    fn service(&self, name: &str, db: &TestDatabase) -> Process {
        self.process(name, name, db)
    }

    fn process(&self, name: &str, binary: &str, db: &TestDatabase) -> Process {
        Process::new(name, binaries().join(binary), free_port(), &self.dir)
            .env("DATABASE_URL", db.settings.url.expose())
            // What the callees keep of the callers' credentials.
            .env(
                "AUTH_SERVICE_TOKEN_SHA256",
                self.callers.digest_hex(Caller::Auth),
            )
            .env(
                "MEDIATOR_SERVICE_TOKEN_SHA256",
                self.callers.digest_hex(Caller::Mediator),
            )
            .env(
                "JWT_PUBLIC_KEY_FILE",
                self.dir.join("public.pem").display().to_string(),
            )
            .env("RUST_LOG", "info")
    }

    fn mediator(&self, name: &str, redis_url: &str, ports: [u16; 3]) -> Process {
        let url = |port: u16| format!("http://127.0.0.1:{port}");
        self.process(name, "mediator", &self.orders_db)
            .env(
                "MEDIATOR_SERVICE_TOKEN",
                self.callers.credential(Caller::Mediator).expose(),
            )
            .env("REDIS_URL", redis_url)
            .env("BILLING_URL", url(ports[0]))
            .env("ITEMS_URL", url(ports[1]))
            .env("SLOTS_URL", url(ports[2]))
            .env("MEDIATOR_CONCURRENCY", "16")
            .env("STEP_TIMEOUT_MS", "1000")
            .env("RETRY_BASE_MS", "20")
            .env("RETRY_MAX_MS", "300")
            .env("SAGA_DEADLINE_MS", "20000")
            .env("HEARTBEAT_INTERVAL_MS", "200")
            .env("HEARTBEAT_EXPIRY_MS", "1500")
            .env("SWEEP_INTERVAL_MS", "500")
            .env("SWEEP_AGE_MS", "2000")
    }
}

/// billing, items, slots and order-api, started and ready.
struct Services {
    billing: Process,
    items: Process,
    slots: Process,
    order_api: Process,
}

impl Services {
    /// billing's, items' and slots' ports, for a mediator.
    fn participants(&self) -> [u16; 3] {
        [self.billing.port, self.items.port, self.slots.port]
    }
}

impl Drill {
    /// Starts billing, items (with `INITIAL_STOCK` of each item), slots and
    /// order-api (on `redis_url`), and waits until each is ready.
    async fn start_services(&self, redis_url: &str) -> Services {
        let mut services = Services {
            billing: self.service("billing", &self.billing_db),
            items: self
                .service("items", &self.items_db)
                .env("ITEMS_INITIAL_STOCK", INITIAL_STOCK.to_string()),
            slots: self.service("slots", &self.slots_db),
            order_api: self
                .service("order-api", &self.orders_db)
                .env("REDIS_URL", redis_url),
        };
        for process in [
            &mut services.billing,
            &mut services.items,
            &mut services.slots,
            &mut services.order_api,
        ] {
            process.start();
        }
        for process in [
            &services.billing,
            &services.items,
            &services.slots,
            &services.order_api,
        ] {
            process.wait_ready().await;
        }
        services
    }

    /// `count` customers with a wallet of 100 in billing (on
    /// `billing_port`): (name, access token) each.
    async fn open_accounts(&self, billing_port: u16, count: usize) -> Vec<(String, String)> {
        let client = TestClient::default();
        let mut users = Vec::new();
        for _ in 0..count {
            let name = testing::unique_name("crash");
            let opened = client
                .json(
                    Method::POST,
                    &format!("http://127.0.0.1:{billing_port}/api/profiles/"),
                    &[(
                        "x-service-token",
                        self.callers.credential(Caller::Auth).expose(),
                    )],
                    &json!({"username": name, "email": "drill@example.com", "user_id": 1}),
                )
                .await;
            assert_eq!(opened.status, 201, "{}", opened.text);
            users.push((name.clone(), tokens::access(&self.keys, &name)));
        }
        users
    }
}

/// Waits until redis-server answers PING.
async fn wait_redis(url: &str) {
    let Ok(client) = queue::RedisSettings::new(url).client() else {
        panic!("{url} is not a Redis URL")
    };
    for _ in 0..100 {
        if let Ok(mut conn) = client.connect().await {
            if queue::ping(&mut conn).await.is_ok() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("redis at {url} never answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_survive_killed_mediators_a_killed_participant_and_a_redis_restart() {
    let (_alone, drill) = begin().await;
    let mut redis = redis(&drill.dir, &drill.dir);
    redis.start();
    let redis_url = format!("redis://127.0.0.1:{}", redis.port);
    wait_redis(&redis_url).await;

    let Services {
        billing,
        mut items,
        slots,
        order_api,
    } = drill.start_services(&redis_url).await;
    let ports = [billing.port, items.port, slots.port];
    let mut victim = drill.mediator("mediator-a", &redis_url, ports);
    let mut steady = drill.mediator("mediator-b", &redis_url, ports);
    victim.start();
    steady.start();
    victim.wait_ready().await;
    steady.wait_ready().await;

    let client = TestClient::default();
    let orders_url = format!("http://127.0.0.1:{}", order_api.port);
    let users = drill.open_accounts(billing.port, USERS).await;

    // Orders go in at a steady pace while the chaos runs beside them.
    let placing = {
        let (client, users, orders_url) = (client.clone(), users.clone(), orders_url.clone());
        tokio::spawn(
            async move { place_orders(&client, &users, &orders_url, ORDERS_PER_USER).await },
        )
    };
    let start = Instant::now();
    let mut schedule = chaos_schedule();
    while let Some((at, event)) = schedule.pop() {
        tokio::time::sleep_until(start + at).await;
        match event {
            Chaos::KillMediator => {
                victim.kill();
                tokio::time::sleep(Duration::from_millis(300)).await;
                victim.start();
            }
            Chaos::KillItems => {
                items.kill();
                tokio::time::sleep(Duration::from_millis(800)).await;
                items.start();
            }
            Chaos::RestartRedis => {
                redis.kill();
                tokio::time::sleep(Duration::from_millis(500)).await;
                redis.start();
            }
        }
        eprintln!("chaos: {event:?} at {:?}", start.elapsed());
    }
    let accepted = placing.await.expect("placing orders");
    assert_eq!(
        accepted.len(),
        USERS * ORDERS_PER_USER,
        "every order was accepted"
    );

    let drained = wait_until_final(&drill.orders_db, Duration::from_secs(120)).await;
    if let Err(pending) = drained {
        panic!(
            "{pending} orders still pending\n--- mediator-a\n{}\n--- mediator-b\n{}",
            victim.log_tail(),
            steady.log_tail()
        );
    }
    eprintln!(
        "all {} orders final {:?} after the start",
        accepted.len(),
        start.elapsed()
    );
    let logs = format!("{}\n{}", victim.log_text(), steady.log_text());
    eprintln!(
        "recovery: {} reaps of dead workers, {} sweeps that re-queued orders, {} saga runs that found their order already final",
        logs.matches("reaped dead workers").count(),
        logs.matches("queued pending orders that nobody held").count(),
        logs.matches("\"outcome\":\"already_final\"").count(),
    );
    assert_conservation(&drill, &users, &accepted).await;
}

#[derive(Debug, Clone, Copy)]
enum Chaos {
    KillMediator,
    KillItems,
    RestartRedis,
}

/// Three mediator kills, one items kill, one Redis restart, at random
/// moments within the 7.5 s the orders take to arrive; latest first.
fn chaos_schedule() -> Vec<(Duration, Chaos)> {
    let mut rng = rand::thread_rng();
    let mut at = |from: u64, to: u64| Duration::from_millis(rng.gen_range(from..to));
    let mut events = vec![
        (at(500, 2000), Chaos::KillMediator),
        (at(2500, 4000), Chaos::KillMediator),
        (at(5000, 6500), Chaos::KillMediator),
        (at(1000, 5000), Chaos::KillItems),
        (at(2000, 6000), Chaos::RestartRedis),
    ];
    events.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    events
}

/// Places `rounds` orders per user, 40 a second; returns the accepted ids.
/// Some orders are meant to fail: too expensive, an unknown item, a closed
/// slot.
async fn place_orders(
    client: &TestClient,
    users: &[(String, String)],
    orders_url: &str,
    rounds: usize,
) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    for round in 0..rounds {
        for (n, (_, token)) in users.iter().enumerate() {
            tick.tick().await;
            let (amount, item, slot) = match (round * users.len() + n) % 10 {
                7 => (json!(500), 1, "10:00"),
                8 => (json!(5), 15, "11:00"),
                9 => (json!(5), 2, "19:00"),
                k => (json!(3.5), (k % 5 + 1) as i64, "12:00"),
            };
            let body = json!({"amount": amount, "details": {"item": item, "slot": slot}});
            let auth = format!("Bearer {token}");
            let placed = client
                .json(
                    Method::POST,
                    &format!("{orders_url}/api/orders/"),
                    &[("authorization", &auth)],
                    &body,
                )
                .await;
            assert_eq!(placed.status, 201, "{}", placed.text);
            ids.push(placed.body["id"].as_i64().expect("id"));
        }
    }
    ids
}

async fn wait_until_final(db: &TestDatabase, limit: Duration) -> Result<(), i64> {
    let client = db.client().await;
    let deadline = Instant::now() + limit;
    loop {
        let pending: i64 = client
            .query_one("SELECT count(*) FROM orders WHERE status = 'pending'", &[])
            .await
            .expect("count")
            .get(0);
        if pending == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(pending);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
