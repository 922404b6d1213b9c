//! The run's results: JSON for machines, a Markdown table for README, and
//! two SVG charts.

use std::fmt::Write;

use anyhow::Context;

use crate::load::Report;
use crate::plot::{chart, Series};
use crate::Plan;

pub fn write(plan: &Plan, report: &Report) -> anyhow::Result<()> {
    let dir = &plan.out_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("results.json"), serde_json::to_vec_pretty(report)?)?;
    let table = markdown(report);
    std::fs::write(dir.join("results.md"), &table)?;
    let open: Vec<_> = report
        .stages
        .iter()
        .filter(|s| s.offered_per_sec.is_some())
        .collect();
    let offered = |f: fn(&crate::load::Stage) -> f64| -> Vec<(f64, f64)> {
        let mut points: Vec<(f64, f64)> = open
            .iter()
            .map(|s| (s.offered_per_sec.unwrap_or(0) as f64, f(s)))
            .collect();
        // The stage at half the best rate runs last.
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points
    };
    let latency = chart(
        "Accept latency against offered load",
        "offered orders/s",
        "ms",
        &[
            Series {
                name: "accept p50".into(),
                color: "#1f77b4",
                points: offered(|s| s.accept_p50_ms),
                dashed: false,
            },
            Series {
                name: "accept p99".into(),
                color: "#d62728",
                points: offered(|s| s.accept_p99_ms),
                dashed: false,
            },
            // Saga latency past saturation is queueing time, seconds long: on
            // the same axis it would flatten these. It is in the table.
            Series {
                name: "accept p99.9".into(),
                color: "#9467bd",
                points: offered(|s| s.accept_p999_ms),
                dashed: true,
            },
        ],
    );
    std::fs::write(dir.join("latency.svg"), latency)?;
    let target = report.ceiling_commits_per_sec * 0.16;
    let mut series = vec![
        Series {
            name: "completed sagas/s".into(),
            color: "#1f77b4",
            points: offered(|s| s.sagas_per_sec),
            dashed: false,
        },
        Series {
            name: "accepted orders/s".into(),
            color: "#ff7f0e",
            points: offered(|s| s.accepted_per_sec),
            dashed: false,
        },
    ];
    if target > 0.0 {
        let max = open
            .iter()
            .filter_map(|s| s.offered_per_sec)
            .max()
            .unwrap_or(0) as f64;
        series.push(Series {
            name: format!(
                "16% of the pgbench ceiling ({:.0} commits/s)",
                report.ceiling_commits_per_sec
            ),
            color: "#7f7f7f",
            points: vec![(0.0, target), (max, target)],
            dashed: true,
        });
    }
    std::fs::write(
        dir.join("throughput.svg"),
        chart(
            "Throughput against the ceiling",
            "offered orders/s",
            "per second",
            &series,
        ),
    )?;
    print!("{table}");
    Ok(())
}

fn markdown(r: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Measured {} on {} cores, everything on one machine (PostgreSQL with fsync on).\n",
        r.date, r.cores
    );
    let _ = writeln!(md, "| stage | accepted/s | sagas/s | accept p50 | accept p99 | accept p99.9 | saga p50 | saga p99 | commits/saga | errors |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
    for s in &r.stages {
        let _ = writeln!(
            md,
            "| {} | {:.0} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} | {} |",
            s.label, s.accepted_per_sec, s.sagas_per_sec, s.accept_p50_ms, s.accept_p99_ms, s.accept_p999_ms, s.saga_p50_ms, s.saga_p99_ms, s.commits_per_saga, s.errors
        );
    }
    let _ = writeln!(
        md,
        "\nThe machine during each stage (CPU shares of all cores, until the stage's last saga finished; \
         steal is time the host took from this virtual machine; every database commits through one WAL):\n"
    );
    let _ = writeln!(
        md,
        "| stage | CPU busy | CPU steal | WAL flushes/saga | mean WAL flush | WAL flushing | sent late, p99 |\n|---|---|---|---|---|---|---|"
    );
    for s in &r.stages {
        let untimed = || "not timed".to_owned();
        let flush = s
            .wal_flush_ms
            .map_or_else(untimed, |ms| format!("{ms:.2} ms"));
        let busy = s
            .wal_busy_pct
            .map_or_else(untimed, |pct| format!("{pct:.0}% of the time"));
        let late = s
            .send_late_p99_ms
            .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.2} ms"));
        let _ = writeln!(
            md,
            "| {} | {:.0}% | {:.1}% | {:.1} | {flush} | {busy} | {late} |",
            s.label, s.cpu_busy_pct, s.cpu_steal_pct, s.wal_flushes_per_saga
        );
    }
    let _ = writeln!(
        md,
        "\nCeiling: pgbench, one reservation-shaped transaction (conditional UPDATE + INSERT ... ON CONFLICT) with {} clients: **{:.0} commits/s**. Best: **{:.0} sagas/s = {:.1}%** of it.\n",
        r.pgbench_clients, r.ceiling_commits_per_sec, r.best_sagas_per_sec, r.ratio_to_ceiling * 100.0
    );
    let _ = writeln!(
        md,
        "| service | peak RSS (since start) | CPU seconds (this run) |\n|---|---|---|"
    );
    for p in &r.processes {
        let _ = writeln!(
            md,
            "| {} | {:.1} MB | {:.1} |",
            p.service, p.peak_rss_mb, p.cpu_seconds
        );
    }
    targets(&mut md, r);
    let c = &r.conservation;
    let verdict = if c.holds() {
        "holds".to_owned()
    } else {
        format!("BROKEN: {}", c.problems.join("; "))
    };
    let _ = writeln!(
        md,
        "\nConservation {verdict}: wallets {} + held {} = deposited {}; {} completed orders, {} items taken, {} slots booked, {} pending, {} parked.",
        c.wallets, c.money_held, c.deposited, c.orders_completed, c.items_taken, c.slots_booked, c.orders_pending, c.orders_parked
    );
    md
}

/// The targets the benchmark is held to (2 cores, fsync on): each with
/// what this run measured.
fn targets(md: &mut String, r: &Report) {
    let verdict = |met: bool| if met { "met" } else { "**missed**" };
    let _ = writeln!(
        md,
        "\nThe targets, set for the full run (`scripts/bench`: 64 clients, 10-second stages) on 2 cores:\n"
    );
    let _ = writeln!(md, "| target | this run | |\n|---|---|---|");
    let _ = writeln!(
        md,
        "| completed sagas/s at least 16% of the ceiling's commits/s | {:.1}% | {} |",
        r.ratio_to_ceiling * 100.0,
        verdict(r.ratio_to_ceiling >= 0.16)
    );
    let _ = writeln!(
        md,
        "| at least 500 completed sagas/s | {:.0} | {} |",
        r.best_sagas_per_sec,
        verdict(r.best_sagas_per_sec >= 500.0)
    );
    match r.at_half_the_best() {
        Some(s) => {
            let _ = writeln!(
                md,
                "| accept p99 at most 10 ms at half the best rate ({}/s) | {:.1} ms | {} |",
                s.offered_per_sec.unwrap_or(0),
                s.accept_p99_ms,
                verdict(s.accept_p99_ms <= 10.0)
            );
        }
        None => {
            let _ = writeln!(
                md,
                "| accept p99 at most 10 ms at half the best rate | not measured (no closed loop) | |"
            );
        }
    }
    if let Some(p) = r
        .processes
        .iter()
        .max_by(|a, b| a.peak_rss_mb.total_cmp(&b.peak_rss_mb))
    {
        let _ = writeln!(
            md,
            "| every service under 50 MB peak RSS | {:.1} MB at most ({}) | {} |",
            p.peak_rss_mb,
            p.service,
            verdict(p.peak_rss_mb < 50.0)
        );
    }
}
