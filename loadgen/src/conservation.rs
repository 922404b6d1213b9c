//! The conservation check (SPEC 4.5), over everything the databases hold:
//! wallets + money held by completed orders = money ever deposited; items
//! taken and slots booked = the completed orders; no order left pending.
//! A parked saga (waiting for an operator) may still hold what it
//! reserved: its holds are counted with the completed orders' and it is
//! reported, not taken as pending.
//!
//! The one check of the project: loadgen's runs, the crash drill, the
//! high-availability drill and the benchmark end with it.

use std::collections::BTreeSet;

use anyhow::Context;

use rust_decimal::Decimal;
use serde::Serialize;

use tokio_postgres::Client;

/// Where each service's database is.
pub struct Databases {
    pub orders: String,
    pub billing: String,
    pub items: String,
    pub slots: String,
}

impl Databases {
    /// The four databases behind `server` (`postgres://user@host:port`, or
    /// several hosts), each URL ending with `query` (empty, or
    /// `?target_session_attrs=read-write`).
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
pub async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    tokio::spawn(connection);
    Ok(client)
}

#[derive(Debug, Serialize)]
pub struct Verdict {
    pub orders_completed: usize,
    pub orders_pending: i64,
    pub orders_parked: usize,
    pub wallets: String,
    pub money_held: String,
    pub deposited: String,
    pub items_taken: i64,
    pub slots_booked: i64,
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn holds(&self) -> bool {
        self.problems.is_empty()
    }
}

async fn ids(db: &Client, sql: &str) -> anyhow::Result<BTreeSet<i64>> {
    Ok(db.query(sql, &[]).await?.iter().map(|r| r.get(0)).collect())
}

pub async fn check(databases: &Databases) -> anyhow::Result<Verdict> {
    let orders = connect(&databases.orders).await?;
    let billing = connect(&databases.billing).await?;
    let items = connect(&databases.items).await?;
    let slots = connect(&databases.slots).await?;
    const GRANTED: &str = "SELECT order_id FROM reservations WHERE state IN ('granted', 'settled')";

    let completed = ids(&orders, "SELECT id FROM orders WHERE status = 'completed'").await?;
    // A parked saga waits for an operator: it may hold what it reserved.
    let parked = ids(&orders, "SELECT id FROM orders WHERE parked_at IS NOT NULL").await?;
    let pending: i64 = orders
        .query_one(
            "SELECT count(*) FROM orders WHERE status = 'pending' AND parked_at IS NULL",
            &[],
        )
        .await?
        .get(0);
    let money = billing
        .query_one(
            "SELECT (SELECT coalesce(sum(wallet), 0) FROM accounts),
                    (SELECT coalesce(sum(amount), 0) FROM reservations WHERE state IN ('granted', 'settled')),
                    (SELECT coalesce(sum(amount), 0) FROM deposits)",
            &[],
        )
        .await?;
    let (wallets, held, deposited): (Decimal, Decimal, Decimal) =
        (money.get(0), money.get(1), money.get(2));
    let items_taken: i64 = items
        .query_one(
            "SELECT coalesce(sum(initial_stock - stock), 0)::bigint FROM items",
            &[],
        )
        .await?
        .get(0);
    let slots_booked: i64 = slots
        .query_one("SELECT coalesce(sum(booked), 0)::bigint FROM slots", &[])
        .await?
        .get(0);

    let mut problems = Vec::new();
    if pending != 0 {
        problems.push(format!("{pending} orders still pending"));
    }
    if wallets + held != deposited {
        problems.push(format!(
            "wallets {wallets} + held {held} != deposited {deposited}"
        ));
    }
    let mut granted_count = Vec::new();
    for (what, db) in [("money", &billing), ("items", &items), ("slots", &slots)] {
        let granted = ids(db, GRANTED).await?;
        let missing = completed.difference(&granted).take(5).collect::<Vec<_>>();
        let stray = granted
            .difference(&completed)
            .filter(|id| !parked.contains(id))
            .take(5)
            .collect::<Vec<_>>();
        if !missing.is_empty() || !stray.is_empty() {
            problems.push(format!(
                "{what} held for other orders than the completed and parked ones: \
                 not held for {missing:?}, held for {stray:?}"
            ));
        }
        granted_count.push(granted.len() as i64);
    }
    if items_taken != granted_count[1] {
        problems.push(format!(
            "{items_taken} items taken for {} item reservations held",
            granted_count[1]
        ));
    }
    if slots_booked != granted_count[2] {
        problems.push(format!(
            "{slots_booked} slots booked for {} slot reservations held",
            granted_count[2]
        ));
    }
    Ok(Verdict {
        orders_completed: completed.len(),
        orders_pending: pending,
        orders_parked: parked.len(),
        wallets: wallets.to_string(),
        money_held: held.to_string(),
        deposited: deposited.to_string(),
        items_taken,
        slots_booked,
        problems,
    })
}
