//! billing, items, slots, order-api and the mediator started a second time
//! from the release binaries, each with the environment the stack gives it,
//! on its stack port + 200, exporting to the receiver and sharing an order
//! queue of their own; stopped (SIGTERM, so they export their last spans)
//! when dropped, whatever happened (`system_tests::processes`).

use std::collections::HashMap;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

use shop_client::Shop;
use system_tests::processes::{StackHome, Started};

/// In start order.
pub use system_tests::binaries::SERVICES as PROCESSES;
/// Away from the stack's ports and the TLS check's (+ 100).
const PORT_OFFSET: u16 = 200;

pub struct Services {
    pub ports: HashMap<&'static str, u16>,
    started: Started,
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
    pub async fn start(home: &StackHome, endpoint: &str) -> Self {
        let binaries = system_tests::binaries::release_binaries();
        let envs: HashMap<&str, HashMap<String, String>> = PROCESSES
            .iter()
            .map(|&name| (name, home.env_for(name, false)))
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
        let mut started = Started::new(home.dir.join("logs/trace-check"));
        for name in PROCESSES {
            let mut command = Command::new(binaries.join(name));
            // An OTEL_ variable of the caller's must not change what is tested.
            for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("OTEL_")) {
                command.env_remove(key);
            }
            command
                .envs(&envs[name])
                .env("HTTP_PORT", ports[name].to_string())
                .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
                // Milliseconds: spans are exported within a tenth of a second.
                .env("OTEL_BSP_SCHEDULE_DELAY", "100");
            match name {
                // As behind a proxy that sets or strips the header.
                "order-api" => command.env("TRUST_INCOMING_TRACEPARENT", "true"),
                "slots" => command.env("OTEL_SERVICE_NAME", service_name(name)),
                "mediator" => {
                    for participant in ["billing", "items", "slots"] {
                        let url = format!("http://127.0.0.1:{}", ports[participant]);
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
            started.spawn(name, ports[name], command);
        }
        for name in PROCESSES {
            started.wait_ready(name).await;
        }
        Self { ports, started }
    }

    pub fn url(&self, name: &str, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports[name])
    }

    pub fn shop(&self, name: &str) -> Shop {
        Shop::new(&self.url(name, "")).expect("a client")
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.started.log(name)
    }
}
