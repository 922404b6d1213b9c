//! The saga metrics by their documented names, read back from `/metrics`
//! as Prometheus would. The registry is one per process, and the tests of
//! this binary run side by side, so counts are at least what this test did.

use std::time::Duration;

use common::testing::unique_name;
use serde_json::json;

use system_tests::in_process::{order, Stock, TestStack};

/// The value of the sample `series` (a name with its labels in the
/// exposition's order), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn sagas_are_counted_timed_and_their_backlog_reported() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let token = stack.user(&unique_name("measured"), 100).await;
    stack
        .place_final(&token, &order(json!(10), 1, "09:00"))
        .await;
    stack
        .place_final(&token, &order(json!(10), 1, "19:00"))
        .await;
    // The sweeper's tick (500 ms here) measures the backlog.
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let text = stack.get("", "/metrics").await.text;

    let at_least = |series: &str, n: f64| {
        let value = sample(&text, series);
        assert!(
            value >= n,
            "{series} is {value}, expected at least {n}\n{text}"
        );
    };
    at_least("orders_accepted_total", 2.0);
    at_least("saga_started_total", 2.0);
    at_least(r#"saga_finished_total{outcome="completed",reason=""}"#, 1.0);
    at_least(
        r#"saga_finished_total{outcome="failed",reason="Can not get the delivery slot"}"#,
        1.0,
    );
    at_least("saga_duration_seconds_count", 2.0);
    at_least(
        r#"saga_step_duration_seconds_count{action="reserve",step="slot"}"#,
        2.0,
    );
    at_least(
        r#"saga_step_duration_seconds_count{action="cancel",step="money"}"#,
        1.0,
    );
    at_least(r#"saga_compensations_total{step="item"}"#, 1.0);
    for gauge in [
        "saga_in_flight",
        "saga_parked",
        "saga_queue_depth",
        "saga_oldest_pending_seconds",
    ] {
        assert!(
            text.lines()
                .any(|line| line.starts_with(&format!("{gauge} "))),
            "{gauge} is not reported\n{text}"
        );
    }
    assert!(text.contains("# TYPE saga_duration_seconds histogram"));
    assert!(text.contains("# TYPE saga_in_flight gauge"));
}
