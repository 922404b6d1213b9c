//! Logs and traces.
//!
//! Logs: one JSON line per event, filtered by `RUST_LOG` (default `info`);
//! `LOG_FORMAT=pretty` prints for humans instead. A line written inside a
//! span carries that span's fields: the order id in a saga, and the trace
//! id once traces are on.
//!
//! Traces: OpenTelemetry spans, sent over OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set (see `otlp`), and nothing at all
//! when it is not. The spans are those `trace` makes: one per request
//! served, one per saga run and one per call to a participant, joined into
//! one trace per order by W3C `traceparent`s.

mod otlp;
mod trace;

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use trace::{continue_trace, record_status, record_trace_id, server_span, traceparent};

/// Whether spans are exported: set once, by `init`.
static TRACING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces. Spans that only a trace would
/// show are not even made when it does not.
pub fn tracing_enabled() -> bool {
    TRACING.load(Ordering::Relaxed)
}

/// `TRUST_INCOMING_TRACEPARENT` (default false): whether a public request's
/// `traceparent` continues the caller's trace (see `trace::server_span`).
static TRUST_INCOMING_TRACEPARENT: AtomicBool = AtomicBool::new(false);

fn trusts_public_traceparents() -> bool {
    TRUST_INCOMING_TRACEPARENT.load(Ordering::Relaxed)
}

/// Keeps the span exporter while the process runs; dropping it sends the
/// spans still buffered (waiting at most the export timeout).
#[must_use = "dropping it at once stops the traces"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take() {
            if let Err(err) = provider.shutdown() {
                tracing::warn!(error = %err, "the last spans were not sent");
            }
        }
    }
}

/// Installs the global subscriber: logs, and traces when they are
/// configured. Later calls install nothing (tests call it once per test).
/// `Err` when the trace settings are wrong.
pub fn init(service: &'static str) -> anyhow::Result<Telemetry> {
    let provider = otlp::provider(service)?;
    let log_filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let pretty = std::env::var("LOG_FORMAT").is_ok_and(|f| f == "pretty");
    let logs = if pretty {
        tracing_subscriber::fmt::layer().boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed()
    };
    // Traces take the info spans whatever RUST_LOG says: quieter logs must
    // not cut the traces. A span's parent is set once the order (or the
    // request's header) is read, so entering a span must not start it.
    let traces = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(service))
            .with_context_activation(false)
            .with_location(false)
            .with_threads(false)
            .with_filter(LevelFilter::INFO)
    });
    let installed = tracing_subscriber::registry()
        .with(logs.with_filter(log_filter))
        .with(traces)
        .try_init()
        .is_ok();
    if !installed {
        return Ok(Telemetry { traces: None });
    }
    TRACING.store(provider.is_some(), Ordering::Relaxed);
    TRUST_INCOMING_TRACEPARENT.store(
        crate::config::parsed("TRUST_INCOMING_TRACEPARENT", false)?,
        Ordering::Relaxed,
    );
    tracing::info!(
        service,
        version = crate::version::VERSION,
        traces = provider.is_some(),
        "starting"
    );
    Ok(Telemetry { traces: provider })
}
