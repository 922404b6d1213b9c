//! What the machine says about the run: the services' peak memory and CPU
//! time (from /proc), and PostgreSQL's commit counters.

use std::path::Path;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ProcessUse {
    pub service: String,
    pub pid: String,
    /// Since the process started: the kernel keeps no other peak.
    pub peak_rss_mb: f64,
    pub cpu_seconds: f64,
}

/// Peak RSS (VmHWM) and user+system CPU seconds so far of every service
/// whose pid file is in `pids_dir`.
pub fn process_use(pids_dir: &Path) -> Vec<ProcessUse> {
    let ticks = 100.0; // USER_HZ on Linux
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(pids_dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(service) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        let Ok(pid) = std::fs::read_to_string(&path).map(|p| p.trim().to_owned()) else {
            continue;
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let hwm_kb: f64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name, which is in parentheses.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let cpu = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        if hwm_kb > 0.0 {
            out.push(ProcessUse {
                service,
                pid,
                peak_rss_mb: hwm_kb / 1024.0,
                cpu_seconds: (cpu(11) + cpu(12)) / ticks,
            });
        }
    }
    out.sort_by(|a, b| a.service.cmp(&b.service));
    out
}

/// `now`, with CPU seconds counted from `before` for the processes that
/// were already running then (the stack may have served earlier runs).
pub fn used_since(before: &[ProcessUse], mut now: Vec<ProcessUse>) -> Vec<ProcessUse> {
    for process in &mut now {
        if let Some(earlier) = before.iter().find(|b| b.pid == process.pid) {
            process.cpu_seconds -= earlier.cpu_seconds;
        }
    }
    now
}

/// Commits so far in the services' databases.
pub async fn commits(pg_url: &str) -> anyhow::Result<i64> {
    let (client, conn) =
        tokio_postgres::connect(&format!("{pg_url}/postgres"), tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT sum(xact_commit)::bigint FROM pg_stat_database
             WHERE datname IN ('auth', 'billing', 'orders', 'items', 'slots')",
            &[],
        )
        .await?;
    Ok(row.get(0))
}
