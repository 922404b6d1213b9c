//! billing, items, slots, order-api and the mediator started a second time
//! from the release binaries, each with the environment the stack gives it
//! (scripts/lib.sh's `stack_env_for`), on its stack port + 200, exporting to
//! the receiver and sharing an order queue of their own; stopped (SIGTERM,
//! so they export their last spans) when dropped, whatever happened.

use std::collections::HashMap;
use std::fs::File;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shop_client::{Call, Method, Shop};

/// In start order.
pub use system_tests::binaries::SERVICES as PROCESSES;
/// Away from the stack's ports and tls-check's (+ 100).
const PORT_OFFSET: u16 = 200;
const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Services {
    pub ports: HashMap<&'static str, u16>,
    pub logs: PathBuf,
    started: Vec<(&'static str, Child)>,
}

/// The `service.name` each exports under: slots is given
/// `OTEL_SERVICE_NAME`, to prove it is honoured; the others keep theirs.
pub fn service_name(process: &str) -> &str {
    if process == "slots" {
        "shop-slots"
    } else {
        process
    }
}

impl Services {
    pub async fn start(repo: &Path, stack_dir: &Path, endpoint: &str) -> Self {
        let binaries = system_tests::binaries::release_binaries();
        let logs = stack_dir.join("logs/trace-check");
        std::fs::create_dir_all(&logs).expect("the logs' folder");
        let envs: HashMap<&str, HashMap<String, String>> = PROCESSES
            .iter()
            .map(|&name| (name, stack_env(repo, name)))
            .collect();
        let ports: HashMap<&'static str, u16> = PROCESSES
            .iter()
            .map(|&name| {
                let port: u16 = envs[name]["HTTP_PORT"].parse().expect("a port");
                (name, port + PORT_OFFSET)
            })
            .collect();
        let taken: Vec<u16> = ports
            .values()
            .copied()
            .filter(|port| TcpStream::connect(("127.0.0.1", *port)).is_ok())
            .collect();
        assert!(
            taken.is_empty(),
            "something answers on {taken:?} (a trace-check left over?)"
        );

        let queue = format!("trace-check-{:08x}", rand::random::<u32>());
        let mut services = Self {
            ports,
            logs,
            started: Vec::new(),
        };
        for name in PROCESSES {
            let mut command = Command::new(binaries.join(name));
            // An OTEL_ variable of the caller's must not change what is tested.
            for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("OTEL_")) {
                command.env_remove(key);
            }
            command
                .envs(&envs[name])
                .env("HTTP_PORT", services.ports[name].to_string())
                .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
                // Milliseconds: spans are exported within a tenth of a second.
                .env("OTEL_BSP_SCHEDULE_DELAY", "100");
            match name {
                // As behind a proxy that sets or strips the header.
                "order-api" => command.env("TRUST_INCOMING_TRACEPARENT", "true"),
                "slots" => command.env("OTEL_SERVICE_NAME", service_name(name)),
                "mediator" => {
                    for participant in ["billing", "items", "slots"] {
                        let url = format!("http://127.0.0.1:{}", services.ports[participant]);
                        command.env(format!("{}_URL", participant.to_uppercase()), url);
                    }
                    &mut command
                }
                _ => &mut command,
            };
            if matches!(name, "order-api" | "mediator") {
                // The stack's own mediator never takes these orders.
                command.env("ORDER_QUEUE", &queue);
            }
            let log = File::create(services.log(name)).expect("a log file");
            let child = command
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("a log file"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|err| panic!("starting {name}: {err}"));
            services.started.push((name, child));
        }
        for name in PROCESSES {
            services.wait_ready(name).await;
        }
        services
    }

    pub fn url(&self, name: &str, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports[name])
    }

    pub fn shop(&self, name: &str) -> Shop {
        Shop::new(&self.url(name, "")).expect("a client")
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.logs.join(format!("{name}.log"))
    }

    async fn wait_ready(&mut self, name: &str) {
        let shop = self.shop(name);
        let until = Instant::now() + READY_TIMEOUT;
        loop {
            let ready = shop.call(Method::GET, "/ready", Call::default()).await;
            if ready.is_ok_and(|answer| answer.status.is_success()) {
                return;
            }
            let (_, child) = self
                .started
                .iter_mut()
                .find(|(n, _)| *n == name)
                .expect("started");
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= until {
                let log = std::fs::read_to_string(self.log(name)).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                panic!(
                    "{name} on port {} is not ready ({}); the last lines of its log:\n{}",
                    self.ports[name],
                    exited.map_or("within 60 s".to_owned(), |status| format!(
                        "exited: {status}"
                    )),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGTERM to each, then up to 20 s for it to go (the mediator lets
    /// running sagas finish for SHUTDOWN_GRACE_MS), then SIGKILL.
    pub fn stop(&mut self) {
        for (_, child) in &self.started {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
        }
        for (_, mut child) in self.started.drain(..) {
            let until = Instant::now() + Duration::from_secs(20);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.stop();
    }
}

/// scripts/lib.sh's `stack_env_for NAME`: the environment the stack starts
/// that service with.
fn stack_env(repo: &Path, name: &str) -> HashMap<String, String> {
    let output = Command::new("bash")
        .arg("-c")
        .arg(r#"source "$0" && stack_env_for "$1""#)
        .arg(repo.join("scripts/lib.sh"))
        .arg(name)
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
