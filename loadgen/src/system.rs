//! What the machine says about the run: the services' peak memory and CPU
//! time and the machine's CPU time (from /proc), and PostgreSQL's commit
//! and WAL counters.

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

/// PostgreSQL's counters so far: commits in the services' databases, and
/// WAL flushes of the whole cluster (every database commits through the
/// one WAL, so a flush waits for the one before it).
#[derive(Debug, Clone, Copy)]
pub struct DbCounters {
    pub commits: i64,
    pub wal_flushes: i64,
    /// Zero unless the server runs with `track_wal_io_timing`.
    pub wal_flush_ms: f64,
}

impl std::ops::Sub for DbCounters {
    type Output = Self;
    fn sub(self, before: Self) -> Self {
        Self {
            commits: self.commits - before.commits,
            wal_flushes: self.wal_flushes - before.wal_flushes,
            wal_flush_ms: self.wal_flush_ms - before.wal_flush_ms,
        }
    }
}

pub async fn db_counters(pg_url: &str) -> anyhow::Result<DbCounters> {
    let (client, conn) =
        tokio_postgres::connect(&format!("{pg_url}/postgres"), tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT (SELECT sum(xact_commit)::bigint FROM pg_stat_database
                     WHERE datname IN ('auth', 'billing', 'orders', 'items', 'slots')),
                    wal_sync, wal_sync_time
             FROM pg_stat_wal",
            &[],
        )
        .await?;
    Ok(DbCounters {
        commits: row.get(0),
        wal_flushes: row.get(1),
        wal_flush_ms: row.get(2),
    })
}

/// The machine's CPU time so far, in ticks, from the first line of
/// /proc/stat: what ran, what idled, and what the host took (steal: the
/// time a virtual machine's cores were runnable but not running).
#[derive(Debug, Clone, Copy, Default)]
pub struct MachineCpu {
    pub busy: u64,
    pub idle: u64,
    pub steal: u64,
}

impl MachineCpu {
    pub fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let ticks: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        let at = |i: usize| ticks.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal
        Self {
            busy: at(0) + at(1) + at(2) + at(5) + at(6),
            idle: at(3) + at(4),
            steal: at(7),
        }
    }

    /// Percent of all the cores' time since `before`: (busy, steal).
    pub fn shares_since(self, before: Self) -> (f64, f64) {
        let busy = self.busy.saturating_sub(before.busy) as f64;
        let steal = self.steal.saturating_sub(before.steal) as f64;
        let total = busy + steal + self.idle.saturating_sub(before.idle) as f64;
        if total == 0.0 {
            return (0.0, 0.0);
        }
        (100.0 * busy / total, 100.0 * steal / total)
    }
}
