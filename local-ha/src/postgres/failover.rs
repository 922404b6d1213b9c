//! Which server is the primary, and the pair brought up, down or failed over
//! by hand (the policy is in mod.rs).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::bail;

use super::{Pair, Role, Roles};
use crate::system::{as_pg, is_root, run_quiet, say};

impl Pair<'_> {
    /// Which server is the primary: the one that answers as such, else the
    /// data that does not start as a standby, else the newer timeline.
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
