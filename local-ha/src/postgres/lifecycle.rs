//! One server at a time: its settings, starting and stopping it, and making
//! it the standby of the other (afresh with pg_basebackup, or a deposed
//! primary with pg_rewind), streaming and synchronous.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::{Pair, HA_CONF};
use crate::system::{
    any_process_titled, append, is_root, port_in_use, proc_alive, run_logged, run_quiet, say, tail,
    write_owned,
};

impl Pair<'_> {
    pub(super) fn configure(&self, port: u16) -> anyhow::Result<()> {
        let path = self.dir(port).join("postgresql.conf");
        let conf = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
        if conf
            .lines()
            .any(|line| line == HA_CONF.lines().next().unwrap_or_default())
        {
            return Ok(());
        }
        write_owned(&path, &format!("{conf}\n{HA_CONF}\n"))
    }

    /// Starts the server (if it is not running); an error (with its log's
    /// tail) when it does not come up.
    pub(super) fn start(&self, port: u16) -> anyhow::Result<()> {
        let dir = self.dir(port);
        if self.running(port) {
            let running = self.pid_line(port, 4);
            if running != port.to_string() {
                bail!(
                    "this stack's PostgreSQL in {} runs on port {running}, not {port}: run scripts/stack down first",
                    dir.display()
                );
            }
            return Ok(());
        }
        if port_in_use(port) {
            bail!("127.0.0.1:{port} is taken by another program (not this stack's PostgreSQL): stop it or set PG_PORT / PG_HA_PORT");
        }
        self.wait_dead(port);
        // The server writes its log itself (pg_ctl -l), as its own user.
        let log = self.log(port);
        append(&log)?;
        if is_root() {
            run_quiet(Command::new("chown").arg("postgres:").arg(&log));
        }
        let started = run_quiet(
            self.tool("pg_ctl")
                .arg("-D")
                .arg(&dir)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "start", "-o", &self.options(port)]),
        );
        if !started {
            bail!(
                "PostgreSQL did not start on 127.0.0.1:{port}:\n{}",
                tail(&log, 20)
            );
        }
        Ok(())
    }

    /// A postmaster killed with -9 takes a moment to exit and its children a
    /// moment to notice, and a slow init (a container's) a moment to reap
    /// it; until then its lock files (the data folder's and the socket's)
    /// name a pid that postgres takes for a live server. A zombie still
    /// there after 10 s leaves them to go.
    pub(super) fn wait_dead(&self, port: u16) {
        let Ok(pid) = self.pid_line(port, 1).parse::<u32>() else {
            return;
        };
        if crate::system::comm(pid) != "postgres" {
            return;
        }
        let title = format!("postgres: pg{port}: ");
        for _ in 0..100 {
            if !PathBuf::from(format!("/proc/{pid}")).exists() && !any_process_titled(&title) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if PathBuf::from(format!("/proc/{pid}")).exists() && !proc_alive(pid) {
            let _ = std::fs::remove_file(self.dir(port).join("postmaster.pid"));
            let _ = std::fs::remove_file(self.stack.run_dir.join(format!(".s.PGSQL.{port}.lock")));
        }
    }

    pub(super) fn stop(&self, port: u16) {
        if self.running(port) {
            run_quiet(
                self.tool("pg_ctl")
                    .arg("-D")
                    .arg(self.dir(port))
                    .args(["-m", "fast", "-w", "stop"]),
            );
        }
    }

    /// The stopped server on PORT starts as the standby of PRIMARY:
    /// standby.signal, primary_conninfo under its own name, and none of the
    /// synchronous_standby_names pg_basebackup or pg_rewind copied from the
    /// primary (the policy: promoted, it writes unprotected).
    pub(super) fn follow(&self, port: u16, primary: u16) -> anyhow::Result<()> {
        let path = self.dir(port).join("postgresql.auto.conf");
        let conf = std::fs::read_to_string(&path).unwrap_or_default();
        let mut kept: Vec<&str> = conf
            .lines()
            .filter(|line| {
                let setting = line.trim_start();
                !setting.starts_with("synchronous_standby_names")
                    && !setting.starts_with("primary_conninfo")
            })
            .collect();
        let conninfo = format!(
            "primary_conninfo = 'host=127.0.0.1 port={primary} user=postgres application_name=pg{port} sslmode=disable'"
        );
        kept.push(&conninfo);
        write_owned(&path, &(kept.join("\n") + "\n"))?;
        write_owned(&self.dir(port).join("standby.signal"), "")
    }

    /// PORT's data, afresh, a copy of PRIMARY's.
    pub(super) fn basebackup(&self, port: u16, primary: u16) -> anyhow::Result<()> {
        let dir = self.dir(port);
        let _ = std::fs::remove_dir_all(&dir);
        let copied = run_logged(
            self.tool("pg_basebackup")
                .arg("-D")
                .arg(&dir)
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &primary.to_string(),
                    "-U",
                    "postgres",
                ])
                .args(["-X", "stream", "-R", "-c", "fast"]),
            &self.log(port),
        )?;
        if !copied {
            bail!(
                "pg_basebackup of 127.0.0.1:{primary} into {} failed:\n{}",
                dir.display(),
                tail(&self.log(port), 20)
            );
        }
        self.follow(port, primary)
    }

    /// The (stopped) server on PORT, whose data went its own way (a deposed
    /// primary), becomes PRIMARY's standby: pg_rewind (which first finishes
    /// the crash recovery of a server killed with -9), else a fresh
    /// pg_basebackup.
    pub(super) async fn rebuild(&self, port: u16, primary: u16) -> anyhow::Result<()> {
        self.wait_dead(port);
        // A promotion's new timeline reaches pg_control at the next
        // checkpoint; until then pg_rewind reads both on the same timeline
        // and does nothing.
        self.query(primary, "CHECKPOINT").await?;
        let source =
            format!("host=127.0.0.1 port={primary} user=postgres dbname=postgres sslmode=disable");
        let rewound = run_logged(
            self.tool("pg_rewind")
                .arg("-D")
                .arg(self.dir(port))
                .arg(format!("--source-server={source}")),
            &self.log(port),
        )?;
        let how = if rewound {
            "pg_rewind"
        } else {
            say(&format!(
                "pg_rewind of 127.0.0.1:{port} failed (see {}): copying 127.0.0.1:{primary} afresh",
                self.log(port).display()
            ));
            self.basebackup(port, primary)?;
            "pg_basebackup"
        };
        self.follow(port, primary)?;
        say(&format!(
            "rebuilt 127.0.0.1:{port} as the standby of 127.0.0.1:{primary} ({how})"
        ));
        Ok(())
    }

    /// Until the standby streams from the primary and has replayed what the
    /// primary had flushed at the start. A standby whose history went
    /// elsewhere connects, streams a moment and is cut off, again and again:
    /// it never gets there.
    pub(super) async fn caught_up(&self, standby: u16, primary: u16, within: Duration) -> bool {
        let Ok(lsn) = self
            .query(primary, "SELECT pg_current_wal_flush_lsn()")
            .await
        else {
            return false;
        };
        let sql = format!(
            "SELECT state = 'streaming' AND replay_lsn >= '{lsn}' \
             FROM pg_stat_replication WHERE application_name = 'pg{standby}'"
        );
        let until = Instant::now() + within;
        while Instant::now() < until {
            if self.query(primary, &sql).await.is_ok_and(|t| t == "t") {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    }

    /// A commit on the primary returns once the standby has it too (strict:
    /// while the standby is away, commits wait).
    pub(super) async fn sync_on(&self, primary: u16, standby: u16) -> anyhow::Result<()> {
        let name = format!("pg{standby}");
        if self
            .query(primary, "SHOW synchronous_standby_names")
            .await?
            != name
        {
            self.query(
                primary,
                &format!("ALTER SYSTEM SET synchronous_standby_names = '{name}'"),
            )
            .await?;
            self.query(primary, "SELECT pg_reload_conf()").await?;
            say(&format!(
                "synchronous replication: 127.0.0.1:{primary} commits once 127.0.0.1:{standby} has the commit too"
            ));
        }
        let sql =
            format!("SELECT sync_state FROM pg_stat_replication WHERE application_name = '{name}'");
        for _ in 0..50 {
            if self.query(primary, &sql).await? == "sync" {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("127.0.0.1:{standby} streams from 127.0.0.1:{primary} but is not its synchronous standby")
    }
}
