//! Many orders at once, over two mediator workers: every order ends final
//! and money, stock and capacity are conserved exactly.

use common::testing::unique_name;
use rust_decimal::Decimal;
use serde_json::json;

use system_tests::in_process::{order, Stock, TestStack};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_orders_from_fifty_users_never_oversell_and_conserve_everything() {
    let stack = TestStack::spawn(
        Stock {
            items: 100,
            slot_capacity: 1000,
            ..Stock::default()
        },
        2,
    )
    .await;
    let mut users = Vec::new();
    for _ in 0..50 {
        let name = unique_name("buyer");
        let token = stack.user(&name, 100).await;
        users.push((name, token));
    }

    let stack_ref = &stack;
    let placements = users.iter().flat_map(|(_, token)| {
        (0..10).map(move |i| async move {
            let body = order(json!(15), 1, &format!("{:02}:00", 8 + i % 11));
            stack_ref.place(token, &body, None).await
        })
    });
    let responses = futures::future::join_all(placements).await;
    assert!(responses.iter().all(|r| r.status == 201));
    stack.wait_all_final().await;

    let db = stack.orders_db.client().await;
    let completed: Vec<(String, Decimal)> = db
        .query(
            "SELECT username, amount FROM orders WHERE status = 'completed'",
            &[],
        )
        .await
        .expect("completed orders")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let failed: i64 = db
        .query_one("SELECT count(*) FROM orders WHERE status = 'failed'", &[])
        .await
        .expect("failed")
        .get(0);
    assert_eq!(completed.len() as i64 + failed, 500);
    assert_eq!(completed.len(), 100, "exactly the stock is sold");
    assert_eq!(stack.stock(1).await, 0);

    let mut booked = 0;
    for hour in 8..=18 {
        booked += stack.booked(&format!("{hour:02}:00")).await;
    }
    assert_eq!(booked, 100);
    for (name, _) in &users {
        let spent: Decimal = completed
            .iter()
            .filter(|(u, _)| u == name)
            .map(|(_, a)| *a)
            .sum();
        assert_eq!(
            stack.wallet(name).await + spent,
            Decimal::from(100),
            "{name}'s money"
        );
    }
}
