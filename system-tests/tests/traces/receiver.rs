//! A real OTLP/HTTP trace receiver (protobuf, as the OpenTelemetry Collector
//! takes it) on a free port of 127.0.0.1, keeping every span it is sent and
//! every export it refused, until it is stopped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// An export bigger than this is refused (413).
const MAX_BODY: usize = 4 << 20;

/// One span as received; ids in hex, a root's parent "".
#[derive(Debug, Clone)]
pub struct Span {
    /// Its resource's `service.name`.
    pub service: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    pub kind: SpanKind,
    /// Strings, integers, booleans and doubles as text.
    pub attributes: HashMap<String, String>,
    /// Nanoseconds since the epoch, to order a tree.
    pub start: u64,
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.service, self.name)
    }
}

#[derive(Default)]
struct Kept {
    /// Keyed by ids: an export the exporter retried counts once.
    spans: HashMap<(String, String), Span>,
    refused: Vec<String>,
}

pub struct Receiver {
    pub endpoint: String,
    kept: Arc<Mutex<Kept>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
        let kept = Arc::new(Mutex::new(Kept::default()));
        let (stop, mut stopped) = oneshot::channel();
        let serving = kept.clone();
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(_) => continue,
                    },
                    _ = &mut stopped => break,
                };
                let kept = serving.clone();
                let service = hyper::service::service_fn(move |request| {
                    let kept = kept.clone();
                    async move { Ok::<_, std::convert::Infallible>(export(&kept, request).await) }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
            // The listener is dropped here: the port is closed.
        });
        Self {
            endpoint,
            kept,
            stop: Some(stop),
        }
    }

    /// The spans received, of `trace_id` or all.
    pub fn spans(&self, trace_id: Option<&str>) -> Vec<Span> {
        let kept = self.kept.lock().expect("the receiver's spans");
        kept.spans
            .values()
            .filter(|span| trace_id.is_none_or(|id| span.trace_id == id))
            .cloned()
            .collect()
    }

    pub fn refused(&self) -> Vec<String> {
        self.kept
            .lock()
            .expect("the receiver's refusals")
            .refused
            .clone()
    }

    /// Stops accepting and closes the port.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `POST /v1/traces` with an uncompressed protobuf body: its spans kept.
async fn export(kept: &Mutex<Kept>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let refuse = |status: StatusCode, why: String| {
        kept.lock()
            .expect("the receiver's refusals")
            .refused
            .push(format!("{status} {why}"));
        Response::builder()
            .status(status)
            .header("content-type", "text/plain")
            // The body may be unread: this connection cannot carry another request.
            .header("connection", "close")
            .body(Full::new(Bytes::from(why)))
            .expect("a response")
    };
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_lowercase()
    };
    if request.method() != hyper::Method::POST || request.uri().path() != "/v1/traces" {
        return refuse(
            StatusCode::NOT_FOUND,
            format!("{} {}", request.method(), request.uri()),
        );
    }
    let content_type = header("content-type");
    if content_type.split(';').next().unwrap_or_default().trim() != "application/x-protobuf" {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type {content_type:?}"),
        );
    }
    let encoding = header("content-encoding");
    if !matches!(encoding.as_str(), "" | "identity") {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content encoding {encoding:?}"),
        );
    }
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(err) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, format!("the body: {err}")),
    };
    let export = match ExportTraceServiceRequest::decode(body) {
        Ok(export) => export,
        Err(err) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("not an ExportTraceServiceRequest: {err}"),
            )
        }
    };
    let mut kept = kept.lock().expect("the receiver's spans");
    for resource_spans in export.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        let service = resource.get("service.name").cloned().unwrap_or_default();
        for span in resource_spans
            .scope_spans
            .into_iter()
            .flat_map(|scope| scope.spans)
        {
            let span = Span {
                service: service.clone(),
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: hex(&span.parent_span_id),
                kind: span.kind(),
                attributes: attributes(&span.attributes),
                start: span.start_time_unix_nano,
                name: span.name,
            };
            kept.spans
                .insert((span.trace_id.clone(), span.span_id.clone()), span);
        }
    }
    Response::builder()
        .header("content-type", "application/x-protobuf")
        .body(Full::new(Bytes::from(
            ExportTraceServiceResponse::default().encode_to_vec(),
        )))
        .expect("a response")
}

fn attributes(pairs: &[KeyValue]) -> HashMap<String, String> {
    pairs
        .iter()
        .filter_map(|pair| Some((pair.key.clone(), text(pair.value.as_ref()?)?)))
        .collect()
}

fn text(value: &AnyValue) -> Option<String> {
    match value.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        any_value::Value::DoubleValue(d) => Some(d.to_string()),
        other => Some(format!("{other:?}")),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The spans as an indented tree, children in start order.
pub fn tree(spans: &[Span]) -> String {
    let ids: std::collections::HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<Option<&str>, Vec<&Span>> = HashMap::new();
    let mut sorted: Vec<&Span> = spans.iter().collect();
    sorted.sort_by_key(|s| s.start);
    for span in sorted {
        let parent = Some(span.parent_span_id.as_str()).filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(span);
    }
    let mut lines = Vec::new();
    let mut stack: Vec<(&Span, usize)> = children
        .get(&None)
        .into_iter()
        .flatten()
        .rev()
        .map(|s| (*s, 0))
        .collect();
    while let Some((span, depth)) = stack.pop() {
        lines.push(format!(
            "{}{span} ({})",
            "  ".repeat(depth),
            kind_name(span.kind)
        ));
        let below = children
            .get(&Some(span.span_id.as_str()))
            .into_iter()
            .flatten()
            .rev();
        stack.extend(below.map(|child| (*child, depth + 1)));
    }
    lines.join("\n")
}

pub fn kind_name(kind: SpanKind) -> String {
    kind.as_str_name()
        .trim_start_matches("SPAN_KIND_")
        .to_lowercase()
}
