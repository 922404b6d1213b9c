//! The services as real processes beside the local stack: where the stack
//! keeps its files (`StackHome`), the environment it starts a service with
//! (`stack_env`), and `Started`, the processes a test started from the
//! release binaries on ports of its own, stopped (SIGTERM, then SIGKILL)
//! when dropped, whatever happened. The trace check and the TLS check start
//! them; the crash drill shares `wait_ready`.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use shop_client::{Call, Method, Shop};

/// How long a started service may take to answer `/ready`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the local stack lives: the repository, `STACK_DIR` (`.stack` in
/// it) and its PostgreSQL server, `STACK_PG_URL`
/// (`postgres://postgres@127.0.0.1:55432`).
pub struct StackHome {
    pub repo: PathBuf,
    pub dir: PathBuf,
    pub pg_url: String,
}

impl StackHome {
    pub fn from_env() -> Self {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the workspace")
            .to_path_buf();
        Self {
            dir: std::env::var_os("STACK_DIR").map_or_else(|| repo.join(".stack"), PathBuf::from),
            pg_url: std::env::var("STACK_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55432".to_owned()),
            repo,
        }
    }

    /// A connection to one of the stack's databases, as the superuser.
    pub async fn database(&self, name: &str) -> tokio_postgres::Client {
        loadgen::conservation::connect(&format!("{}/{name}", self.pg_url))
            .await
            .unwrap_or_else(|err| panic!("{name}'s database: {err:#}"))
    }

    /// The administrator's password, as `scripts/stack up` generated it.
    pub fn admin_password(&self) -> String {
        let path = self.dir.join("admin-password");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("{}: {err}: run scripts/stack up", path.display()));
        text.lines().next().unwrap_or_default().to_owned()
    }

    /// scripts/lib.sh's `stack_env_for NAME`: the environment the stack
    /// starts that service with; with `tls`, as under `STACK_TLS=1`.
    pub fn env_for(&self, name: &str, tls: bool) -> HashMap<String, String> {
        let output = Command::new("bash")
            .arg("-c")
            .arg(r#"source "$0" && stack_env_for "$1""#)
            .arg(self.repo.join("scripts/lib.sh"))
            .arg(name)
            .env("STACK_DIR", &self.dir)
            .env("STACK_TLS", if tls { "1" } else { "0" })
            .output()
            .expect("running bash");
        assert!(
            output.status.success(),
            "stack_env_for {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect()
    }
}

/// Processes a test started, each under a label (its log is
/// `LOGS/LABEL.log`) and on its own port.
pub struct Started {
    logs: PathBuf,
    running: Vec<Running>,
}

struct Running {
    label: String,
    port: u16,
    child: Child,
}

impl Started {
    pub fn new(logs: PathBuf) -> Self {
        std::fs::create_dir_all(&logs).expect("the logs' folder");
        Self {
            logs,
            running: Vec::new(),
        }
    }

    pub fn log(&self, label: &str) -> PathBuf {
        self.logs.join(format!("{label}.log"))
    }

    /// Runs `command` (its output to the label's log, afresh) as the
    /// process `label`, which listens on `port`.
    pub fn spawn(&mut self, label: &str, port: u16, mut command: Command) {
        let log = File::create(self.log(label)).expect("a log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| panic!("starting {label}: {err}"));
        self.running.push(Running {
            label: label.to_owned(),
            port,
            child,
        });
    }

    fn running(&mut self, label: &str) -> &mut Running {
        self.running
            .iter_mut()
            .find(|running| running.label == label)
            .unwrap_or_else(|| panic!("{label} was not started"))
    }

    /// Until `label` answers `/ready` (panics with its log's tail when it
    /// exits first or takes longer than `READY_TIMEOUT`).
    pub async fn wait_ready(&mut self, label: &str) {
        let log = self.log(label);
        let running = self.running(label);
        wait_ready(label, running.port, &log, Some(&mut running.child)).await;
    }

    /// How `label` exited, which it must within `within`.
    pub async fn wait_exit(&mut self, label: &str, within: Duration) -> ExitStatus {
        let log = self.log(label);
        let until = Instant::now() + within;
        loop {
            if let Some(status) = self.running(label).child.try_wait().ok().flatten() {
                return status;
            }
            assert!(
                Instant::now() < until,
                "{label} still runs after {within:?}; the end of its log:\n{}",
                log_tail(&log, 20)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGTERM to each, then up to 20 s for it to go (the mediator lets
    /// running sagas finish for SHUTDOWN_GRACE_MS), then SIGKILL.
    pub fn stop(&mut self) {
        for running in &mut self.running {
            // One that exited (and was reaped) has no pid of its own any more.
            if running.child.try_wait().ok().flatten().is_none() {
                let _ = Command::new("kill")
                    .arg("-TERM")
                    .arg(running.child.id().to_string())
                    .status();
            }
        }
        for mut running in self.running.drain(..) {
            let until = Instant::now() + Duration::from_secs(20);
            while running.child.try_wait().ok().flatten().is_none() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = running.child.kill();
            let _ = running.child.wait();
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Until `GET /ready` on `port` answers 2xx; panics, with the end of `log`,
/// when `child` exits first or `READY_TIMEOUT` passes.
pub async fn wait_ready(name: &str, port: u16, log: &Path, mut child: Option<&mut Child>) {
    let shop = Shop::new(&format!("http://127.0.0.1:{port}")).expect("a client");
    let until = Instant::now() + READY_TIMEOUT;
    loop {
        let ready = shop.call(Method::GET, "/ready", Call::default());
        if let Ok(Ok(answer)) = tokio::time::timeout(Duration::from_secs(2), ready).await {
            if answer.status.is_success() {
                return;
            }
        }
        let exited = child
            .as_mut()
            .and_then(|child| child.try_wait().ok().flatten());
        if exited.is_some() || Instant::now() >= until {
            panic!(
                "{name} on port {port} is not ready ({}); the last lines of its log:\n{}",
                exited.map_or(format!("within {READY_TIMEOUT:?}"), |status| format!(
                    "exited: {status}"
                )),
                log_tail(log, 30)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The last `lines` lines of a log, for a failure message.
pub fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
