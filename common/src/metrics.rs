//! Prometheus metrics through the `prometheus` crate, in its default
//! registry, served by `GET /metrics` (`render`). Every family is declared
//! once with fixed label names, and every label value comes from a fixed
//! set (methods, route templates, statuses, steps, reasons), so a client
//! cannot add series.

use std::sync::LazyLock;

use prometheus::core::Collector;
use prometheus::{Encoder, HistogramOpts, Opts, TextEncoder};

pub use prometheus::{Gauge, Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge};

/// Latency buckets, in seconds: a millisecond to ten seconds.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Registers `metric` in the default registry. The names are this code's
/// constants: a clash is a bug the first scrape in the tests shows.
fn register<M: Collector + Clone + 'static>(metric: M) -> M {
    if let Err(err) = prometheus::register(Box::new(metric.clone())) {
        tracing::error!(error = %err, "a metric could not be registered");
    }
    metric
}

// The declarations below take constant names, help texts and label names:
// they fail only on a typo in this code, which every test would show.

pub fn counter(name: &str, help: &str) -> IntCounter {
    register(IntCounter::new(name, help).expect("a valid counter"))
}

pub fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register(IntCounterVec::new(Opts::new(name, help), labels).expect("a valid counter"))
}

pub fn gauge(name: &str, help: &str) -> IntGauge {
    register(IntGauge::new(name, help).expect("a valid gauge"))
}

pub fn float_gauge(name: &str, help: &str) -> Gauge {
    register(Gauge::new(name, help).expect("a valid gauge"))
}

pub fn histogram(name: &str, help: &str, buckets: &[f64]) -> Histogram {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    register(Histogram::with_opts(opts).expect("a valid histogram"))
}

pub fn histogram_vec(name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    register(HistogramVec::new(opts, labels).expect("a valid histogram"))
}

static HTTP_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "http_requests_total",
        "HTTP requests served, by method, route template and status.",
        &["method", "route", "status"],
    )
});

static HTTP_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    histogram_vec(
        "http_request_duration_seconds",
        "Time to answer an HTTP request, by method and route template.",
        &["method", "route"],
        LATENCY_BUCKETS,
    )
});

/// The per-request metrics every service keeps. Every label comes from a
/// fixed set, whatever the request: a client cannot add series.
pub fn http_request(method: &warp::http::Method, path: &str, status: u16, seconds: f64) {
    let method = method_label(method);
    let route = crate::http::paths::route_label(path);
    // Statuses are chosen by the services, not the client: a small set.
    let status = status.to_string();
    HTTP_REQUESTS
        .with_label_values(&[method, route, &status])
        .inc();
    HTTP_DURATION
        .with_label_values(&[method, route])
        .observe(seconds);
}

/// The standard methods by name, any other token as `OTHER`.
pub(crate) fn method_label(method: &warp::http::Method) -> &'static str {
    use warp::http::Method;
    const STANDARD: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    STANDARD
        .iter()
        .find(|(known, _)| known == method)
        .map_or("OTHER", |(_, name)| name)
}

/// Every registered metric in the Prometheus text format.
pub fn render() -> String {
    let mut out = Vec::new();
    if let Err(err) = TextEncoder::new().encode(&prometheus::gather(), &mut out) {
        tracing::error!(error = %err, "encoding the metrics");
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::Method;

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(method_label(&Method::POST), "POST");
        let made_up = Method::from_bytes(b"FROBNICATE").expect("a valid token");
        assert_eq!(method_label(&made_up), "OTHER");
    }

    #[test]
    fn made_up_methods_and_paths_add_no_series() {
        let series = || {
            render()
                .lines()
                .filter(|l| l.starts_with("http_requests_total{"))
                .count()
        };
        http_request(&Method::GET, "/nothing-here-0", 404, 0.001);
        let before = series();
        for i in 0..100 {
            let method = Method::from_bytes(format!("M{i}").as_bytes()).expect("a token");
            http_request(&method, &format!("/nothing-here-{i}"), 404, 0.001);
            http_request(&Method::GET, &format!("/nothing-here-{i}"), 404, 0.001);
        }
        // One new series at most: OTHER on the unknown route.
        assert!(series() <= before + 1, "{}", render());
    }
}
