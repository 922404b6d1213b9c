//! The local stack's high-availability servers, which `STACK_HA=1
//! scripts/stack` runs: a PostgreSQL primary with its synchronous standby
//! (postgres/ says how they fail over and come back) and a Redis Cluster
//! of six nodes (redis_cluster.rs). scripts/stack starts the services; this
//! keeps their databases.
//!
//!   local-ha up        both servers and the cluster up, the standby
//!                      synchronous (a deposed primary rebuilt as the
//!                      standby)
//!   local-ha down      the primary first, then the standby, then the nodes
//!   local-ha status    which server is which, the replication, each node
//!   local-ha promote   the standby becomes the primary (refused while the
//!                      primary answers)
//!
//! Its settings are scripts/lib.sh's, in the environment: STACK_DIR,
//! PG_DIR, RUN_DIR, TLS_DIR, PG_BIN, PG_PORT, PG_HA_PORT and REDIS_PORT (the
//! cluster's first port).
#![forbid(unsafe_code)]

mod postgres;
mod redis_cluster;
mod system;

use std::path::PathBuf;

use anyhow::Context;

pub struct Stack {
    pub dir: PathBuf,
    pub pg_dir: PathBuf,
    pub run_dir: PathBuf,
    pub tls_dir: PathBuf,
    pub pg_bin: PathBuf,
    /// PG_PORT, PG_HA_PORT.
    pub pg_ports: [u16; 2],
    pub redis_ports: Vec<u16>,
}

impl Stack {
    fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| {
            std::env::var(name)
                .with_context(|| format!("{name} is not set (scripts/stack sets it)"))
        };
        let port = |name: &str| -> anyhow::Result<u16> {
            var(name)?
                .parse()
                .with_context(|| format!("{name}: a port"))
        };
        let redis: u16 = port("REDIS_PORT")?;
        Ok(Self {
            dir: var("STACK_DIR")?.into(),
            pg_dir: var("PG_DIR")?.into(),
            run_dir: var("RUN_DIR")?.into(),
            tls_dir: var("TLS_DIR")?.into(),
            pg_bin: var("PG_BIN")?.into(),
            pg_ports: [port("PG_PORT")?, port("PG_HA_PORT")?],
            redis_ports: (0..6).map(|i| redis + i).collect(),
        })
    }
}

async fn run(command: &str) -> anyhow::Result<()> {
    let stack = Stack::from_env()?;
    let pair = postgres::Pair::new(&stack);
    let cluster = redis_cluster::Cluster::new(&stack);
    match command {
        "up" => {
            pair.up().await?;
            cluster.up()?;
        }
        "down" => {
            cluster.down();
            pair.down().await;
        }
        "status" => {
            pair.status().await;
            cluster.status();
        }
        "promote" => pair.promote().await?,
        _ => anyhow::bail!("usage: local-ha up|down|status|promote"),
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let command = std::env::args().nth(1).unwrap_or_default();
    if command == "--version" {
        println!("local-ha {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    if let Err(err) = run(&command).await {
        eprintln!("[stack] error: {err:#}");
        std::process::exit(1);
    }
}
