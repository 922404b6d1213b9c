//! One OpenTelemetry trace per order across the processes, proven against a
//! real OTLP/HTTP receiver (receiver.rs). billing, items, slots, order-api
//! and the mediator are started a second time (services.rs), exporting to
//! it; a new customer of the stack's auth places orders on that order-api,
//! which runs with TRUST_INCOMING_TRACEPARENT=true (as behind a proxy that
//! sets or strips the header), so that cases a to c can give it one:
//!
//!   a. with a traceparent: the order completes, and every span of it
//!      (order-api's request and enqueue, the mediator's saga and its three
//!      reserve calls, each participant's handling of its call) is in the
//!      caller's trace, under the span that caused it; the orders row keeps
//!      the request span's context, the admin API shows the trace id and
//!      the log lines carry it;
//!   b. without one, for an item that does not exist: a fresh trace holds
//!      the refusal and the compensations (cancel item, cancel money);
//!   c. with a malformed traceparent: accepted, in a fresh trace of its own;
//!   d. /health, /ready and /metrics make no spans;
//!   f. a public request's traceparent is not believed by default: billing
//!      (without TRUST_INCOMING_TRACEPARENT) answers GET
//!      /api/accounts/{username} in a fresh trace;
//!   e. and with the receiver gone, orders still complete (last).
//!
//! Run by scripts/test against the stack (scripts/stack up: its
//! PostgreSQL, Redis and auth, and target/release/*). `AUTH_URL`
//! (`http://127.0.0.1:8001`), `STACK_PG_URL`, `STACK_DIR`. The processes'
//! logs: $STACK_DIR/logs/trace-check/NAME.log.

mod cases;
mod receiver;
mod run;
mod services;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use shop_client::{Admin, Call, Method, Shop, StatusCode};
use system_tests::processes::StackHome;
use system_tests::unique_name;

use cases::{tree_a, tree_b, tree_c, Case};
use receiver::{tree, Receiver, Span};
use run::{poll, Run, Sent};
use services::{service_name, Services, PROCESSES};

const ORDER_TIMEOUT: Duration = Duration::from_secs(20);
const SPAN_TIMEOUT: Duration = Duration::from_secs(15);
const ITEM_REASON: &str = "Can not reserve the item";

/// The JSON lines of a process's log: their current span's `key`, as text.
fn logged(path: &Path, key: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|event| {
            let field = |name: &str| match &event["span"][name] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (field(key), field("trace_id"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_order_is_one_trace_across_the_processes() {
    let home = StackHome::from_env();
    let receiver = Receiver::start().await;
    let services = Services::start(&home, &receiver.endpoint).await;
    // billing's database gives the customer a wallet of 100, which billing + 200 shares.
    let auth_url = std::env::var("AUTH_URL").unwrap_or_else(|_| "http://127.0.0.1:8001".to_owned());
    let auth = Shop::new(&auth_url).expect("a client");
    let customer = unique_name("trace");
    let token = auth
        .customer(&customer, "trace password")
        .await
        .expect("a customer of the stack's auth");
    let mut run = Run {
        orders: services.shop("order-api"),
        receiver,
        services,
        token,
    };

    // a, b and c: each case's order and its trace, and each trace's tree.
    let caller = Sent::Caller {
        trace: format!("{:032x}", rand::random::<u128>() | 1),
        span: format!("{:016x}", rand::random::<u64>() | 1),
    };
    let a = run.case("a", 1, caller, tree_a()).await;
    println!("trace a ({}):\n{}", a.trace_id, tree(&a.spans));
    let b = run.case("b", 15, Sent::Nothing, tree_b()).await;
    let c = run
        .case("c", 1, Sent::Malformed("00-zzzz-not-hex-01"), tree_c())
        .await;
    a.assert_tree();
    b.assert_tree();
    c.assert_tree();

    a_completes_under_every_service_name(&run, &a);
    a_is_kept_by_its_row_the_admin_api_and_the_logs(&run, &a, &home, &auth).await;
    b_and_c_begin_fresh_traces(&a, &b, &c);
    operational_routes_make_no_spans(&run).await;
    a_public_traceparent_is_not_believed(&run, &customer).await;
    assert_eq!(
        run.receiver.refused(),
        Vec::<String>::new(),
        "exports the receiver refused"
    );
    orders_complete_with_the_receiver_gone(&mut run).await;
}

/// a: completed, no compensation; every process exported under its name.
fn a_completes_under_every_service_name(run: &Run, a: &Case) {
    assert_eq!(
        a.order["status"], "completed",
        "order {} ended {}",
        a.order_id, a.order
    );
    let cancels: Vec<String> = a
        .spans
        .iter()
        .filter(|s| s.name.starts_with("cancel "))
        .map(|s| s.to_string())
        .collect();
    assert!(
        cancels.is_empty(),
        "a completed order's trace has compensations: {cancels:?}"
    );
    let received: HashSet<String> = run
        .receiver
        .spans(None)
        .into_iter()
        .map(|s| s.service)
        .collect();
    let names: HashSet<String> = PROCESSES
        .iter()
        .map(|p| service_name(p).to_owned())
        .collect();
    assert_eq!(received, names, "the service names spans came from");
}

/// a: the orders row keeps the request span's context, the admin API shows
/// the trace id, and the log lines carry it.
async fn a_is_kept_by_its_row_the_admin_api_and_the_logs(
    run: &Run,
    a: &Case,
    home: &StackHome,
    auth: &Shop,
) {
    let post = a.post().expect("a's POST span");
    let orders_db = home.database("orders").await;
    let row = orders_db
        .query_one(
            "SELECT traceparent FROM orders WHERE id = $1",
            &[&a.order_id],
        )
        .await
        .expect("a's row");
    let stored: Option<String> = row.get(0);
    let want = format!("00-{}-{}-01", a.trace_id, post.span_id);
    assert_eq!(stored, Some(want), "orders.traceparent of {}", a.order_id);

    let login = auth
        .login("admin", &home.admin_password())
        .await
        .expect("the administrator's login");
    let admin = Admin::with_token(run.services.shop("order-api"), login.access);
    let view = admin.saga(a.order_id).await.expect("a's saga");
    assert_eq!(
        view["saga"]["trace_id"],
        a.trace_id.as_str(),
        "the saga view: {view}"
    );

    let id = a.order_id.to_string();
    let lines: Vec<(String, String)> = logged(&run.services.log("mediator"), "order_id")
        .into_iter()
        .filter(|(order, _)| *order == id)
        .collect();
    assert!(
        !lines.is_empty(),
        "no mediator log line has span.order_id = {id}"
    );
    let strays = lines
        .iter()
        .filter(|(_, trace)| *trace != a.trace_id)
        .count();
    assert_eq!(
        strays,
        0,
        "{strays} of {} lines of order {id} lack its trace id",
        lines.len()
    );
    let requests = logged(&run.services.log("order-api"), "trace_id");
    assert!(
        requests.iter().any(|(_, trace)| *trace == a.trace_id),
        "no order-api log line has span.trace_id = {}",
        a.trace_id
    );
}

/// b: the item refused and compensated in a fresh trace, the slot never
/// asked; c: a malformed traceparent ignored.
fn b_and_c_begin_fresh_traces(a: &Case, b: &Case, c: &Case) {
    assert_eq!(
        (&b.order["status"], &b.order["reason"]),
        (&json!("failed"), &json!(ITEM_REASON)),
        "order {}",
        b.order_id
    );
    b.assert_fresh(&[a]);
    assert!(
        !b.spans.iter().any(|s| s.name == "reserve slot"),
        "the slot is reserved although the item was refused"
    );
    c.assert_fresh(&[a, b]);
}

/// d: /health, /ready and /metrics answer and make no spans.
async fn operational_routes_make_no_spans(run: &Run) {
    let routes = ["/health", "/ready", "/metrics"];
    for name in PROCESSES {
        for route in routes {
            let answer = run
                .services
                .shop(name)
                .call(Method::GET, route, Call::default())
                .await;
            assert!(
                answer.is_ok_and(|a| a.status == StatusCode::OK),
                "{name} {route}"
            );
        }
    }
    // Ten export periods: whatever they made has arrived.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let made: Vec<String> = run
        .receiver
        .spans(None)
        .iter()
        .filter(|s| routes.contains(&s.name.rsplit(' ').next().unwrap_or_default()))
        .map(|s| s.to_string())
        .collect();
    assert!(made.is_empty(), "spans of {routes:?}: {made:?}");
}

/// f: billing, left at the default, answers a public request that carries
/// a traceparent in a fresh trace of its own.
async fn a_public_traceparent_is_not_believed(run: &Run, customer: &str) {
    let callers_trace = format!("{:032x}", rand::random::<u128>() | 1);
    let header = format!("00-{callers_trace}-{:016x}-01", rand::random::<u64>() | 1);
    let headers = [("traceparent", header.as_str())];
    let call = Call {
        token: Some(&run.token),
        headers: &headers,
        ..Call::default()
    };
    let path = format!("/api/accounts/{customer}");
    let account = run
        .services
        .shop("billing")
        .call(Method::GET, &path, call)
        .await;
    assert!(
        account.is_ok_and(|a| a.status == StatusCode::OK),
        "billing's GET /api/accounts/{{username}}"
    );
    let spans = poll(SPAN_TIMEOUT, || {
        let spans: Vec<Span> = run
            .receiver
            .spans(None)
            .into_iter()
            .filter(|s| s.service == "billing" && s.name == "GET /api/accounts/{username}")
            .collect();
        (!spans.is_empty()).then_some(spans)
    })
    .await
    .unwrap_or_default();
    let seen: Vec<(&str, &str)> = spans
        .iter()
        .map(|s| (s.trace_id.as_str(), s.parent_span_id.as_str()))
        .collect();
    assert!(
        spans.len() == 1
            && spans[0].trace_id != callers_trace
            && spans[0].parent_span_id.is_empty(),
        "billing's spans of it, (trace, parent): {seen:?}"
    );
}

/// e (last: it stops the receiver): orders still complete.
async fn orders_complete_with_the_receiver_gone(run: &mut Run) {
    run.receiver.stop();
    let mut ends = Vec::new();
    for _ in 0..3 {
        let id = run.place("e", 1, &[]).await;
        ends.push(run.final_order(id).await["status"].clone());
    }
    assert_eq!(
        ends,
        vec![json!("completed"); 3],
        "orders placed while the collector is down"
    );
}
