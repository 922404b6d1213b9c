//! The verdict at a quiet moment, over the whole stack: every order final
//! and none parked, the participants holding exactly what the completed
//! orders took, and money, stock and slot bookings adding up. It holds for
//! a stack of any age, so a drill may run again on the same data.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use tokio_postgres::{Client, NoTls};

/// Where each service's database is.
pub struct Databases {
    pub orders: String,
    pub billing: String,
    pub items: String,
    pub slots: String,
}

impl Databases {
    /// The four databases behind `server` (`postgres://user@host:port`, or
    /// several hosts), each URL ending with `query` (`?target_session_attrs=read-write`).
    pub fn on(server: &str, query: &str) -> Self {
        let url = |db: &str| format!("{server}/{db}{query}");
        Self {
            orders: url("orders"),
            billing: url("billing"),
            items: url("items"),
            slots: url("slots"),
        }
    }
}

/// A connection to `url`, whose driver runs until the client is dropped.
pub async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn ids(db: &Client, sql: &str) -> BTreeSet<i64> {
    db.query(sql, &[])
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .iter()
        .map(|row| row.get(0))
        .collect()
}

async fn number<T: for<'a> tokio_postgres::types::FromSql<'a>>(db: &Client, sql: &str) -> T {
    db.query_one(sql, &[])
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .get(0)
}

/// Panics, saying what does not add up, unless conservation holds.
pub async fn assert_conservation(databases: &Databases) {
    let open = |url: String| async move {
        connect(&url)
            .await
            .unwrap_or_else(|err| panic!("connecting to {url}: {err}"))
    };
    let orders = open(databases.orders.clone()).await;
    let billing = open(databases.billing.clone()).await;
    let items = open(databases.items.clone()).await;
    let slots = open(databases.slots.clone()).await;

    let pending: i64 = number(
        &orders,
        "SELECT count(*) FROM orders WHERE status = 'pending'",
    )
    .await;
    let parked: i64 = number(
        &orders,
        "SELECT count(*) FROM orders WHERE parked_at IS NOT NULL",
    )
    .await;
    assert_eq!(
        (pending, parked),
        (0, 0),
        "(pending, parked) orders at a quiet moment"
    );

    let completed = ids(&orders, "SELECT id FROM orders WHERE status = 'completed'").await;
    let held = "SELECT order_id FROM reservations WHERE state IN ('granted', 'settled')";
    assert_eq!(
        ids(&billing, held).await,
        completed,
        "money is held for exactly the completed orders"
    );
    assert_eq!(
        ids(&items, held).await,
        completed,
        "items are held for exactly the completed orders"
    );
    assert_eq!(
        ids(&slots, held).await,
        completed,
        "slots are held for exactly the completed orders"
    );

    let wallets: Decimal = number(&billing, "SELECT coalesce(sum(wallet), 0) FROM accounts").await;
    let money_held: Decimal = number(
        &billing,
        "SELECT coalesce(sum(amount), 0) FROM reservations WHERE state IN ('granted', 'settled')",
    )
    .await;
    let deposited: Decimal =
        number(&billing, "SELECT coalesce(sum(amount), 0) FROM deposits").await;
    eprintln!("money: wallets {wallets} + held {money_held} = deposited {deposited}");
    assert_eq!(
        wallets + money_held,
        deposited,
        "wallets {wallets} + held {money_held} = deposited {deposited}"
    );
    let stock_taken: i64 = number(
        &items,
        "SELECT coalesce(sum(initial_stock) - sum(stock), 0)::bigint FROM items",
    )
    .await;
    assert_eq!(
        stock_taken as usize,
        completed.len(),
        "stock taken = items sold"
    );
    let booked: i64 = number(&slots, "SELECT coalesce(sum(booked), 0)::bigint FROM slots").await;
    assert_eq!(
        booked as usize,
        completed.len(),
        "slot bookings = completed orders"
    );
}
