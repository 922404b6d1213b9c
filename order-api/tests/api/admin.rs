//! The admin API's reads: only an administrator gets in; every saga is
//! listed with its state, filtered and paged; stats, one saga's history
//! and the live workers.

use common::testing::{tokens, unique_name, TestResponse};
use serde_json::{json, Value};

use system_tests::in_process::{assert_error, order, Stock, TestStack};

const ADMIN_PATHS: [&str; 4] = [
    "/api/admin/sagas",
    "/api/admin/sagas/stats",
    "/api/admin/sagas/1",
    "/api/admin/workers",
];

#[tokio::test]
async fn the_admin_api_is_401_without_a_token_and_403_to_a_customer() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    let customer = tokens::access(&stack.keys, "cust");

    for path in ADMIN_PATHS {
        assert_error(&stack.get("not-a-token", path).await, 401);
        assert_error(&stack.get(&customer, path).await, 403);
    }
}

fn ids(page: &Value) -> Vec<i64> {
    page["sagas"]
        .as_array()
        .expect("sagas")
        .iter()
        .map(|saga| saga["id"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn an_administrator_lists_filters_and_pages_every_saga() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let name = unique_name("shopper");
    let token = stack.user(&name, 100).await;
    let done = stack
        .place_final(&token, &order(json!(10), 1, "09:00"))
        .await;
    let refused = stack
        .place_final(&token, &order(json!(10), 15, "09:00"))
        .await;
    let admin = tokens::admin(&stack.keys, "root");
    let (done_id, refused_id) = (done["id"].as_i64(), refused["id"].as_i64());

    let all = stack
        .get(&admin, &format!("/api/admin/sagas?username={name}"))
        .await;
    let failed = stack
        .get(
            &admin,
            &format!("/api/admin/sagas?username={name}&status=failed"),
        )
        .await;
    let first = stack.get(&admin, "/api/admin/sagas?limit=1").await;
    let next = first.body["next_before"].as_i64().expect("a next page");
    let second = stack
        .get(&admin, &format!("/api/admin/sagas?limit=1&before={next}"))
        .await;

    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(ids(&all.body), [refused_id, done_id].map(Option::unwrap));
    let sagas = &all.body["sagas"];
    assert_eq!(sagas[0]["state"], json!("failed"));
    assert_eq!(sagas[0]["reason"], json!("Can not reserve the item"));
    assert_eq!(sagas[1]["state"], json!("completed"));
    assert_eq!(sagas[1]["details"], json!({"item": 1, "slot": "09:00"}));
    assert!(sagas[1]["age_seconds"].as_f64().is_some(), "{}", all.text);
    assert_eq!(ids(&failed.body), [refused_id.unwrap()]);
    assert_eq!(ids(&first.body), [refused_id.unwrap()]);
    assert_eq!(ids(&second.body), [done_id.unwrap()]);
    let bad = stack.get(&admin, "/api/admin/sagas?status=lost").await;
    assert_error(&bad, 400);
    assert_error(&stack.get(&admin, "/api/admin/sagas?limit=1001").await, 400);
    assert_error(
        &stack.get(&admin, "/api/admin/sagas?since=yesterday").await,
        400,
    );
}

#[tokio::test]
async fn stats_one_sagas_history_and_the_workers() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let token = stack.user(&unique_name("shopper"), 100).await;
    let refused = stack
        .place_final(&token, &order(json!(10), 1, "19:00"))
        .await;
    let id = refused["id"].as_i64().expect("id");
    let admin = tokens::admin(&stack.keys, "root");

    let stats = stack.get(&admin, "/api/admin/sagas/stats").await;
    let one = stack.get(&admin, &format!("/api/admin/sagas/{id}")).await;
    let workers = stack.get(&admin, "/api/admin/workers").await;
    let missing = stack.get(&admin, "/api/admin/sagas/999999").await;

    assert_eq!(stats.status, 200, "{}", stats.text);
    assert_eq!(stats.body["by_state"]["failed"], json!(1), "{}", stats.text);
    assert_eq!(
        stats.body["by_state"]["running"],
        json!(0),
        "{}",
        stats.text
    );
    assert_eq!(
        stats.body["by_reason"],
        json!({"Can not get the delivery slot": 1})
    );
    assert_eq!(stats.body["queue_depth"], json!(0));
    assert_eq!(stats.body["oldest_unfinished_seconds"], Value::Null);
    assert_eq!(stats.body["workers"].as_array().map(Vec::len), Some(1));
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.body["saga"]["state"], json!("failed"));
    assert_eq!(
        one.body["saga"]["trace_id"],
        Value::Null,
        "traces are off here; system-tests/tests/traces sees one"
    );
    let steps: Vec<_> = one.body["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|s| (s["step"].clone(), s["action"].clone()))
        .collect();
    assert_eq!(steps.first(), Some(&(json!("money"), json!("reserve"))));
    assert_eq!(steps.last(), Some(&(json!("money"), json!("cancel"))));
    assert_eq!(
        one.body["worker"],
        Value::Null,
        "a finished saga is held by no one"
    );
    let listed = workers.body["workers"].as_array().expect("workers");
    assert_eq!(listed.len(), 1, "{}", workers.text);
    assert!(listed[0]["age_seconds"]
        .as_f64()
        .is_some_and(|age| age < 5.0));
    assert_error(&missing, 404);
}

#[tokio::test]
async fn a_cancelled_saga_is_compensated_and_fails_with_the_operators_reason() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    let name = unique_name("changed_mind");
    let token = stack.user(&name, 100).await;
    let placed = stack
        .place(&token, &order(json!(30), 2, "12:00"), None)
        .await;
    let id = placed.body["id"].as_i64().expect("id");
    let admin = tokens::admin(&stack.keys, "root");

    let by_customer = stack
        .post(&token, &format!("/api/admin/sagas/{id}/cancel"))
        .await;
    let cancelled = stack
        .post(&admin, &format!("/api/admin/sagas/{id}/cancel"))
        .await;
    stack.start_mediator().await;
    let ended = stack.wait_final(&token, id).await;
    let again = stack
        .post(&admin, &format!("/api/admin/sagas/{id}/cancel"))
        .await;
    let missing = stack.post(&admin, "/api/admin/sagas/999999/cancel").await;

    assert_error(&by_customer, 403);
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["saga"]["state"], json!("compensating"));
    assert_eq!(ended["status"], json!("failed"), "{ended}");
    assert_eq!(ended["reason"], json!("Cancelled by operator"));
    assert_eq!(stack.wallet(&name).await, rust_decimal::Decimal::from(100));
    assert_eq!(stack.stock(2).await, Stock::default().items);
    assert_eq!(stack.booked("12:00").await, 0);
    assert_error(&again, 409);
    assert_error(&missing, 404);
}

#[tokio::test]
async fn a_bulk_retry_answers_how_many_it_re_drove() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    let token = stack.user(&unique_name("shopper"), 100).await;
    let placed = stack
        .place(&token, &order(json!(5), 3, "13:00"), None)
        .await;
    let id = placed.body["id"].as_i64().expect("id");
    let db = stack.orders_db.client().await;
    db.execute(
        "UPDATE orders SET parked_at = now(), parked_reason = 'by the test' WHERE id = $1",
        &[&id],
    )
    .await
    .expect("parking");
    let admin = tokens::admin(&stack.keys, "root");

    let bad = stack
        .post(&admin, "/api/admin/sagas/retry?status=lost")
        .await;
    let retried = stack
        .post(&admin, "/api/admin/sagas/retry?status=parked")
        .await;
    let none_left = stack
        .post(&admin, "/api/admin/sagas/retry?status=parked")
        .await;
    stack.start_mediator().await;
    let ended = stack.wait_final(&token, id).await;

    assert_error(&bad, 400);
    assert_eq!(retried.status, 200, "{}", retried.text);
    assert_eq!(retried.body["retried"], json!(1));
    assert_eq!(retried.body["ids"], json!([id]));
    assert_eq!(none_left.body["retried"], json!(0));
    assert_eq!(ended["status"], json!("completed"), "{ended}");
}

#[tokio::test]
async fn the_console_is_served_from_the_same_origin_with_a_strict_policy() {
    let stack = TestStack::spawn(Stock::default(), 0).await;

    let page = stack.get("", "/console/").await;
    let script = stack.get("", "/console/console.js").await;
    let bare = stack.get("", "/console").await;
    let missing = stack.get("", "/console/secrets.txt").await;

    assert_eq!(page.status, 200);
    assert!(page.text.contains("console.js"), "{}", page.text);
    let header = |response: &TestResponse, name: &str| {
        response
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header(&page, "content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    let policy = header(&page, "content-security-policy").expect("a policy");
    assert!(policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"));
    assert_eq!(script.status, 200);
    assert!(header(&script, "content-type").is_some_and(|t| t.starts_with("text/javascript")));
    assert_eq!(bare.status, 301);
    assert_eq!(header(&bare, "location").as_deref(), Some("/console/"));
    assert_error(&missing, 404);
}

#[tokio::test]
async fn a_cancel_while_a_worker_runs_the_saga_wins_over_the_run() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    // Nothing listens where slots should be: the run retries its reserve
    // (refused before anything was sent, so nothing to undo there) until
    // the deadline, and the operator cancels meanwhile.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bound");
    let address = closed.local_addr().expect("address");
    drop(closed);
    let mut settings = stack.mediator_settings.clone();
    settings.slots_url = format!("http://{address}");
    settings.saga_deadline = std::time::Duration::from_secs(3);
    let mediator = mediator::build(settings, stack.shutdown.child_token())
        .await
        .expect("mediator");
    tokio::spawn(mediator.run);
    let name = unique_name("raced");
    let token = stack.user(&name, 100).await;
    let placed = stack
        .place(&token, &order(json!(25), 4, "14:00"), None)
        .await;
    let id = placed.body["id"].as_i64().expect("id");
    let admin = tokens::admin(&stack.keys, "root");
    let mut held = Value::Null;
    for _ in 0..100 {
        held = stack
            .get(&admin, &format!("/api/admin/sagas/{id}"))
            .await
            .body;
        if held["worker"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(held["worker"].is_string(), "no worker took it: {held}");

    let cancelled = stack
        .post(&admin, &format!("/api/admin/sagas/{id}/cancel"))
        .await;
    let ended = stack.wait_final(&token, id).await;

    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(ended["status"], json!("failed"), "{ended}");
    assert_eq!(
        ended["reason"],
        json!("Cancelled by operator"),
        "the operator's reason wins"
    );
    assert_eq!(stack.wallet(&name).await, rust_decimal::Decimal::from(100));
    assert_eq!(stack.stock(4).await, Stock::default().items);
}

#[tokio::test]
async fn an_admin_path_with_an_id_too_large_is_404_not_405() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    let admin = tokens::admin(&stack.keys, "root");

    let retry = stack
        .post(&admin, "/api/admin/sagas/9223372036854775808/retry")
        .await;
    let unknown = stack.post(&admin, "/api/nowhere").await;

    assert_error(&retry, 404);
    assert_error(&unknown, 404);
}
