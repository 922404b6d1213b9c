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
use std::time::Duration;

use tokio_postgres::{NoTls, SimpleQueryMessage};

use crate::system::{as_pg, proc_alive, run_quiet};
use crate::Stack;

mod failover;
mod lifecycle;
mod status;

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
}
