//! The servers the drill takes away: the PostgreSQL primary (killed, its
//! standby promoted, then rebuilt by `scripts/stack up` as the new
//! standby) and the Redis Cluster primary holding the queue's slot (killed,
//! its replica promoted by the cluster, then restarted as a replica).

use std::process::Command;
use std::time::{Duration, Instant};

use system_tests::conservation::connect;

/// Kills a process the way a lost server goes: no goodbye.
fn kill_9(pid: u32) {
    let status = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -9 {pid}");
}

/// Runs `scripts/stack up` (STACK_HA and STACK_DIR come from the
/// environment): what brings a lost server back, as a replica of the
/// survivor. Returns what it said.
pub fn stack_up() -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/stack");
    let output = Command::new(script)
        .arg("up")
        .env("STACK_NO_BUILD", "1")
        .output()
        .expect("running scripts/stack up");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "scripts/stack up failed:\n{said}");
    said
}

/// Polls `check` every 200 ms until it holds; the time it took, or a panic
/// naming `what` after `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let began = Instant::now();
    while !check().await {
        assert!(began.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    began.elapsed()
}

pub struct Postgres {
    pub ports: Vec<u16>,
}

impl Postgres {
    fn url(port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres?connect_timeout=2")
    }

    /// Whether the server on `port` is a primary; `None` if it is down.
    async fn is_primary(port: u16) -> Option<bool> {
        let db = connect(&Self::url(port)).await.ok()?;
        let row = db.query_one("SELECT pg_is_in_recovery()", &[]).await.ok()?;
        Some(!row.get::<_, bool>(0))
    }

    /// The primary's port and the standby's.
    pub async fn roles(&self) -> (u16, u16) {
        let mut primaries = Vec::new();
        let mut standbys = Vec::new();
        for &port in &self.ports {
            match Self::is_primary(port).await {
                Some(true) => primaries.push(port),
                Some(false) => standbys.push(port),
                None => {}
            }
        }
        match (primaries.as_slice(), standbys.as_slice()) {
            (&[primary], &[standby]) => (primary, standby),
            _ => panic!("expected one primary and one standby, found primaries {primaries:?}, standbys {standbys:?}"),
        }
    }

    /// Whether the primary on `port` has a standby confirming every commit.
    pub async fn has_sync_standby(port: u16) -> bool {
        let Ok(db) = connect(&Self::url(port)).await else {
            return false;
        };
        db.query_one(
            "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'",
            &[],
        )
        .await
        .map(|row| row.get::<_, i64>(0) > 0)
        .unwrap_or(false)
    }

    /// Kills the primary's postmaster with SIGKILL.
    pub async fn kill(port: u16) {
        let db = connect(&Self::url(port))
            .await
            .expect("the primary answers");
        let pid_file: String = db
            .query_one("SELECT pg_read_file('postmaster.pid')", &[])
            .await
            .expect("postmaster.pid")
            .get(0);
        let pid = pid_file
            .lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .expect("a pid on postmaster.pid's first line");
        kill_9(pid);
    }

    /// Promotes the standby on `port`. With no other server left it writes
    /// unprotected (no synchronous standby) until the old primary rejoins.
    pub async fn promote(port: u16) {
        let db = connect(&Self::url(port))
            .await
            .expect("the standby answers");
        let promoted: bool = db
            .query_one("SELECT pg_promote(true, 60)", &[])
            .await
            .expect("pg_promote")
            .get(0);
        assert!(promoted, "127.0.0.1:{port} promoted");
        for statement in [
            "ALTER SYSTEM SET synchronous_standby_names = ''",
            "SELECT pg_reload_conf()",
        ] {
            db.execute(statement, &[])
                .await
                .unwrap_or_else(|err| panic!("{statement}: {err}"));
        }
    }
}

pub struct RedisCluster {
    pub ports: Vec<u16>,
}

/// One line of CLUSTER NODES.
struct Node {
    port: u16,
    primary: bool,
    failed: bool,
    slots: Vec<(u16, u16)>,
}

impl RedisCluster {
    async fn connection(port: u16) -> Option<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)));
        client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .ok()
    }

    async fn command(port: u16, args: &[&str]) -> Option<redis::Value> {
        let mut conn = Self::connection(port).await?;
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query_async(&mut conn).await.ok()
    }

    async fn text(port: u16, args: &[&str]) -> Option<String> {
        match Self::command(port, args).await? {
            redis::Value::BulkString(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            redis::Value::VerbatimString { text, .. } => Some(text),
            redis::Value::SimpleString(text) => Some(text),
            _ => None,
        }
    }

    /// The cluster's nodes as the first node that answers sees them.
    async fn nodes(&self, skip: Option<u16>) -> Vec<Node> {
        for &port in self.ports.iter().filter(|p| Some(**p) != skip) {
            let Some(text) = Self::text(port, &["CLUSTER", "NODES"]).await else {
                continue;
            };
            return text.lines().filter_map(parse_node).collect();
        }
        Vec::new()
    }

    /// The port of the primary serving `key`'s slot, as the nodes other
    /// than `skip` see it; `None` while it is failed or unknown.
    pub async fn primary_of(&self, key: &str, skip: Option<u16>) -> Option<u16> {
        let port = self.ports.iter().copied().find(|p| Some(*p) != skip)?;
        let mut conn = Self::connection(port).await?;
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query_async(&mut conn)
            .await
            .ok()?;
        self.nodes(skip)
            .await
            .into_iter()
            .find(|node| {
                node.primary
                    && !node.failed
                    && node.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot))
            })
            .map(|node| node.port)
    }

    /// Kills the node on `port` with SIGKILL.
    pub async fn kill(port: u16) {
        let info = Self::text(port, &["INFO", "server"])
            .await
            .expect("the node answers INFO");
        let pid = info
            .lines()
            .find_map(|line| line.strip_prefix("process_id:"))
            .and_then(|pid| pid.trim().parse().ok())
            .expect("INFO server names its process_id");
        kill_9(pid);
    }

    /// Every node answers, says the cluster is ok, and every replica is
    /// in step with its primary.
    pub async fn whole(&self) -> bool {
        for &port in &self.ports {
            let Some(info) = Self::text(port, &["CLUSTER", "INFO"]).await else {
                return false;
            };
            if !info.contains("cluster_state:ok") {
                return false;
            }
            let Some(replication) = Self::text(port, &["INFO", "replication"]).await else {
                return false;
            };
            if replication.contains("role:slave") && !replication.contains("master_link_status:up")
            {
                return false;
            }
        }
        true
    }
}

fn parse_node(line: &str) -> Option<Node> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let address = fields.get(1)?;
    let port = address
        .split('@')
        .next()?
        .rsplit(':')
        .next()?
        .parse()
        .ok()?;
    let flags = fields.get(2)?;
    let slots = fields
        .iter()
        .skip(8)
        .filter(|range| !range.starts_with('['))
        .filter_map(|range| match range.split_once('-') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => range.parse().ok().map(|slot| (slot, slot)),
        })
        .collect();
    Some(Node {
        port,
        primary: flags.contains("master"),
        failed: flags.contains("fail"),
        slots,
    })
}
