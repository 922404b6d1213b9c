//! The span exporter, configured by the standard OpenTelemetry variables:
//!
//! - `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`):
//!   the collector, `http://host:4318`; unset, traces are off.
//! - `OTEL_SERVICE_NAME`: the service's name in traces (default: its own
//!   name, `order-api` say). `OTEL_RESOURCE_ATTRIBUTES` adds attributes.
//! - `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (default
//!   `parentbased_always_on`), `OTEL_EXPORTER_OTLP_HEADERS`,
//!   `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_BSP_*` (the batch's delay and the
//!   queue's size: spans past a full queue are dropped, never held).
//! - `OTEL_SDK_DISABLED=true` turns traces off.
//!
//! Spans go over OTLP/HTTP in protobuf, in plain HTTP: the collector is
//! expected beside the service (an agent on the node, a sidecar).

use anyhow::{bail, Context};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

/// The tracer provider the environment asks for; `None` when traces are
/// off. `Err` for a setting this build cannot follow.
pub(super) fn provider(service: &str) -> anyhow::Result<Option<SdkTracerProvider>> {
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let Some(endpoint) =
        set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"))
    else {
        return Ok(None);
    };
    if set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    if !endpoint.starts_with("http://") {
        bail!(
            "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// URL, got {endpoint:?}: \
             spans go over OTLP/HTTP without TLS, to a collector beside the service"
        );
    }
    for name in [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    ] {
        if let Some(protocol) = set(name).filter(|p| p != "http/protobuf") {
            bail!("{name} must be http/protobuf (the only protocol built in), got {protocol:?}");
        }
    }
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()
        .context("setting up the OTLP span exporter")?;
    let name = set("OTEL_SERVICE_NAME").unwrap_or_else(|| service.to_owned());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(name).build())
        .build();
    Ok(Some(provider))
}
