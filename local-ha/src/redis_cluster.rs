//! Six Redis nodes on REDIS_PORT and the five ports after it, each with its
//! data (AOF) and nodes.conf in $STACK_DIR/redis-cluster/PORT; made into a
//! cluster of 3 primaries and 3 replicas once, after which they find each
//! other again from nodes.conf. Each node's cluster bus listens on its port
//! plus 5000 (61379-61384): Redis's default, the port plus 10000, is past
//! 65535, and ports below 61000 are Linux's ephemeral range, which any
//! outgoing connection may hold.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::bail;

use crate::system::{line, pid_alive, port_in_use, run_logged, run_quiet, say, tail, terminate};
use crate::Stack;

const BUS_OFFSET: u16 = 5000;

#[derive(PartialEq, Eq)]
enum OnPort {
    /// This node (its data folder is ours).
    Ours,
    /// Another Redis, or something else.
    Foreign,
    Nothing,
}

/// A line of CLUSTER NODES: id addr@cport flags primary-id ping pong epoch
/// link slots...
struct Node<'a> {
    id: &'a str,
    address: &'a str,
    flags: &'a str,
    primary: &'a str,
    slots: Vec<&'a str>,
}

fn nodes(text: &str) -> Vec<Node<'_>> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() >= 8).then(|| Node {
                id: fields[0],
                address: fields[1].split('@').next().unwrap_or_default(),
                flags: fields[2],
                primary: fields[3],
                slots: fields[8..].to_vec(),
            })
        })
        .collect()
}

impl Node<'_> {
    fn is_primary(&self) -> bool {
        self.flags.contains("master")
    }

    fn holds(&self, slot: u16) -> bool {
        self.slots.iter().any(|range| {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            match (first.parse::<u16>(), last.parse::<u16>()) {
                (Ok(first), Ok(last)) => (first..=last).contains(&slot),
                _ => false,
            }
        })
    }
}

pub struct Cluster<'a> {
    stack: &'a Stack,
}

impl<'a> Cluster<'a> {
    pub fn new(stack: &'a Stack) -> Self {
        Self { stack }
    }

    fn dir(&self) -> PathBuf {
        self.stack.dir.join("redis-cluster")
    }

    fn pid_file(&self, port: u16) -> PathBuf {
        self.stack.dir.join(format!("pids/redis-{port}.pid"))
    }

    fn log(&self, port: u16) -> PathBuf {
        self.stack.dir.join(format!("logs/redis-{port}.log"))
    }

    /// A command's reply on the node, as text; None when it does not answer
    /// (or answers an error, as LOADING while it reads its AOF back).
    fn ask(&self, port: u16, args: &[&str]) -> Option<String> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
        let mut connection = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .ok()?;
        let mut command = redis::cmd(args[0]);
        for arg in &args[1..] {
            command.arg(*arg);
        }
        match command.query::<redis::Value>(&mut connection).ok()? {
            redis::Value::Array(values) => Some(
                values
                    .into_iter()
                    .filter_map(|v| redis::from_redis_value::<String>(v).ok())
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            value => redis::from_redis_value::<String>(value).ok(),
        }
    }

    fn on_port(&self, port: u16) -> OnPort {
        if self.ask(port, &["PING"]).is_none() {
            return if port_in_use(port) {
                OnPort::Foreign
            } else {
                OnPort::Nothing
            };
        }
        // CONFIG GET dir: the name, then the value.
        let dir = self
            .ask(port, &["CONFIG", "GET", "dir"])
            .unwrap_or_default();
        let dir = PathBuf::from(dir.lines().nth(1).unwrap_or_default());
        let ours = self.dir().join(port.to_string());
        match (dir.canonicalize(), ours.canonicalize()) {
            (Ok(a), Ok(b)) if a == b => OnPort::Ours,
            _ => OnPort::Foreign,
        }
    }

    /// One field of the node's CLUSTER INFO.
    fn info(&self, port: u16, field: &str) -> String {
        let info = self.ask(port, &["CLUSTER", "INFO"]).unwrap_or_default();
        info.lines()
            .find_map(|line| {
                line.trim()
                    .strip_prefix(&format!("{field}:"))
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    }

    pub fn up(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(self.stack.dir.join("pids"))?;
        std::fs::create_dir_all(self.stack.dir.join("logs"))?;
        for &port in &self.stack.redis_ports {
            match self.on_port(port) {
                OnPort::Ours => continue,
                OnPort::Foreign => bail!("127.0.0.1:{port} is taken by another program (not this stack's Redis Cluster node): stop it or set REDIS_PORT"),
                OnPort::Nothing => {}
            }
            if let Some(pid) = pid_alive(&self.pid_file(port), "redis-server") {
                bail!("this stack's Redis node for {port} (pid {pid}) runs on another port: run scripts/stack down first");
            }
            let bus = port + BUS_OFFSET;
            if port_in_use(bus) {
                bail!("127.0.0.1:{bus} (the cluster bus of the Redis node {port}) is taken by another program: stop it or set REDIS_PORT");
            }
            say(&format!("starting Redis Cluster node 127.0.0.1:{port}"));
            let dir = self.dir().join(port.to_string());
            std::fs::create_dir_all(&dir)?;
            // AOF with fsync every second, no RDB snapshots: as the default mode.
            let started = run_quiet(
                Command::new("redis-server")
                    .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--dir"])
                    .arg(&dir)
                    .args([
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                    ])
                    .args([
                        "--cluster-node-timeout",
                        "3000",
                        "--cluster-port",
                        &bus.to_string(),
                    ])
                    .args([
                        "--appendonly",
                        "yes",
                        "--appendfsync",
                        "everysec",
                        "--save",
                        "",
                    ])
                    .args(["--daemonize", "yes", "--pidfile"])
                    .arg(self.pid_file(port))
                    .arg("--logfile")
                    .arg(self.log(port)),
            );
            if !started {
                bail!("redis-server did not start on 127.0.0.1:{port}");
            }
        }
        // Ready means PONG: while Redis reads its append-only file back it
        // answers every command with LOADING.
        for &port in &self.stack.redis_ports {
            if !(0..600).any(|_| {
                let pong = self.ask(port, &["PING"]).as_deref() == Some("PONG");
                if !pong {
                    std::thread::sleep(Duration::from_millis(100));
                }
                pong
            }) {
                bail!(
                    "Redis node 127.0.0.1:{port} did not become ready in 60 s; see {}",
                    self.log(port).display()
                );
            }
        }
        // New nodes know only themselves; nodes of a made cluster, from
        // their nodes.conf, the five others.
        let fresh = self
            .stack
            .redis_ports
            .iter()
            .filter(|&&port| self.info(port, "cluster_known_nodes") == "1")
            .count();
        if fresh == self.stack.redis_ports.len() {
            say("creating the Redis Cluster: 3 primaries, 3 replicas");
            let log = self.stack.dir.join("logs/redis-cluster-create.log");
            let created = run_logged(
                Command::new("redis-cli")
                    .args(["--cluster", "create"])
                    .args(
                        self.stack
                            .redis_ports
                            .iter()
                            .map(|port| format!("127.0.0.1:{port}")),
                    )
                    .args(["--cluster-replicas", "1", "--cluster-yes"]),
                &log,
            )?;
            if !created {
                bail!("redis-cli --cluster create failed:\n{}", tail(&log, 20));
            }
        } else if fresh != 0 {
            let dir = self.dir();
            bail!(
                "the Redis Cluster in {} is made but {fresh} of its nodes lost their nodes.conf: remove {} (and its queued ids: the sweeper brings them back) and run STACK_HA=1 scripts/stack up again",
                dir.display(),
                dir.display()
            );
        }
        // Ready: every node says ok and knows each primary's replica (after
        // the creation, gossip takes a moment to tell every node).
        for _ in 0..300 {
            let ready = self.stack.redis_ports.iter().all(|&port| {
                let text = self.ask(port, &["CLUSTER", "NODES"]).unwrap_or_default();
                let replicas = nodes(&text)
                    .iter()
                    .filter(|node| node.flags.contains("slave") && node.primary.len() == 40)
                    .count();
                self.info(port, "cluster_state") == "ok" && replicas == 3
            });
            if ready {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let first = self.stack.redis_ports[0];
        bail!(
            "the Redis Cluster is not ok after 60 s (cluster_state on 127.0.0.1:{first}: {}); see {}/logs/redis-*.log",
            self.info(first, "cluster_state"),
            self.stack.dir.display()
        )
    }

    pub fn down(&self) {
        for &port in &self.stack.redis_ports {
            match self.on_port(port) {
                // SHUTDOWN (not NOSAVE) flushes the AOF before exiting.
                OnPort::Ours => {
                    let _ = self.ask(port, &["SHUTDOWN"]);
                }
                OnPort::Foreign => say(&format!(
                    "leaving alone the Redis on port {port}: it is not this stack's"
                )),
                OnPort::Nothing => {}
            }
            if let Some(pid) = pid_alive(&self.pid_file(port), "redis-server") {
                terminate(pid);
            }
            let _ = std::fs::remove_file(self.pid_file(port));
        }
    }

    /// Each node's role, the cluster's state, and the nodes that hold the
    /// queue's slot.
    pub fn status(&self) {
        let mut seed = None;
        for &port in &self.stack.redis_ports {
            if self.on_port(port) != OnPort::Ours {
                line(&format!("{:<10} node 127.0.0.1:{port} stopped", "redis"));
                continue;
            }
            seed = Some(port);
            let text = self.ask(port, &["CLUSTER", "NODES"]).unwrap_or_default();
            let all = nodes(&text);
            let role = match all.iter().find(|node| node.flags.contains("myself")) {
                Some(me) if me.is_primary() => {
                    let slots = me.slots.join(" ");
                    format!(
                        "primary, slots {}",
                        if slots.is_empty() { "none" } else { &slots }
                    )
                }
                Some(me) => {
                    let primary = all.iter().find(|node| node.id == me.primary);
                    format!("replica of {}", primary.map_or(me.primary, |p| p.address))
                }
                None => "not in a cluster".to_owned(),
            };
            let pid = std::fs::read_to_string(self.pid_file(port)).unwrap_or_else(|_| "?".into());
            line(&format!(
                "{:<10} node 127.0.0.1:{port} running (pid {}), {role}",
                "redis",
                pid.trim()
            ));
        }
        let Some(seed) = seed else {
            return;
        };
        let slot: u16 = self
            .ask(seed, &["CLUSTER", "KEYSLOT", "{orders}:queue"])
            .and_then(|slot| slot.parse().ok())
            .unwrap_or_default();
        let text = self.ask(seed, &["CLUSTER", "NODES"]).unwrap_or_default();
        let all = nodes(&text);
        let owner = all
            .iter()
            .find(|node| node.is_primary() && !node.flags.contains("fail") && node.holds(slot));
        let replicas: Vec<String> = owner
            .map(|owner| {
                all.iter()
                    .filter(|node| node.primary == owner.id)
                    .map(|node| {
                        let down = if node.flags.contains("fail") {
                            " (down)"
                        } else {
                            ""
                        };
                        format!("{}{down}", node.address)
                    })
                    .collect()
            })
            .unwrap_or_default();
        line(&format!(
            "{:<10} cluster_state {}, {} nodes known; {{orders}}:queue is slot {slot}, on primary {}, replica {}",
            "redis",
            self.info(seed, "cluster_state"),
            self.info(seed, "cluster_known_nodes"),
            owner.map_or("", |owner| owner.address),
            if replicas.is_empty() { "none".to_owned() } else { replicas.join(", ") }
        ));
    }
}
