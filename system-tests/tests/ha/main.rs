//! The high-availability drill: orders placed through the gateway by 40
//! shoppers while the PostgreSQL primary is killed and its synchronous
//! standby promoted (twice, one way and back), and while the Redis
//! Cluster primary holding the queue's slot is killed (twice). Afterwards
//! every order that got a 201 is final and none is doubled, nothing is
//! parked, and money, stock and slots add up.
//!
//! It needs the stack in high-availability mode, which `scripts/ha-drill`
//! starts (`STACK_HA=1 scripts/stack up`, its own `STACK_DIR`); it brings
//! each lost server back with `scripts/stack up`, as the stack would. Each
//! fault's figures are printed: how long until orders complete again, what
//! the shoppers got meanwhile, and how long PostgreSQL wrote without a
//! synchronous standby.

mod load;
mod servers;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use load::{Attempt, Load};
use servers::{stack_up, wait_for, Postgres, RedisCluster};
use system_tests::conservation::{assert_conservation, connect, Databases};
use system_tests::{unique_name, LocalStack};

const SHOPPERS: usize = 40;
const QUEUE_KEY: &str = "{orders}:queue";

fn ports(var: &str, default: &str) -> Vec<u16> {
    std::env::var(var)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|port| port.trim().parse().expect("a port number"))
        .collect()
}

/// What a fault kills: the PostgreSQL primary (its standby is then
/// promoted), or the Redis primary that serves the queue's slot.
#[derive(Clone, Copy)]
enum Fault {
    PostgresPrimary,
    QueueRedisPrimary,
}

/// What one fault did.
struct Finding {
    fault: String,
    /// From the kill until an order placed after it was final.
    recovered_after: Duration,
    /// PostgreSQL: from the promotion until then.
    after_promotion: Option<Duration>,
    /// PostgreSQL: from the promotion until a standby confirmed commits again.
    unprotected: Option<Duration>,
    clients_saw: BTreeMap<String, usize>,
}

struct Orders {
    url: String,
}

impl Orders {
    /// The database's clock, as seconds since the epoch.
    async fn now(&self) -> f64 {
        let db = connect(&self.url).await.expect("the orders database");
        db.query_one("SELECT extract(epoch FROM now())::float8", &[])
            .await
            .expect("now()")
            .get(0)
    }

    /// Whether an order placed after `since` is final.
    async fn final_since(&self, since: f64) -> bool {
        let Ok(db) = connect(&self.url).await else {
            return false;
        };
        db.query_one(
            "SELECT count(*) FROM orders WHERE created_at > to_timestamp($1) AND status <> 'pending'",
            &[&since],
        )
        .await
        .map(|row| row.get::<_, i64>(0) > 0)
        .unwrap_or(false)
    }

    async fn pending_among(&self, ids: &[i64]) -> Option<i64> {
        let db = connect(&self.url).await.ok()?;
        db.query_one(
            "SELECT count(*) FROM orders WHERE id = ANY($1) AND status = 'pending'",
            &[&ids],
        )
        .await
        .ok()
        .map(|row| row.get(0))
    }

    async fn count_of(&self, prefix: &str) -> i64 {
        let db = connect(&self.url).await.expect("the orders database");
        db.query_one(
            "SELECT count(*) FROM orders WHERE username LIKE $1 || '%'",
            &[&prefix],
        )
        .await
        .expect("count")
        .get(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_survive_losing_the_database_primary_and_the_queues_redis_primary() {
    let stack = LocalStack::from_env();
    let postgres = Postgres {
        ports: ports("HA_PG_PORTS", "55432,55433"),
    };
    let cluster = RedisCluster {
        ports: ports("HA_REDIS_PORTS", "56379,56380,56381,56382,56383,56384"),
    };
    let hosts: Vec<String> = postgres
        .ports
        .iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    let server = format!("postgres://postgres@{}", hosts.join(","));
    let query = "?target_session_attrs=read-write&connect_timeout=2";
    let databases = Databases::on(&server, query);
    let orders = Orders {
        url: databases.orders.clone(),
    };
    postgres.roles().await;
    wait_for("the Redis Cluster whole", Duration::from_secs(60), || {
        cluster.whole()
    })
    .await;

    let prefix = unique_name("ha");
    let shoppers = load::shoppers(&stack, &prefix, SHOPPERS).await;
    let stop = Arc::new(AtomicBool::new(false));
    let shopping = tokio::spawn(load::run(
        stack.gateway.clone(),
        shoppers,
        Duration::from_millis(250),
        stop.clone(),
    ));

    let mut findings = Vec::new();
    let mut clocks = Vec::new();
    use Fault::{PostgresPrimary, QueueRedisPrimary};
    for fault in [
        PostgresPrimary,
        PostgresPrimary,
        QueueRedisPrimary,
        QueueRedisPrimary,
    ] {
        tokio::time::sleep(Duration::from_secs(4)).await;
        let killed = Instant::now();
        let finding = match fault {
            PostgresPrimary => {
                let (primary, standby) = postgres.roles().await;
                Postgres::kill(primary).await;
                Postgres::promote(standby).await;
                let promoted = Instant::now();
                // Recovered: an order placed since then is final.
                let since = orders.now().await;
                wait_for(
                    "orders complete after the promotion",
                    Duration::from_secs(60),
                    || orders.final_since(since),
                )
                .await;
                let recovered = Instant::now();
                let said = stack_up();
                eprintln!(
                    "{}",
                    said.lines()
                        .filter(|l| l.contains("rebuilt"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                wait_for(
                    "a synchronous standby again",
                    Duration::from_secs(120),
                    || Postgres::has_sync_standby(standby),
                )
                .await;
                Finding {
                    fault: format!("PostgreSQL primary 127.0.0.1:{primary} killed, 127.0.0.1:{standby} promoted"),
                    recovered_after: recovered - killed,
                    after_promotion: Some(recovered - promoted),
                    unprotected: Some(promoted.elapsed()),
                    clients_saw: BTreeMap::new(),
                }
            }
            QueueRedisPrimary => {
                let port = cluster
                    .primary_of(QUEUE_KEY, None)
                    .await
                    .expect("a primary serves the queue's slot");
                RedisCluster::kill(port).await;
                let since = orders.now().await;
                wait_for(
                    "orders complete after the Redis failover",
                    Duration::from_secs(60),
                    || orders.final_since(since),
                )
                .await;
                let recovered = Instant::now();
                wait_for(
                    "a replica serving the queue's slot",
                    Duration::from_secs(30),
                    || async {
                        let primary = cluster.primary_of(QUEUE_KEY, Some(port)).await;
                        primary.is_some_and(|p| p != port)
                    },
                )
                .await;
                stack_up();
                wait_for("the cluster whole again", Duration::from_secs(60), || {
                    cluster.whole()
                })
                .await;
                Finding {
                    fault: format!("Redis primary 127.0.0.1:{port} of the queue's slot killed"),
                    recovered_after: recovered - killed,
                    after_promotion: None,
                    unprotected: None,
                    clients_saw: BTreeMap::new(),
                }
            }
        };
        clocks.push((killed, killed + finding.recovered_after));
        findings.push(finding);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let Load { accepted, attempts } = shopping.await.expect("the shoppers ran");
    for (finding, (from, to)) in findings.iter_mut().zip(&clocks) {
        finding.clients_saw = outcomes(attempts.iter().filter(|a| a.at >= *from && a.at <= *to));
    }

    let ids: Vec<i64> = accepted.iter().map(|a| a.id).collect();
    wait_for(
        "every accepted order final",
        Duration::from_secs(180),
        || async { orders.pending_among(&ids).await == Some(0) },
    )
    .await;

    let all = outcomes(attempts.iter());
    report(&findings, accepted.len(), &all);
    let unexpected: Vec<&String> = all
        .keys()
        .filter(|outcome| {
            !["201", "429", "502", "503", "504", "connection error"].contains(&outcome.as_str())
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "answers no client should get: {unexpected:?}"
    );
    assert!(
        accepted.len() >= 800,
        "at least 800 orders accepted, {}",
        accepted.len()
    );
    let distinct: std::collections::BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        accepted.len(),
        "each key's 201 named an order of its own"
    );
    let keys: std::collections::BTreeSet<&str> = accepted.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys.len(), accepted.len(), "one 201 per key");
    assert_eq!(
        orders.count_of(&prefix).await as usize,
        accepted.len(),
        "one order in the database per accepted key: none doubled, none unanswered"
    );
    assert_conservation(&databases).await;
}

fn outcomes<'a>(attempts: impl Iterator<Item = &'a Attempt>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for attempt in attempts {
        *counts.entry(attempt.outcome.clone()).or_default() += 1;
    }
    counts
}

fn report(findings: &[Finding], accepted: usize, all: &BTreeMap<String, usize>) {
    let seconds = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    eprintln!("\nhigh-availability drill: {accepted} orders accepted; every answer: {all:?}");
    for finding in findings {
        eprintln!(
            "- {}: orders complete again {} after the kill{}{}; clients meanwhile: {:?}",
            finding.fault,
            seconds(finding.recovered_after),
            finding
                .after_promotion
                .map(|d| format!(" ({} after the promotion)", seconds(d)))
                .unwrap_or_default(),
            finding
                .unprotected
                .map(|d| format!("; no synchronous standby for {}", seconds(d)))
                .unwrap_or_default(),
            finding.clients_saw,
        );
    }
}
