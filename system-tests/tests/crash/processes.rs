//! Real processes for the crash drill: the services' release binaries and a
//! private redis-server, each on a free port, killable with SIGKILL and
//! restartable with the same configuration.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A free TCP port on loopback (free when asked; nothing else here takes ports).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub use system_tests::binaries::release_binaries as binaries;

/// One process, restartable with the same command line and environment.
pub struct Process {
    pub name: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    pub port: u16,
}

impl Process {
    pub fn new(name: &str, program: PathBuf, port: u16, log_dir: &Path) -> Self {
        Self {
            name: name.to_owned(),
            program,
            args: Vec::new(),
            env: Vec::new(),
            log: log_dir.join(format!("{name}.log")),
            child: None,
            port,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    pub fn start(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("a log file");
        let err = log.try_clone().expect("a log file");
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("HTTP_HOST", "127.0.0.1")
            .env("HTTP_PORT", self.port.to_string())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.program.display()));
        self.child = Some(child);
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) with kill(1).
    pub fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("a running process");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{signal} {}: {status}", self.name);
    }

    /// A sample of its `GET /metrics`: the value of the line that starts
    /// with `series` (a name, with its labels if it has any); 0 if none.
    pub async fn metric(&self, series: &str) -> f64 {
        let url = format!("http://127.0.0.1:{}/metrics", self.port);
        let answer = common::testing::TestClient::default()
            .send(hyper::Method::GET, &url, &[], None)
            .await;
        answer
            .text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.rsplit_once(' '))
            .filter(|(name, _)| name.starts_with(series))
            .filter_map(|(_, value)| value.parse::<f64>().ok())
            .sum()
    }

    /// Everything it logged, across restarts.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines of its log, for a failure message.
    pub fn log_tail(&self) -> String {
        system_tests::processes::log_tail(&self.log, 30)
    }

    /// Waits until `GET /ready` answers 2xx.
    pub async fn wait_ready(&self) {
        system_tests::processes::wait_ready(&self.name, self.port, &self.log, None).await;
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A private redis-server with an append-only file, so a restart keeps
/// what it had flushed.
pub fn redis(dir: &Path, log_dir: &Path) -> Process {
    let port = free_port();
    let data = dir.join("redis");
    std::fs::create_dir_all(&data).expect("redis dir");
    Process::new("redis", PathBuf::from("redis-server"), port, log_dir)
        .arg("--bind")
        .arg("127.0.0.1")
        .arg("--port")
        .arg(port.to_string())
        .arg("--dir")
        .arg(data.display().to_string())
        .arg("--appendonly")
        .arg("yes")
        .arg("--appendfsync")
        .arg("everysec")
        .arg("--save")
        .arg("")
}
