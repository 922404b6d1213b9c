//! The order API's rules: validation, authorization, listing.

use common::testing::{tokens, unique_name};
use serde_json::json;

use system_tests::in_process::{assert_error, order, Stock, TestStack};

#[tokio::test]
async fn bad_orders_are_400_and_nothing_is_created() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    let name = unique_name("bad");
    let token = stack.user(&name, 100).await;

    let cases = [
        order(json!(0), 1, "10:00"),
        order(json!(-1), 1, "10:00"),
        order(json!(1.234), 1, "10:00"),
        order(json!("10"), 1, "10:00"),
        order(json!(10), 0, "10:00"),
        order(json!(10), -4, "10:00"),
        order(json!(10), 1, "10"),
        order(json!(10), 1, "24:00"),
        json!({"amount": 10}),
        json!({"amount": 10, "details": {"item": "one", "slot": "10:00"}}),
        json!({"amount": 10, "details": {"item": 1}}),
        json!({"amount": 10, "details": {"item": 1, "slot": "10:00"}, "extra": true}),
        json!([]),
    ];
    for body in &cases {
        assert_error(&stack.place(&token, body, None).await, 400);
    }
    assert_error(
        &stack
            .place(&token, &order(json!(1), 1, "10:00"), Some(&"k".repeat(300)))
            .await,
        400,
    );
    let listed = stack.get(&token, "/api/orders/").await;
    assert_eq!(listed.body, json!([]));
}

#[tokio::test]
async fn orders_need_a_valid_token_and_stay_private() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    let (ann, bob) = (unique_name("ann"), unique_name("bob"));
    let (ann_token, bob_token) = (stack.user(&ann, 100).await, stack.user(&bob, 100).await);
    let placed = stack
        .place(&ann_token, &order(json!(1), 1, "10:00"), None)
        .await;
    let path = format!("/api/orders/{}", placed.body["id"]);

    assert_error(&stack.get(&bob_token, &path).await, 404);
    for missing in ["/api/orders/999999", "/api/orders/0", "/api/orders/-1"] {
        assert_error(&stack.get(&ann_token, missing).await, 404);
    }
    assert_eq!(stack.get(&bob_token, "/api/orders/").await.body, json!([]));
    for bad in [
        tokens::expired(&stack.keys, &ann),
        tokens::alg_none(&ann),
        "nope".to_owned(),
    ] {
        assert_error(&stack.get(&bad, &path).await, 401);
        assert_error(
            &stack.place(&bad, &order(json!(1), 1, "10:00"), None).await,
            401,
        );
    }
    let anonymous = stack
        .client
        .send(
            hyper::Method::GET,
            &format!("{}{path}", stack.orders),
            &[],
            None,
        )
        .await;
    assert_error(&anonymous, 401);
}

#[tokio::test]
async fn the_list_is_oldest_first_bounded_and_filtered() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    let name = unique_name("lister");
    let token = stack.user(&name, 100).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let placed = stack
            .place(&token, &order(json!(1), 1, "10:00"), None)
            .await;
        ids.push(placed.body["id"].as_i64().expect("id"));
    }
    let listed_ids = |path: &'static str| {
        let stack = &stack;
        let token = &token;
        async move {
            let response = stack.get(token, path).await;
            assert_eq!(response.status, 200, "{}", response.text);
            response
                .body
                .as_array()
                .expect("a list")
                .iter()
                .map(|o| o["id"].as_i64().expect("id"))
                .collect::<Vec<_>>()
        }
    };

    assert_eq!(listed_ids("/api/orders/").await, ids);
    assert_eq!(listed_ids("/api/orders/?limit=2").await, ids[3..].to_vec());
    assert_eq!(
        listed_ids("/api/orders/?limit=2&offset=1").await,
        ids[2..4].to_vec()
    );
    assert_eq!(listed_ids("/api/orders/?status=pending").await, ids);
    assert_eq!(
        listed_ids("/api/orders/?status=completed").await,
        Vec::<i64>::new()
    );
    for bad in [
        "/api/orders/?limit=0",
        "/api/orders/?limit=5000",
        "/api/orders/?offset=-1",
        "/api/orders/?status=lost",
        "/api/orders/?limit=x",
    ] {
        assert_error(&stack.get(&token, bad).await, 400);
    }
}

#[tokio::test]
async fn an_order_accepted_while_no_mediator_runs_is_processed_when_one_starts() {
    let stack = TestStack::spawn(Stock::default(), 0).await;
    let name = unique_name("late");
    let token = stack.user(&name, 100).await;
    let placed = stack
        .place(&token, &order(json!(3), 1, "10:00"), None)
        .await;
    let id = placed.body["id"].as_i64().expect("id");

    stack.start_mediator().await;
    let done = stack.wait_final(&token, id).await;

    assert_eq!(done["status"], json!("completed"));
}

#[tokio::test]
async fn an_order_that_never_reached_the_queue_is_swept_into_it() {
    let stack = TestStack::spawn(Stock::default(), 1).await;
    let name = unique_name("swept");
    let token = stack.user(&name, 100).await;
    // As if order-api had crashed between its commit and its push.
    let db = stack.orders_db.client().await;
    let id: i64 = db
        .query_one(
            "INSERT INTO orders (username, amount, item, slot) VALUES ($1, 7, 2, '13:00') RETURNING id",
            &[&name],
        )
        .await
        .expect("insert")
        .get(0);

    let done = stack.wait_final(&token, id).await;

    assert_eq!(done["status"], json!("completed"));
    assert_eq!(stack.wallet(&name).await, rust_decimal::Decimal::from(93));
}

#[tokio::test]
async fn a_customer_at_max_unfinished_orders_waits_and_a_repeated_key_is_still_answered() {
    let stack = TestStack::spawn(
        Stock {
            max_unfinished_orders: 3,
            ..Stock::default()
        },
        0,
    )
    .await;
    let (name, other) = (unique_name("eager"), unique_name("calm"));
    let token = stack.user(&name, 100).await;
    let others = stack.user(&other, 100).await;
    let body = order(json!(1), 1, "10:00");

    let mut ids = Vec::new();
    for n in 0..3 {
        let placed = stack.place(&token, &body, Some(&format!("key-{n}"))).await;
        assert_eq!(placed.status, 201, "{}", placed.text);
        ids.push(placed.body["id"].clone());
    }
    let fourth = stack.place(&token, &body, Some("key-3")).await;
    let unkeyed = stack.place(&token, &body, None).await;
    let repeat = stack.place(&token, &body, Some("key-1")).await;
    let someone_else = stack.place(&others, &body, None).await;

    for refused in [&fourth, &unkeyed] {
        assert_error(refused, 429);
        assert_eq!(refused.headers["retry-after"], "5");
    }
    assert_eq!(repeat.status, 201, "{}", repeat.text);
    assert_eq!(repeat.body["id"], ids[1]);
    assert_eq!(someone_else.status, 201, "{}", someone_else.text);

    // Once the sagas have run, there is room again.
    stack.start_mediator().await;
    stack.wait_all_final().await;
    let later = stack.place(&token, &body, Some("key-3")).await;
    assert_eq!(later.status, 201, "{}", later.text);
}
