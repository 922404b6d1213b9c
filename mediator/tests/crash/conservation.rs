//! The verdict every drill ends with: one order per accepted request, the
//! participants holding exactly what the completed orders took, and money,
//! stock and slot bookings adding up.

use std::collections::BTreeSet;

use common::testing::TestDatabase;
use rust_decimal::Decimal;

use crate::Drill;

async fn ids(db: &TestDatabase, sql: &str) -> BTreeSet<i64> {
    let client = db.client().await;
    client
        .query(sql, &[])
        .await
        .expect("ids")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

pub async fn assert_conservation(drill: &Drill, users: &[(String, String)], accepted: &[i64]) {
    let orders = drill.orders_db.client().await;
    let rows = orders
        .query("SELECT id, status, reason FROM orders", &[])
        .await
        .expect("orders");
    assert_eq!(rows.len(), accepted.len(), "one order per accepted request");
    let mut by_reason = std::collections::BTreeMap::<String, usize>::new();
    for row in &rows {
        let status: String = row.get(1);
        let reason: Option<String> = row.get(2);
        *by_reason
            .entry(format!("{status}: {}", reason.unwrap_or_default()))
            .or_default() += 1;
    }
    eprintln!("outcomes: {by_reason:?}");

    let completed = ids(
        &drill.orders_db,
        "SELECT id FROM orders WHERE status = 'completed'",
    )
    .await;
    let money_held = ids(
        &drill.billing_db,
        "SELECT order_id FROM reservations WHERE state IN ('granted', 'settled')",
    )
    .await;
    let items_held = ids(
        &drill.items_db,
        "SELECT order_id FROM reservations WHERE state IN ('granted', 'settled')",
    )
    .await;
    let slots_held = ids(
        &drill.slots_db,
        "SELECT order_id FROM reservations WHERE state IN ('granted', 'settled')",
    )
    .await;
    assert_eq!(
        money_held, completed,
        "money is held for exactly the completed orders"
    );
    assert_eq!(
        items_held, completed,
        "items are held for exactly the completed orders"
    );
    assert_eq!(
        slots_held, completed,
        "slots are held for exactly the completed orders"
    );

    let billing = drill.billing_db.client().await;
    let totals = billing
        .query_one(
            "SELECT (SELECT sum(wallet) FROM accounts),
                    (SELECT coalesce(sum(amount), 0) FROM reservations WHERE state IN ('granted', 'settled')),
                    (SELECT sum(amount) FROM deposits)",
            &[],
        )
        .await
        .expect("money totals");
    let (wallets, held, deposited): (Decimal, Decimal, Decimal) =
        (totals.get(0), totals.get(1), totals.get(2));
    eprintln!("money: wallets {wallets} + held {held} = deposited {deposited}");
    assert_eq!(wallets + held, deposited, "money is conserved");
    assert_eq!(deposited, Decimal::from(100 * users.len() as i64));

    let items = drill.items_db.client().await;
    let stock = items
        .query_one(
            "SELECT sum(initial_stock)::bigint - sum(stock)::bigint FROM items",
            &[],
        )
        .await
        .expect("stock")
        .get::<_, i64>(0);
    assert_eq!(stock as usize, completed.len(), "stock taken = items sold");
    let slots = drill.slots_db.client().await;
    let booked: i64 = slots
        .query_one("SELECT sum(booked)::bigint FROM slots", &[])
        .await
        .expect("booked")
        .get(0);
    assert_eq!(
        booked as usize,
        completed.len(),
        "slot bookings = completed orders"
    );
}
