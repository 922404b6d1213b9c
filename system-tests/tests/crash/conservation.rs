//! The verdict every drill ends with: the whole-stack check
//! (`system_tests::conservation`), and what a drill knows beyond it: one
//! order row per accepted request, and 100 deposited per user.

use rust_decimal::Decimal;
use system_tests::conservation::{self, Databases};

use crate::Drill;

pub async fn assert_conservation(drill: &Drill, users: &[(String, String)], accepted: &[i64]) {
    let url = |db: &common::testing::TestDatabase| db.settings.url.expose().to_owned();
    conservation::assert_conservation(&Databases {
        orders: url(&drill.orders_db),
        billing: url(&drill.billing_db),
        items: url(&drill.items_db),
        slots: url(&drill.slots_db),
    })
    .await;

    let orders = drill.orders_db.client().await;
    let rows = orders
        .query("SELECT status, reason FROM orders", &[])
        .await
        .expect("orders");
    assert_eq!(rows.len(), accepted.len(), "one order per accepted request");
    let mut by_reason = std::collections::BTreeMap::<String, usize>::new();
    for row in &rows {
        let status: String = row.get(0);
        let reason: Option<String> = row.get(1);
        *by_reason
            .entry(format!("{status}: {}", reason.unwrap_or_default()))
            .or_default() += 1;
    }
    eprintln!("outcomes: {by_reason:?}");

    let billing = drill.billing_db.client().await;
    let deposited: Decimal = billing
        .query_one("SELECT coalesce(sum(amount), 0) FROM deposits", &[])
        .await
        .expect("deposits")
        .get(0);
    assert_eq!(deposited, Decimal::from(100 * users.len() as i64));
}
