//! Joining spans into traces across processes with W3C `traceparent`s
//! (`00-<trace id>-<parent span id>-<flags>`): read from a request's
//! header or an order's row, written into a call's header or an order's
//! row. Only `traceparent` travels; a caller's `tracestate` is not kept.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::field::{display, Empty};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use warp::http::{HeaderMap, Method};

use super::tracing_enabled;
use crate::metrics;

/// The header that carries a trace context.
const TRACEPARENT: &str = "traceparent";

/// The span of one request a service serves: a child of the caller's span
/// when the request carries a `traceparent` that is believed (see
/// `believes_traceparent`), else the root of a trace.
/// `Span::none()` when traces are off, and for `/health`, `/ready` and
/// `/metrics`, which probes and scrapers call all day.
pub fn server_span(method: &Method, path: &str, headers: &HeaderMap) -> Span {
    if !tracing_enabled() {
        return Span::none();
    }
    let route = crate::http::paths::route_label(path);
    if matches!(route, "/health" | "/ready" | "/metrics") {
        return Span::none();
    }
    // Both from fixed sets, whatever the client sent.
    let method = metrics::method_label(method);
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = route,
        http.response.status_code = Empty,
        otel.status_code = Empty,
        trace_id = Empty,
    );
    let traceparent = headers
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .filter(|_| believes_traceparent(path));
    continue_trace(&span, traceparent);
    span
}

/// Whether a request's `traceparent` is believed. Always on the internal
/// endpoints, which only the services call (they demand a service
/// credential, and the ingress never routes them): a saga's calls stay in
/// its trace. On the public ones only with `TRUST_INCOMING_TRACEPARENT`
/// (behind a proxy that sets or strips the header): a client's own would
/// force sampling and choose the trace id stored with its orders.
fn believes_traceparent(path: &str) -> bool {
    let internal = path.starts_with("/internal/")
        || path == "/api/profiles"
        || path.starts_with("/api/profiles/");
    internal || super::trusts_public_traceparents()
}

/// Records the answer's status on a `server_span`; a 5xx marks it failed.
pub fn record_status(span: &Span, status: u16) {
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
}

/// Makes `span` (not yet entered by anyone) a child of the remote span
/// `traceparent` names, and records its trace id in its `trace_id` field
/// for the logs. A missing or malformed `traceparent` leaves `span` the
/// root of a trace of its own.
pub fn continue_trace(span: &Span, traceparent: Option<&str>) {
    if !tracing_enabled() {
        return;
    }
    if let Some(traceparent) = traceparent {
        let parent = TraceContextPropagator::new().extract(&Traceparent(Some(traceparent.into())));
        if parent.span().span_context().is_valid() {
            // Fails only for a span already started or not traced: then
            // it keeps the trace it has.
            let _ = span.set_parent(parent);
        }
    }
    record_trace_id(span);
}

/// Records `span`'s trace id in its `trace_id` field, so that the log
/// lines written inside it name their trace. Starts the span: its parent
/// is fixed from then on.
pub fn record_trace_id(span: &Span) {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span.record("trace_id", display(span_context.trace_id()));
    }
}

/// The W3C `traceparent` naming `span`, to send with a call or store with
/// an order; `None` when traces are off or `span` is not traced.
pub fn traceparent(span: &Span) -> Option<String> {
    if !tracing_enabled() {
        return None;
    }
    let mut carrier = Traceparent(None);
    TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
    carrier.0
}

/// A carrier holding one `traceparent`.
struct Traceparent(Option<String>);

impl Extractor for Traceparent {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0.as_deref()).flatten()
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

impl Injector for Traceparent {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT {
            self.0 = Some(value);
        }
    }
}
