//! Faults beyond kills, with real processes: a worker paused past its
//! heartbeat (a zombie that wakes up after another took its orders),
//! replies lost on the network (iptables drops what a participant sends on
//! the loopback), and a slow participant (a row lock in its database holds
//! its reserve past the step timeout), Redis wiped with orders queued, and
//! every database connection cut under load. Each ends with every order
//! final, nothing parked and the conservation check.

use std::process::Command;
use std::time::Duration;

use common::testing::TestClient;
use tokio::time::Instant;

use super::{
    assert_conservation, place_orders, redis, wait_redis, wait_until_final, Drill, Process,
    Services, ONE_DRILL_AT_A_TIME,
};

/// The deadline of the lost-replies drill's sagas (`SAGA_DEADLINE_MS`):
/// short, so that a fault outlasts it within seconds.
const DEADLINE: Duration = Duration::from_secs(5);

/// A drill's processes: Redis, the services, one mediator or two.
struct Running {
    redis: Process,
    services: Services,
    redis_url: String,
    client: TestClient,
    orders_url: String,
    users: Vec<(String, String)>,
}

async fn start(drill: &Drill, users: usize) -> Running {
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
    async fn mediator(&self, drill: &Drill, name: &str, env: &[(&str, &str)]) -> Process {
        let mut mediator = drill.mediator(name, &self.redis_url, self.services.participants());
        for (key, value) in env {
            mediator = mediator.env(key, *value);
        }
        mediator.start();
        mediator.wait_ready().await;
        mediator
    }

    /// Places `rounds` orders per user in the background.
    fn place(&self, rounds: usize) -> tokio::task::JoinHandle<Vec<i64>> {
        let (client, users, url) = (
            self.client.clone(),
            self.users.clone(),
            self.orders_url.clone(),
        );
        tokio::spawn(async move { place_orders(&client, &users, &url, rounds).await })
    }
}

/// Waits until every order is final, or panics with the mediators' logs.
async fn all_final(drill: &Drill, within: Duration, mediators: &[&Process]) {
    if let Err(pending) = wait_until_final(&drill.orders_db, within).await {
        let logs: Vec<String> = mediators
            .iter()
            .map(|m| format!("--- {}\n{}", m.name, m.log_tail()))
            .collect();
        panic!("{pending} orders still pending\n{}", logs.join("\n"));
    }
}

/// How many orders failed with `reason`.
async fn failed_with(drill: &Drill, reason: &str) -> i64 {
    let db = drill.orders_db.client().await;
    db.query_one(
        "SELECT count(*) FROM orders WHERE status = 'failed' AND reason = $1",
        &[&reason],
    )
    .await
    .expect("count")
    .get(0)
}

async fn parked(drill: &Drill) -> i64 {
    let db = drill.orders_db.client().await;
    db.query_one(
        "SELECT count(*) FROM orders WHERE parked_at IS NOT NULL",
        &[],
    )
    .await
    .expect("count")
    .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_paused_past_its_heartbeat_is_reaped_and_wakes_up_harmlessly() {
    let _alone = ONE_DRILL_AT_A_TIME.lock().await;
    common::testing::init_logs();
    let drill = Drill::new().await;
    let running = start(&drill, 20).await;
    let zombie = running.mediator(&drill, "mediator-zombie", &[]).await;
    let steady = running.mediator(&drill, "mediator-steady", &[]).await;

    let placing = running.place(10);
    // Paused while it runs sagas, so that it holds orders in its list.
    let deadline = Instant::now() + Duration::from_secs(10);
    while zombie.metric("saga_in_flight").await < 1.0 {
        assert!(Instant::now() < deadline, "the zombie never ran a saga");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let runs_before = zombie.metric("saga_runs_total").await;
    zombie.signal("STOP");
    let paused = Instant::now();
    let accepted = placing.await.expect("placing orders");

    // The other worker reaps it after HEARTBEAT_EXPIRY_MS (1.5 s) and
    // finishes every order, the zombie's included.
    all_final(&drill, Duration::from_secs(60), &[&steady]).await;
    let all_done_after = paused.elapsed();
    assert!(
        steady.log_text().contains("reaped dead workers"),
        "the paused worker was never reaped:\n{}",
        steady.log_tail()
    );

    // Awake again, it ends the sagas it held: each finds its order final,
    // its reservations released or kept once.
    zombie.signal("CONT");
    let deadline = Instant::now() + Duration::from_secs(30);
    while zombie.metric("saga_in_flight").await > 0.0 {
        assert!(Instant::now() < deadline, "the zombie's sagas never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let runs_after = zombie.metric("saga_runs_total").await;
    eprintln!(
        "zombie: paused for {:?}, every order final {all_done_after:?} after the pause; \
         on waking it ended {} runs",
        paused.elapsed(),
        runs_after - runs_before
    );
    assert!(
        runs_after > runs_before,
        "the zombie ended none of its sagas"
    );
    all_final(&drill, Duration::from_secs(30), &[&steady, &zombie]).await;
    assert_eq!(parked(&drill).await, 0, "nothing parked");
    assert_conservation(&drill, &running.users, &accepted).await;
}

/// An iptables rule that drops every packet `port` sends on the loopback:
/// requests reach the service and are applied, the answers never arrive.
/// Removed when dropped (a panic included); a rule left by a killed run is
/// removed by the next one (they carry the comment `RULE_COMMENT`).
struct LostReplies {
    port: u16,
}

const RULE_COMMENT: &str = "shop-crash-drill";

impl LostReplies {
    fn rule(port: u16) -> Vec<String> {
        [
            "OUTPUT",
            "-o",
            "lo",
            "-p",
            "tcp",
            "--sport",
            &port.to_string(),
            "-m",
            "comment",
            "--comment",
            RULE_COMMENT,
            "-j",
            "DROP",
        ]
        .map(String::from)
        .to_vec()
    }

    fn start(port: u16) -> Self {
        iptables(&[&["-I".to_owned()], &Self::rule(port)[..]].concat());
        Self { port }
    }

    /// Removes the rules earlier runs left behind.
    fn clear_leftovers() {
        let listed = Command::new("iptables")
            .args(["-w", "-S", "OUTPUT"])
            .output()
            .expect("iptables -S (as root, iptables installed: scripts/test installs it)");
        for line in String::from_utf8_lossy(&listed.stdout).lines() {
            if let Some(spec) = line
                .strip_prefix("-A ")
                .filter(|l| l.contains(RULE_COMMENT))
            {
                let args: Vec<String> = std::iter::once("-D".to_owned())
                    .chain(
                        spec.split_whitespace()
                            .map(|a| a.trim_matches('"').to_owned()),
                    )
                    .collect();
                iptables(&args);
            }
        }
    }
}

impl Drop for LostReplies {
    fn drop(&mut self) {
        iptables(&[&["-D".to_owned()], &Self::rule(self.port)[..]].concat());
    }
}

fn iptables(args: &[String]) {
    let status = Command::new("iptables")
        .arg("-w")
        .args(args)
        .status()
        .expect("running iptables (as root; scripts/test installs it)");
    assert!(status.success(), "iptables {}: {status}", args.join(" "));
}

/// Replies of one participant lost: for less than the saga deadline (every
/// order ends as usual), then for longer (the orders caught fail with
/// `Service unavailable: <participant>` and are compensated exactly).
async fn lose_replies(participant: &str) {
    let _alone = ONE_DRILL_AT_A_TIME.lock().await;
    common::testing::init_logs();
    LostReplies::clear_leftovers();
    let drill = Drill::new().await;
    let running = start(&drill, 10).await;
    let deadline_ms = DEADLINE.as_millis().to_string();
    // Compensations retried for longer than the fault, so none parks.
    let mediator = running
        .mediator(
            &drill,
            "mediator",
            &[
                ("SAGA_DEADLINE_MS", &deadline_ms),
                ("COMPENSATION_ATTEMPTS", "1000"),
            ],
        )
        .await;
    let port = match participant {
        "billing" => running.services.billing.port,
        "items" => running.services.items.port,
        other => panic!("no participant {other}"),
    };
    let unavailable = format!("Service unavailable: {participant}");

    // Shorter than the deadline: late answers, retried, nothing else.
    let placing = running.place(4);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let short = LostReplies::start(port);
    tokio::time::sleep(DEADLINE / 3).await;
    drop(short);
    let mut accepted = placing.await.expect("placing orders");
    all_final(&drill, Duration::from_secs(60), &[&mediator]).await;
    assert_eq!(
        failed_with(&drill, &unavailable).await,
        0,
        "a fault shorter than the deadline fails nothing"
    );

    // Longer than the deadline: what was caught fails, compensated.
    let long = LostReplies::start(port);
    let placing = running.place(2);
    tokio::time::sleep(DEADLINE * 2).await;
    drop(long);
    accepted.extend(placing.await.expect("placing orders"));
    all_final(&drill, Duration::from_secs(90), &[&mediator]).await;
    let failed = failed_with(&drill, &unavailable).await;
    eprintln!(
        "{participant}'s replies lost: {} orders, {failed} failed with \"{unavailable}\"",
        accepted.len()
    );
    assert!(failed > 0, "no order outlasted the deadline");
    assert_eq!(parked(&drill).await, 0, "nothing parked");
    assert_conservation(&drill, &running.users, &accepted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn billing_replies_lost_delay_or_fail_orders_and_lose_no_money() {
    lose_replies("billing").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn items_replies_lost_delay_or_fail_orders_and_lose_no_stock() {
    lose_replies("items").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reserve_slowed_past_the_step_timeout_is_retried_and_applied_once() {
    let _alone = ONE_DRILL_AT_A_TIME.lock().await;
    common::testing::init_logs();
    let drill = Drill::new().await;
    let running = start(&drill, 1).await;
    let mediator = running.mediator(&drill, "mediator", &[]).await;
    let retries_before = mediator
        .metric("saga_step_retries_total{step=\"item\"}")
        .await;

    // The delay: a transaction holds item 3's row, so items' reserve of it
    // waits, past STEP_TIMEOUT_MS (1 s), for 2.5 s.
    let mut items = drill.items_db.client().await;
    let holding = items.transaction().await.expect("begin");
    holding
        .execute("SELECT 1 FROM items WHERE id = 3 FOR UPDATE", &[])
        .await
        .expect("locking item 3");
    let (_, token) = &running.users[0];
    let placed = running
        .client
        .json(
            hyper::Method::POST,
            &format!("{}/api/orders/", running.orders_url),
            &[("authorization", &format!("Bearer {token}"))],
            &serde_json::json!({"amount": 5, "details": {"item": 3, "slot": "12:00"}}),
        )
        .await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    let id = placed.body["id"].as_i64().expect("an id");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    holding.commit().await.expect("releasing item 3");

    all_final(&drill, Duration::from_secs(30), &[&mediator]).await;
    let retries = mediator
        .metric("saga_step_retries_total{step=\"item\"}")
        .await
        - retries_before;
    assert!(retries >= 1.0, "the item step was not retried");
    let orders = drill.orders_db.client().await;
    let status: String = orders
        .query_one("SELECT status FROM orders WHERE id = $1", &[&id])
        .await
        .expect("the order")
        .get(0);
    assert_eq!(status, "completed");
    let items = drill.items_db.client().await;
    let row = items
        .query_one(
            "SELECT (SELECT count(*) FROM reservations WHERE order_id = $1),
                    (SELECT initial_stock - stock FROM items WHERE id = 3)",
            &[&id],
        )
        .await
        .expect("items");
    let (reservations, taken): (i64, i32) = (row.get(0), row.get(1));
    eprintln!(
        "slow items: {retries} retries of the item step, {reservations} reservation, {taken} taken"
    );
    assert_eq!((reservations, taken), (1, 1), "answered once, taken once");
    assert_conservation(&drill, &running.users, &[id]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_wiped_with_orders_queued_loses_none_of_them() {
    let _alone = ONE_DRILL_AT_A_TIME.lock().await;
    common::testing::init_logs();
    let drill = Drill::new().await;
    let running = start(&drill, 10).await;
    let mediator = running.mediator(&drill, "mediator", &[]).await;

    // With the mediator paused the orders wait in Redis; then Redis forgets
    // everything (FLUSHALL), and the mediator wakes up to an empty queue.
    mediator.signal("STOP");
    let accepted = running.place(4).await.expect("placing orders");
    let flushed = Command::new("redis-cli")
        .args(["-p", &running.redis.port.to_string(), "FLUSHALL"])
        .output()
        .expect("redis-cli FLUSHALL");
    assert!(flushed.status.success(), "FLUSHALL: {flushed:?}");
    mediator.signal("CONT");
    let woke = Instant::now();

    // The sweeper finds the pending orders nobody holds and queues them again.
    all_final(&drill, Duration::from_secs(60), &[&mediator]).await;
    eprintln!(
        "redis wiped with {} orders queued: all final {:?} after the mediator woke",
        accepted.len(),
        woke.elapsed()
    );
    assert!(
        mediator
            .log_text()
            .contains("queued pending orders that nobody held"),
        "the sweeper queued nothing:\n{}",
        mediator.log_tail()
    );
    assert_eq!(parked(&drill).await, 0, "nothing parked");
    assert_conservation(&drill, &running.users, &accepted).await;
}

/// Places `rounds` orders per user, each with an `Idempotency-Key` and
/// sent again with it while the answer is not a 201 (a 503 while the
/// database is away, a lost connection); the accepted ids, and every
/// status seen.
async fn place_retrying(running: &Running, rounds: usize) -> (Vec<i64>, Vec<u16>) {
    let (mut ids, mut seen) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for (name, token) in &running.users {
            let key = format!("{name}-{round}");
            let auth = format!("Bearer {token}");
            let headers = [
                ("authorization", auth.as_str()),
                ("idempotency-key", key.as_str()),
            ];
            let body = serde_json::json!({"amount": 2, "details": {"item": 1 + round % 5, "slot": "12:00"}});
            let give_up = Instant::now() + Duration::from_secs(30);
            loop {
                let answer = running
                    .client
                    .json(
                        hyper::Method::POST,
                        &format!("{}/api/orders/", running.orders_url),
                        &headers,
                        &body,
                    )
                    .await;
                seen.push(answer.status.as_u16());
                if answer.status == 201 {
                    ids.push(answer.body["id"].as_i64().expect("an id"));
                    break;
                }
                assert!(
                    Instant::now() < give_up,
                    "{key}: still {} after 30 s",
                    answer.text
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (ids, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_database_connection_cut_under_load_loses_and_doubles_nothing() {
    let _alone = ONE_DRILL_AT_A_TIME.lock().await;
    common::testing::init_logs();
    let drill = Drill::new().await;
    let running = start(&drill, 10).await;
    let mediator = running.mediator(&drill, "mediator", &[]).await;

    // What a PostgreSQL restart does to its clients: every connection of
    // the drill's four databases is terminated, three times, while orders
    // arrive.
    let databases = {
        let mut names = Vec::new();
        for db in [
            &drill.orders_db,
            &drill.billing_db,
            &drill.items_db,
            &drill.slots_db,
        ] {
            let row = db
                .client()
                .await
                .query_one("SELECT current_database()", &[])
                .await;
            names.push(row.expect("its name").get::<_, String>(0));
        }
        names
    };
    let cutting = {
        let admin = drill.orders_db.client().await;
        tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(600)).await;
                let cut = admin
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                         WHERE datname = ANY($1) AND pid <> pg_backend_pid()",
                        &[&databases],
                    )
                    .await
                    .expect("terminating the connections");
                eprintln!("cut {} database connections", cut.len());
            }
        })
    };
    let (accepted, seen) = place_retrying(&running, 6).await;
    cutting.await.expect("the cuts");

    all_final(&drill, Duration::from_secs(60), &[&mediator]).await;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for status in &seen {
        *statuses.entry(*status).or_default() += 1;
    }
    eprintln!(
        "connections cut: {} orders, answers {statuses:?}",
        accepted.len()
    );
    assert!(!statuses.contains_key(&500), "no 500: {statuses:?}");
    assert_eq!(parked(&drill).await, 0, "nothing parked");
    assert_conservation(&drill, &running.users, &accepted).await;
}
