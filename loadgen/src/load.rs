//! The run: users, the stages in order (the open-loop ramp, the closed
//! loop, the stage at half the best rate), and what each stage measured.

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::time::Instant;

use crate::api::Api;
use crate::loops::{closed_loop, open_loop, Placed};
use crate::system::{self, MachineCpu, ProcessUse};
use crate::Plan;
use loadgen::conservation::{self, connect, Databases, Verdict};

/// One stage's figures. Latencies in milliseconds.
#[derive(Debug, Serialize)]
pub struct Stage {
    pub label: String,
    pub offered_per_sec: Option<u32>,
    pub seconds: f64,
    pub accepted: u64,
    pub errors: u64,
    pub accepted_per_sec: f64,
    pub finished: u64,
    pub completed: u64,
    pub sagas_per_sec: f64,
    pub accept_p50_ms: f64,
    pub accept_p99_ms: f64,
    pub accept_p999_ms: f64,
    pub saga_p50_ms: f64,
    pub saga_p99_ms: f64,
    pub commits_per_saga: f64,
    pub wal_flushes_per_saga: f64,
    /// The mean WAL flush; `None` when the server does not time them.
    pub wal_flush_ms: Option<f64>,
    /// Percent of the stage's time the WAL was being flushed: flushes are
    /// one at a time, so near 100% every commit queues for its flush.
    pub wal_busy_pct: Option<f64>,
    /// Percent of all the cores' time while the stage ran (until its last
    /// saga finished): busy, and taken by the host.
    pub cpu_busy_pct: f64,
    pub cpu_steal_pct: f64,
    /// Open loop: the p99 of how late the load generator sent an order
    /// (waiting for a core, like everything else here).
    pub send_late_p99_ms: Option<f64>,
    /// Offered at half the best rate of the stages before it.
    pub half_the_best: bool,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub cores: usize,
    pub date: String,
    pub stages: Vec<Stage>,
    pub ceiling_commits_per_sec: f64,
    pub pgbench_clients: u32,
    pub best_sagas_per_sec: f64,
    pub ratio_to_ceiling: f64,
    pub processes: Vec<ProcessUse>,
    pub conservation: Verdict,
}

impl Report {
    pub fn completed_total(&self) -> u64 {
        self.stages.iter().map(|s| s.completed).sum()
    }

    /// The stage run at half the best rate, after the closed loop.
    pub fn at_half_the_best(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| s.half_the_best)
    }
}

fn best_rate(stages: &[Stage]) -> f64 {
    stages.iter().map(|s| s.sagas_per_sec).fold(0.0, f64::max)
}

pub async fn run(plan: &Plan) -> anyhow::Result<Report> {
    let processes_before = system::process_use(&plan.pids_dir);
    let api = Api::new(&plan.gateway)?;
    let tag = format!("{:x}", rand::random::<u32>());
    let mut users = Vec::new();
    for n in 0..plan.users {
        users.push(api.new_user(&format!("bench_{tag}_{n}"), 1_000_000).await?);
    }
    let users = Arc::new(users);
    eprintln!("{} users ready", users.len());
    let orders = connect(&format!("{}/orders", plan.pg_url)).await?;
    let mut stages = Vec::new();
    for &rate in &plan.rates {
        let stage = measure(plan, &orders, format!("open {rate}/s"), Some(rate), || {
            open_loop(&api, &users, rate, plan.stage)
        })
        .await?;
        stages.push(stage);
    }
    if plan.closed_concurrency > 0 {
        let stage = measure(
            plan,
            &orders,
            format!("closed x{}", plan.closed_concurrency),
            None,
            || closed_loop(&api, &users, plan.closed_concurrency, plan.stage),
        )
        .await?;
        stages.push(stage);
        // The latency target is set at half the best rate: measure there,
        // now that the best is known.
        let best = best_rate(&stages);
        let half = (best / 2.0).round() as u32;
        if half > 0 {
            let mut stage = measure(
                plan,
                &orders,
                format!("open {half}/s (half the best)"),
                Some(half),
                || open_loop(&api, &users, half, plan.stage),
            )
            .await?;
            stage.half_the_best = true;
            stages.push(stage);
        }
    }

    let best = best_rate(&stages);
    Ok(Report {
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        date: today(),
        ratio_to_ceiling: if plan.ceiling_commits_per_sec > 0.0 {
            best / plan.ceiling_commits_per_sec
        } else {
            0.0
        },
        best_sagas_per_sec: best,
        ceiling_commits_per_sec: plan.ceiling_commits_per_sec,
        pgbench_clients: plan.pgbench_clients,
        processes: system::used_since(&processes_before, system::process_use(&plan.pids_dir)),
        conservation: conservation::check(&Databases::on(&plan.pg_url, "")).await?,
        stages,
    })
}

async fn measure<F, Fut>(
    plan: &Plan,
    orders: &tokio_postgres::Client,
    label: String,
    offered: Option<u32>,
    load: F,
) -> anyhow::Result<Stage>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Placed>>,
{
    let db_before = system::db_counters(&plan.pg_url).await?;
    let (cpu_before, started) = (MachineCpu::now(), Instant::now());
    let placed = load().await?;
    wait_final(orders, &placed.ids).await?;
    let (cpu_busy_pct, cpu_steal_pct) = MachineCpu::now().shares_since(cpu_before);
    let window_ms = started.elapsed().as_secs_f64() * 1000.0;
    // PostgreSQL publishes its counters about once a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let db = system::db_counters(&plan.pg_url).await? - db_before;
    let rows = orders
        .query(
            "SELECT status = 'completed', extract(epoch FROM updated_at - created_at)::float8,
                    extract(epoch FROM created_at)::float8, extract(epoch FROM updated_at)::float8
             FROM orders WHERE id = ANY($1)",
            &[&placed.ids],
        )
        .await?;
    let mut saga = Histogram::<u64>::new(3)?;
    let (mut first, mut last, mut completed) = (f64::MAX, 0.0f64, 0u64);
    for row in &rows {
        completed += u64::from(row.get::<_, bool>(0));
        saga.record((row.get::<_, f64>(1) * 1_000_000.0).max(1.0) as u64)?;
        first = first.min(row.get(2));
        last = last.max(row.get(3));
    }
    let finished = rows.len() as u64;
    let span = (last - first).max(1e-3);
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let timed = db.wal_flushes > 0 && db.wal_flush_ms > 0.0;
    let per_saga = |n: i64| {
        if finished > 0 {
            n as f64 / finished as f64
        } else {
            0.0
        }
    };
    let stage = Stage {
        label,
        offered_per_sec: offered,
        seconds: placed.seconds,
        accepted: placed.ids.len() as u64,
        errors: placed.errors,
        accepted_per_sec: placed.ids.len() as f64 / placed.seconds,
        finished,
        completed,
        sagas_per_sec: finished as f64 / span,
        accept_p50_ms: ms(&placed.latency, 0.5),
        accept_p99_ms: ms(&placed.latency, 0.99),
        accept_p999_ms: ms(&placed.latency, 0.999),
        saga_p50_ms: ms(&saga, 0.5),
        saga_p99_ms: ms(&saga, 0.99),
        commits_per_saga: per_saga(db.commits),
        wal_flushes_per_saga: per_saga(db.wal_flushes),
        wal_flush_ms: timed.then(|| db.wal_flush_ms / db.wal_flushes as f64),
        wal_busy_pct: timed.then(|| 100.0 * db.wal_flush_ms / window_ms),
        cpu_busy_pct,
        cpu_steal_pct,
        send_late_p99_ms: placed.late.as_ref().map(|h| ms(h, 0.99)),
        half_the_best: false,
    };
    eprintln!(
        "{}: {:.0} accepted/s, {:.0} sagas/s, accept p99 {:.1} ms, saga p99 {:.1} ms, {:.1} commits/saga, {} errors, CPU {:.0}% busy {:.0}% stolen",
        stage.label, stage.accepted_per_sec, stage.sagas_per_sec, stage.accept_p99_ms, stage.saga_p99_ms, stage.commits_per_saga, stage.errors, stage.cpu_busy_pct, stage.cpu_steal_pct
    );
    Ok(stage)
}

/// Waits up to 120 s until none of `ids` is pending.
pub async fn wait_final(orders: &tokio_postgres::Client, ids: &[i64]) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let pending: i64 = orders
            .query_one(
                "SELECT count(*) FROM orders WHERE id = ANY($1) AND status = 'pending'",
                &[&ids],
            )
            .await?
            .get(0);
        if pending == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{pending} orders still pending after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn today() -> String {
    std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}
