//! Structured logs: one JSON line per event, filtered by `RUST_LOG`
//! (default `info`). `LOG_FORMAT=pretty` prints for humans instead.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; later calls are ignored (tests call it
/// once per test).
pub fn init(service: &'static str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let pretty = std::env::var("LOG_FORMAT").is_ok_and(|f| f == "pretty");
    let result = if pretty {
        tracing_subscriber::fmt().with_env_filter(filter).try_init()
    } else {
        tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .try_init()
    };
    if result.is_ok() {
        tracing::info!(service, version = env!("CARGO_PKG_VERSION"), "starting");
    }
}
