//! A small Prometheus registry: counters and histograms kept in memory and
//! rendered in the text exposition format by `GET /metrics`. Series are few
//! (labels are methods, statuses, steps), so a mutex over a map is enough.

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

/// The per-request metrics every service keeps.
pub fn http_request(method: &str, status: u16, seconds: f64) {
    let status = status.to_string();
    let labels = [("method", method), ("status", status.as_str())];
    count("http_requests_total", "HTTP requests served.", &labels, 1);
    observe(
        "http_request_duration_seconds",
        "Time to answer an HTTP request.",
        &[("method", method)],
        seconds,
    );
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
