//! Two PostgreSQL servers, each known by its port: PG_PORT's data in
//! $PG_DIR/data, PG_HA_PORT's in $PG_DIR/data2; logs/postgres-PORT.log;
//! cluster_name (the processes' title) and, as a standby, application_name
//! pgPORT. One is the primary, the other its synchronous standby; which is
//! which is read from the servers themselves (pg_is_in_recovery) or,
//! stopped, from their data: standby.signal, then the timeline.
//!
//! The failover policy. While the primary lives and its standby is down,
//! its commits wait (strict) until `up` starts the standby again. Promoted,
//! the standby has no synchronous_standby_names of its own: it commits
//! unprotected, there being no other server, until `up` rebuilds the
//! deposed primary as its standby (pg_rewind, else a fresh pg_basebackup)
//! and names that one synchronous again. `up` never starts a deposed
//! primary as a second primary: the running primary, else the newer
//! timeline, decides.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio_postgres::{NoTls, SimpleQueryMessage};

use crate::system::{
    any_process_titled, append, as_pg, is_root, line, port_in_use, proc_alive, run_logged,
    run_quiet, say, tail, write_owned,
};
use crate::Stack;

/// What replication and pg_rewind need, in the data folder's own
/// postgresql.conf (pg_basebackup and pg_rewind copy it to the standby; and
/// pg_rewind's crash recovery of a killed primary, in single-user mode,
/// reads no command line: without wal_log_hints there, pg_rewind refuses).
/// WAL is kept by size, not by replication slots: a new primary needs none.
/// synchronous_standby_names is not here: it lives in the primary's
/// postgresql.auto.conf (ALTER SYSTEM), set by `sync_on`, cleared by
/// `promote` and removed from a standby's copy by `follow`.
const HA_CONF: &str = "# STACK_HA=1 (scripts/stack)
wal_level = replica
hot_standby = on
wal_log_hints = on
wal_keep_size = 1GB
synchronous_commit = on";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Primary,
    Standby,
}

pub struct Pair<'a> {
    stack: &'a Stack,
}

/// The primary's port, the standby's, and whether the standby's data is a
/// primary's that a failover left behind (it must be rebuilt, never started
/// as a second primary).
struct Roles {
    primary: u16,
    standby: u16,
    deposed: bool,
}

impl<'a> Pair<'a> {
    pub fn new(stack: &'a Stack) -> Self {
        Self { stack }
    }

    fn dir(&self, port: u16) -> PathBuf {
        let data = if port == self.stack.pg_ports[0] {
            "data"
        } else {
            "data2"
        };
        self.stack.pg_dir.join(data)
    }

    fn log(&self, port: u16) -> PathBuf {
        self.stack.dir.join(format!("logs/postgres-{port}.log"))
    }

    fn other(&self, port: u16) -> u16 {
        let [a, b] = self.stack.pg_ports;
        if port == a {
            b
        } else {
            a
        }
    }

    fn exists(&self, port: u16) -> bool {
        self.dir(port).join("PG_VERSION").is_file()
    }

    fn standby_data(&self, port: u16) -> bool {
        self.dir(port).join("standby.signal").exists()
    }

    /// Line N of the server's postmaster.pid (1: pid, 4: port).
    fn pid_line(&self, port: u16, line: usize) -> String {
        let text =
            std::fs::read_to_string(self.dir(port).join("postmaster.pid")).unwrap_or_default();
        text.lines()
            .nth(line - 1)
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    fn tool(&self, name: &str) -> Command {
        as_pg(&self.stack.pg_bin.join(name))
    }

    /// Running: its postmaster lives. A postmaster killed with -9 stays a
    /// zombie until a slow init (a container's) reaps it, and pg_ctl takes
    /// a zombie for a server.
    fn running(&self, port: u16) -> bool {
        self.exists(port)
            && self.pid_line(port, 1).parse().is_ok_and(proc_alive)
            && run_quiet(
                self.tool("pg_ctl")
                    .arg("-D")
                    .arg(self.dir(port))
                    .arg("status"),
            )
    }

    /// The first value of the first row `sql` returns on PORT, as text ("" for
    /// none), as the superuser.
    async fn query(&self, port: u16, sql: &str) -> anyhow::Result<String> {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(port)
            .user("postgres")
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(5));
        let (client, connection) = config.connect(NoTls).await?;
        let connection = tokio::spawn(connection);
        let messages = client.simple_query(sql).await;
        drop(client);
        let _ = connection.await;
        let last_row = messages?
            .into_iter()
            .rev()
            .find_map(|message| match message {
                SimpleQueryMessage::Row(row) => Some(row.get(0).unwrap_or_default().to_owned()),
                _ => None,
            });
        Ok(last_row.unwrap_or_default())
    }

    /// What the server on PORT answers: primary, standby, or nothing.
    pub async fn role(&self, port: u16) -> Option<Role> {
        match self
            .query(port, "SELECT pg_is_in_recovery()")
            .await
            .ok()?
            .as_str()
        {
            "f" => Some(Role::Primary),
            "t" => Some(Role::Standby),
            _ => None,
        }
    }

    /// The timeline a server's data is on, running or stopped: the newest of
    /// its last checkpoint's and of the history files in pg_wal (a promotion
    /// writes its new timeline's at once, the checkpoint follows later).
    fn timeline(&self, port: u16) -> u32 {
        let output = self.tool("pg_controldata").arg(self.dir(port)).output();
        let text = output
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let checkpoint = text
            .lines()
            .find_map(|line| line.strip_prefix("Latest checkpoint's TimeLineID:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        let histories = std::fs::read_dir(self.dir(port).join("pg_wal"))
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|entry| {
                        let name = entry.file_name().to_string_lossy().into_owned();
                        let hex = name.strip_suffix(".history")?;
                        (hex.len() == 8).then(|| u32::from_str_radix(hex, 16).ok())?
                    })
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        checkpoint.max(histories)
    }

    /// Each server's settings on its command line: the default mode's, its
    /// name, and TLS offered as in the default mode (the plain connections
    /// stay for the tools).
    fn options(&self, port: u16) -> String {
        let pg_dir = self.stack.pg_dir.display();
        format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{}' \
             -c max_connections=400 -c shared_buffers=256MB -c track_wal_io_timing=on \
             -c cluster_name=pg{port} -c ssl=on -c ssl_cert_file='{pg_dir}/server.crt' \
             -c ssl_key_file='{pg_dir}/server.key'",
            self.stack.run_dir.display()
        )
    }

    fn configure(&self, port: u16) -> anyhow::Result<()> {
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
    fn start(&self, port: u16) -> anyhow::Result<()> {
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
        let log = self.log(port);
        append(&log)?;
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
    fn wait_dead(&self, port: u16) {
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

    fn stop(&self, port: u16) {
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
    fn follow(&self, port: u16, primary: u16) -> anyhow::Result<()> {
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
    fn basebackup(&self, port: u16, primary: u16) -> anyhow::Result<()> {
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
    async fn rebuild(&self, port: u16, primary: u16) -> anyhow::Result<()> {
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
    async fn caught_up(&self, standby: u16, primary: u16, within: Duration) -> bool {
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
    async fn sync_on(&self, primary: u16, standby: u16) -> anyhow::Result<()> {
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

    async fn roles(&self) -> anyhow::Result<Roles> {
        let [a, b] = self.stack.pg_ports;
        let role_of = |port| async move {
            if self.running(port) {
                self.role(port).await
            } else {
                None
            }
        };
        let (ra, rb) = (role_of(a).await, role_of(b).await);
        let candidates: Vec<u16> = match (ra, rb) {
            // Two primaries (a standby promoted while its primary lived):
            // the newer timeline wins.
            (Some(Role::Primary), Some(Role::Primary)) => vec![a, b],
            (Some(Role::Primary), _) => vec![a],
            (_, Some(Role::Primary)) => vec![b],
            // None answers as a primary: the data that does not start as a
            // standby; of two such, the newer timeline (the promoted one's).
            _ => [a, b]
                .into_iter()
                .filter(|&port| self.exists(port) && !self.standby_data(port))
                .collect(),
        };
        let primary = match candidates[..] {
            [] if !self.exists(a) && !self.exists(b) => a, // a new stack
            [] => {
                let port = if self.exists(a) { a } else { b };
                let dir = self.dir(port);
                bail!(
                    "no PostgreSQL primary: {} holds a standby's data and no primary's data is there to follow; to make it the primary, remove {}/standby.signal and run STACK_HA=1 scripts/stack up again",
                    dir.display(),
                    dir.display()
                );
            }
            [one] => one,
            _ => {
                let (ta, tb) = (self.timeline(a), self.timeline(b));
                if ta == tb {
                    bail!(
                        "both PostgreSQL servers hold a primary's data on timeline {ta} ({}, {}): cannot tell which is newer; remove the one to drop and run STACK_HA=1 scripts/stack up again",
                        self.dir(a).display(),
                        self.dir(b).display()
                    );
                }
                if ta > tb {
                    a
                } else {
                    b
                }
            }
        };
        let standby = self.other(primary);
        let standby_answers_primary = if standby == a { ra } else { rb } == Some(Role::Primary);
        let deposed =
            self.exists(standby) && (!self.standby_data(standby) || standby_answers_primary);
        Ok(Roles {
            primary,
            standby,
            deposed,
        })
    }

    /// Both servers up, the primary's commits synchronous to the standby.
    pub async fn up(&self) -> anyhow::Result<()> {
        let pg_dir = &self.stack.pg_dir;
        std::fs::create_dir_all(pg_dir)?;
        std::fs::create_dir_all(&self.stack.run_dir)?;
        if is_root() {
            run_quiet(
                Command::new("chown")
                    .arg("postgres:")
                    .arg(pg_dir)
                    .arg(&self.stack.run_dir),
            );
        }
        if !run_quiet(as_pg(&PathBuf::from("test")).arg("-w").arg(pg_dir)) {
            bail!(
                "the postgres user cannot write {} (a parent folder is private); set STACK_DIR to a folder it can reach",
                pg_dir.display()
            );
        }
        // Marks this STACK_DIR as an HA stack's (scripts/lib.sh's stack_mode_check).
        std::fs::write(pg_dir.join("ha"), "")?;
        // The TLS the servers offer, as in the default mode.
        for (file, mode) in [("server.key", "600"), ("server.crt", "644")] {
            let owner = if is_root() { "postgres" } else { "" };
            let mut install = Command::new("install");
            if !owner.is_empty() {
                install.args(["-o", owner]);
            }
            let source = self.stack.tls_dir.join(file);
            if !run_quiet(
                install
                    .args(["-m", mode])
                    .arg(&source)
                    .arg(pg_dir.join(file)),
            ) {
                bail!(
                    "cannot install {} into {}",
                    source.display(),
                    pg_dir.display()
                );
            }
        }
        let Roles {
            primary,
            standby,
            deposed,
        } = self.roles().await?;
        if !self.exists(primary) {
            say(&format!(
                "creating the PostgreSQL cluster (primary on 127.0.0.1:{primary})"
            ));
            let made = run_quiet(self.tool("initdb").arg("-D").arg(self.dir(primary)).args([
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ]));
            if !made {
                bail!("initdb of {} failed", self.dir(primary).display());
            }
        }
        self.configure(primary)?;
        if self.exists(standby) {
            self.configure(standby)?;
        }
        if !self.running(primary) {
            say(&format!(
                "starting the PostgreSQL primary on 127.0.0.1:{primary}"
            ));
        }
        self.start(primary)?;
        if self.role(primary).await != Some(Role::Primary) {
            bail!(
                "127.0.0.1:{primary} started but is not a primary; see {}",
                self.log(primary).display()
            );
        }
        if deposed {
            say(&format!(
                "127.0.0.1:{standby} holds a deposed primary's data (127.0.0.1:{primary} is the primary now): rebuilding it as the standby"
            ));
            self.stop(standby);
            self.rebuild(standby, primary).await?;
        } else if !self.exists(standby) {
            say(&format!(
                "making 127.0.0.1:{standby} the standby of 127.0.0.1:{primary} (pg_basebackup)"
            ));
            self.basebackup(standby, primary)?;
        } else if !self.running(standby) {
            self.follow(standby, primary)?;
        }
        if !self.running(standby) {
            say(&format!(
                "starting the PostgreSQL standby on 127.0.0.1:{standby}"
            ));
        }
        // A standby that cannot follow (its history went elsewhere) is
        // copied afresh, once.
        let following = match self.start(standby) {
            Ok(()) => {
                self.caught_up(standby, primary, Duration::from_secs(30))
                    .await
            }
            Err(err) => {
                eprintln!("{err:#}");
                false
            }
        };
        if !following {
            say(&format!(
                "127.0.0.1:{standby} does not stream from 127.0.0.1:{primary}: copying it afresh (pg_basebackup)"
            ));
            self.stop(standby);
            self.basebackup(standby, primary)?;
            self.start(standby)?;
            if !self
                .caught_up(standby, primary, Duration::from_secs(60))
                .await
            {
                bail!(
                    "127.0.0.1:{standby} does not stream from 127.0.0.1:{primary}; see {}",
                    self.log(standby).display()
                );
            }
        }
        self.sync_on(primary, standby).await
    }

    /// Stops the primary first: its walsender hands the standby everything
    /// up to the shutdown checkpoint.
    pub async fn down(&self) {
        let [a, b] = self.stack.pg_ports;
        let first = if self.role(b).await == Some(Role::Primary) {
            b
        } else {
            a
        };
        self.stop(first);
        self.stop(self.other(first));
    }

    pub async fn status(&self) {
        for port in self.stack.pg_ports {
            let pid = self.pid_line(port, 1);
            if self.running(port) {
                let timeline = self.timeline(port);
                match self.role(port).await {
                    Some(Role::Primary) => {
                        let names = self
                            .query(port, "SHOW synchronous_standby_names")
                            .await
                            .unwrap_or_default();
                        line(&format!("{:<10} primary, running (pid {pid}), port {port}, timeline {timeline}, synchronous_standby_names '{names}'", "postgres"));
                    }
                    Some(Role::Standby) => line(&format!(
                        "{:<10} standby, running (pid {pid}), port {port}, timeline {timeline}",
                        "postgres"
                    )),
                    None => line(&format!(
                        "{:<10} running (pid {pid}), port {port}, not answering",
                        "postgres"
                    )),
                }
            } else if self.exists(port) {
                let data = if self.standby_data(port) {
                    "standby's"
                } else {
                    "primary's"
                };
                line(&format!(
                    "{:<10} stopped, port {port} ({data} data, timeline {})",
                    "postgres",
                    self.timeline(port)
                ));
            } else {
                line(&format!(
                    "{:<10} stopped, port {port} (no data)",
                    "postgres"
                ));
            }
        }
        for port in self.stack.pg_ports {
            if self.role(port).await != Some(Role::Primary) {
                continue;
            }
            let standby = self.other(port);
            // The standby, as the primary sees it: streaming, sync or not,
            // how far behind in bytes and in time.
            let sql = format!(
                "SELECT state || ', sync_state ' || sync_state || ', replay lag ' || \
                 pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) || ' bytes (' || \
                 coalesce(replay_lag::text, '0') || ')' \
                 FROM pg_stat_replication WHERE application_name = 'pg{standby}'"
            );
            let replication = self.query(port, &sql).await.unwrap_or_default();
            let state = if replication.is_empty() {
                let names = self
                    .query(port, "SHOW synchronous_standby_names")
                    .await
                    .unwrap_or_default();
                let commits = if names.is_empty() {
                    "commits are not replicated"
                } else {
                    "commits wait for it"
                };
                format!("not connected ({commits})")
            } else {
                replication
            };
            line(&format!(
                "{:<10} replication 127.0.0.1:{port} -> 127.0.0.1:{standby}: {state}",
                "postgres"
            ));
        }
    }

    /// Promotes the standby (the primary is gone); it then commits on its
    /// own, unprotected, until `up` rebuilds the deposed primary as its
    /// standby.
    pub async fn promote(&self) -> anyhow::Result<()> {
        let [a, b] = self.stack.pg_ports;
        let mut standby = None;
        for port in [a, b] {
            if self.role(port).await == Some(Role::Standby) {
                standby = Some(port);
            }
        }
        let Some(standby) = standby else {
            bail!("no PostgreSQL standby answers on 127.0.0.1:{a} or 127.0.0.1:{b} (STACK_HA=1 scripts/stack status)");
        };
        let other = self.other(standby);
        if self.role(other).await == Some(Role::Primary) {
            bail!("the primary 127.0.0.1:{other} is alive: promoting its standby would make two primaries; stop or kill it first");
        }
        if self.query(standby, "SELECT pg_promote()").await? != "t" {
            bail!("pg_promote() on 127.0.0.1:{standby} did not finish in 60 s");
        }
        self.query(standby, "ALTER SYSTEM SET synchronous_standby_names = ''")
            .await?;
        self.query(standby, "SELECT pg_reload_conf()").await?;
        self.query(standby, "CHECKPOINT").await?;
        say(&format!(
            "127.0.0.1:{standby} is now the primary (timeline {}); its commits are not replicated until STACK_HA=1 scripts/stack up rebuilds 127.0.0.1:{other} as its standby",
            self.timeline(standby)
        ));
        Ok(())
    }
}
