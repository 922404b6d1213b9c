//! A small Prometheus registry: counters and histograms kept in memory and
//! rendered in the text exposition format by `GET /metrics`. Series are few
//! (label values come from fixed sets: methods, route templates, statuses,
//! steps), so a mutex over a map is enough.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, OnceLock};

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Registry {
    /// family -> (help, labels -> value)
    counters: BTreeMap<&'static str, (&'static str, BTreeMap<String, u64>)>,
    histograms: BTreeMap<&'static str, (&'static str, BTreeMap<String, Histogram>)>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn label_text(labels: &[(&str, &str)]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(",")
}

/// Adds `by` to the counter `family{labels}`.
pub fn count(family: &'static str, help: &'static str, labels: &[(&str, &str)], by: u64) {
    let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
    let (_, series) = reg
        .counters
        .entry(family)
        .or_insert((help, BTreeMap::new()));
    *series.entry(label_text(labels)).or_default() += by;
}

/// Records one observation of `seconds` in the histogram `family{labels}`.
pub fn observe(family: &'static str, help: &'static str, labels: &[(&str, &str)], seconds: f64) {
    let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
    let (_, series) = reg
        .histograms
        .entry(family)
        .or_insert((help, BTreeMap::new()));
    let h = series.entry(label_text(labels)).or_default();
    for (bucket, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
        if seconds <= *bucket {
            *count += 1;
        }
    }
    h.sum += seconds;
    h.count += 1;
}

/// The per-request metrics every service keeps. Every label comes from a
/// fixed set, whatever the request: a client cannot add series.
pub fn http_request(method: &warp::http::Method, path: &str, status: u16, seconds: f64) {
    let method = method_label(method);
    let route = route_label(path);
    // Statuses are chosen by the services, not the client: a small set.
    let status = status.to_string();
    let labels = [("method", method), ("route", route), ("status", &status)];
    count("http_requests_total", "HTTP requests served.", &labels, 1);
    observe(
        "http_request_duration_seconds",
        "Time to answer an HTTP request.",
        &[("method", method), ("route", route)],
        seconds,
    );
}

/// The standard methods by name, any other token as `OTHER`.
fn method_label(method: &warp::http::Method) -> &'static str {
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

/// Every path the services serve, as templates: `{}` stands for one
/// segment, the first template that matches wins. A path that matches none
/// is `other`.
const ROUTES: [&str; 25] = [
    "/api/auth/users/",
    "/api/token/",
    "/api/token/refresh/",
    "/api/token/verify/",
    "/api/token/logout/",
    "/api/openapi.yaml",
    "/api/accounts/{username}",
    "/api/accounts/{username}/deposit",
    "/api/profiles/",
    "/api/profiles/{username}",
    "/api/orders/",
    "/api/orders/{id}",
    "/internal/reservations/{order_id}",
    "/internal/settlements",
    "/api/admin/sagas",
    "/api/admin/sagas/stats",
    "/api/admin/sagas/retry",
    "/api/admin/sagas/{id}",
    "/api/admin/sagas/{id}/retry",
    "/api/admin/sagas/{id}/cancel",
    "/api/admin/workers",
    "/console/",
    "/console/{file}",
    "/health",
    "/ready",
];

/// The route template `path` belongs to (`/metrics` included).
pub fn route_label(path: &str) -> &'static str {
    if path == "/metrics" {
        return "/metrics";
    }
    let matches = |template: &str| {
        // warp routes match with or without the trailing slash.
        let (template, path) = (template.trim_end_matches('/'), path.trim_end_matches('/'));
        let (mut want, mut got) = (template.split('/'), path.split('/'));
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w.starts_with('{') => {
                    if g.is_empty() {
                        return false;
                    }
                }
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    };
    ROUTES
        .iter()
        .find(|template| matches(template))
        .copied()
        .unwrap_or("other")
}

/// The whole registry in the Prometheus text format.
pub fn render() -> String {
    let reg = registry().lock().unwrap_or_else(|p| p.into_inner());
    let mut out = String::new();
    for (family, (help, series)) in &reg.counters {
        let _ = writeln!(out, "# HELP {family} {help}\n# TYPE {family} counter");
        for (labels, value) in series {
            let _ = writeln!(out, "{family}{{{labels}}} {value}");
        }
    }
    for (family, (help, series)) in &reg.histograms {
        let _ = writeln!(out, "# HELP {family} {help}\n# TYPE {family} histogram");
        for (labels, h) in series {
            let sep = if labels.is_empty() { "" } else { "," };
            for (bucket, count) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "{family}_bucket{{{labels}{sep}le=\"{bucket}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "{family}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "{family}_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "{family}_count{{{labels}}} {}", h.count);
        }
    }
    out
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
        assert_eq!(route_label("/api/orders/42"), "/api/orders/{id}");
        assert_eq!(route_label("/api/orders/"), "/api/orders/");
        assert_eq!(route_label("/api/orders"), "/api/orders/");
        assert_eq!(
            route_label("/api/accounts/alice/deposit"),
            "/api/accounts/{username}/deposit"
        );
        assert_eq!(
            route_label("/internal/reservations/7"),
            "/internal/reservations/{order_id}"
        );
        assert_eq!(
            route_label("/api/admin/sagas/stats"),
            "/api/admin/sagas/stats"
        );
        assert_eq!(route_label("/api/admin/sagas/9"), "/api/admin/sagas/{id}");
        assert_eq!(
            route_label("/api/admin/sagas/9/retry"),
            "/api/admin/sagas/{id}/retry"
        );
        assert_eq!(route_label("/console/console.js"), "/console/{file}");
        assert_eq!(route_label("/api/orders/42/x"), "other");
        assert_eq!(route_label("/wp-admin/../../etc"), "other");
        assert_eq!(route_label("/metrics"), "/metrics");
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
