//! loadgen: the load benchmark behind `scripts/bench`; also the upgrade
//! drill's load (`loadgen upgrade-drill`, see drill.rs) and the demo data
//! (`loadgen demo`, see demo.rs).
//!
//! It signs up its own users (with deposits large enough), then places orders
//! through the public API: open loop at fixed offered rates (latency measured
//! from each request's intended start, so a stall is not hidden), closed
//! loop flat out, then open loop again at half the best rate seen (where the
//! latency target is set; only after a closed loop). Saga latency comes from
//! the orders database (accepted to final). After the load it reads the databases' commit counters, the
//! services' peak memory and CPU time, and checks conservation: a run that
//! breaks it is a failed run whatever its speed.
#![forbid(unsafe_code)]

mod api;
mod demo;
mod drill;
mod load;
mod loops;
mod plot;
mod report;
mod system;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

/// What to run, from the command line (see `usage`).
pub struct Plan {
    pub gateway: String,
    pub pg_url: String,
    pub pids_dir: PathBuf,
    pub out_dir: PathBuf,
    pub users: usize,
    pub rates: Vec<u32>,
    pub stage: Duration,
    pub closed_concurrency: usize,
    pub ceiling_commits_per_sec: f64,
    pub pgbench_clients: u32,
}

fn usage() -> &'static str {
    "loadgen [--quick] [--rates N,N,...] [--seconds S] [--closed N (0: none)] [--gateway URL] \
     [--pg URL] [--pids DIR] [--out DIR] [--ceiling COMMITS_PER_SEC] [--pgbench-clients N]"
}

/// Calls `apply(flag, value)` for each argument after the first `skip`;
/// `value()` takes the flag's value, or says that it needs one.
fn for_each_flag(
    skip: usize,
    usage: &str,
    mut apply: impl FnMut(&str, &mut dyn FnMut() -> anyhow::Result<String>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut args = std::env::args().skip(skip);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{arg} needs a value; usage: {usage}"))
        };
        apply(&arg, &mut value)?;
    }
    Ok(())
}

fn parse() -> anyhow::Result<Plan> {
    let mut plan = Plan {
        gateway: "http://127.0.0.1:8080".into(),
        pg_url: "postgres://postgres@127.0.0.1:55432".into(),
        pids_dir: PathBuf::from(".stack/pids"),
        out_dir: PathBuf::from("bench/results"),
        users: 40,
        rates: vec![100, 200, 300, 400, 800],
        stage: Duration::from_secs(10),
        closed_concurrency: 64,
        ceiling_commits_per_sec: 0.0,
        pgbench_clients: 0,
    };
    for_each_flag(1, usage(), |arg, value| {
        match arg {
            "--quick" => {
                plan.users = 8;
                plan.rates = vec![50, 100];
                plan.stage = Duration::from_secs(3);
                plan.closed_concurrency = 16;
            }
            "--rates" => {
                plan.rates = value()?
                    .split(',')
                    .filter(|rate| !rate.is_empty())
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .context("--rates: whole orders per second, comma-separated")?
            }
            "--seconds" => plan.stage = Duration::from_secs(value()?.parse().context("--seconds")?),
            "--closed" => plan.closed_concurrency = value()?.parse().context("--closed")?,
            "--gateway" => plan.gateway = value()?,
            "--pg" => plan.pg_url = value()?,
            "--pids" => plan.pids_dir = value()?.into(),
            "--out" => plan.out_dir = value()?.into(),
            "--ceiling" => plan.ceiling_commits_per_sec = value()?.parse().context("--ceiling")?,
            "--pgbench-clients" => {
                plan.pgbench_clients = value()?.parse().context("--pgbench-clients")?
            }
            other => bail!("unknown argument {other}; usage: {}", usage()),
        }
        Ok(())
    })?;
    Ok(plan)
}

fn parse_drill() -> anyhow::Result<drill::Drill> {
    let usage = "loadgen upgrade-drill --from DIR --to DIR [--stack scripts/stack] [--users N] \
                 [--between-ms N] [--upgrade-only] [--gateway URL] [--pg URL]";
    let mut drill = drill::Drill {
        gateway: "http://127.0.0.1:8080".into(),
        pg_url: "postgres://postgres@127.0.0.1:55432".into(),
        users: 40,
        from_bin: PathBuf::new(),
        to_bin: PathBuf::new(),
        stack: PathBuf::from("scripts/stack"),
        upgrade_only: false,
        between: Duration::from_secs(2),
    };
    for_each_flag(2, usage, |arg, value| {
        match arg {
            "--from" => drill.from_bin = value()?.into(),
            "--to" => drill.to_bin = value()?.into(),
            "--stack" => drill.stack = value()?.into(),
            "--users" => drill.users = value()?.parse().context("--users")?,
            "--between-ms" => {
                drill.between = Duration::from_millis(value()?.parse().context("--between-ms")?)
            }
            "--upgrade-only" => drill.upgrade_only = true,
            "--gateway" => drill.gateway = value()?,
            "--pg" => drill.pg_url = value()?,
            other => bail!("unknown argument {other}; usage: {usage}"),
        }
        Ok(())
    })?;
    if drill.from_bin.as_os_str().is_empty() || drill.to_bin.as_os_str().is_empty() {
        bail!("--from and --to are required; usage: {usage}");
    }
    Ok(drill)
}

fn parse_demo() -> anyhow::Result<demo::Demo> {
    let usage = "loadgen demo [--gateway URL] [--pg URL] [--json FILE] [--no-parked]";
    let mut demo = demo::Demo {
        gateway: "http://127.0.0.1:8080".into(),
        pg_url: "postgres://postgres@127.0.0.1:55432".into(),
        json: None,
        parked: true,
    };
    for_each_flag(2, usage, |arg, value| {
        match arg {
            "--no-parked" => demo.parked = false,
            "--gateway" => demo.gateway = value()?,
            "--pg" => demo.pg_url = value()?,
            "--json" => demo.json = Some(value()?.into()),
            other => bail!("unknown argument {other}; usage: {usage}"),
        }
        Ok(())
    })?;
    Ok(demo)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("upgrade-drill") => return drill::run(&parse_drill()?).await,
        Some("demo") => return demo::run(&parse_demo()?).await,
        _ => {}
    }
    if matches!(std::env::args().nth(1).as_deref(), Some("--version" | "-V")) {
        println!("loadgen {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    let plan = parse()?;
    let report = load::run(&plan).await?;
    report::write(&plan, &report)?;
    if !report.conservation.holds() {
        bail!("conservation broken: {:?}", report.conservation.problems);
    }
    if report.completed_total() == 0 {
        bail!("no order completed");
    }
    Ok(())
}
