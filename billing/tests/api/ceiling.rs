//! The wallet ceiling counts the money held for unfinished orders, and
//! holds while deposits race reservations.

use std::time::Duration;

use common::testing::unique_name;
use rust_decimal::Decimal;
use serde_json::json;

use crate::helpers::{assert_error, TestApp};

/// The wallet plus the money held for `username`'s unfinished orders.
async fn wallet_and_held(app: &TestApp, username: &str) -> Decimal {
    let db = app.db.client().await;
    db.query_one(
        "SELECT a.wallet + coalesce((SELECT sum(amount) FROM reservations r
                                      WHERE r.username = a.username AND r.state = 'granted'), 0)
         FROM accounts a WHERE a.username = $1",
        &[&username],
    )
    .await
    .expect("wallet and held")
    .get(0)
}

#[tokio::test]
async fn a_deposit_that_waited_for_a_reservation_counts_the_money_it_holds() {
    let app = TestApp::spawn_with_ceiling(Decimal::from(200)).await;
    let name = unique_name("ceiling");
    let token = app.user(&name).await;

    // A reservation of 50 that has taken the account's row and not yet
    // committed: billing's own reserve statement, in an open transaction.
    let mut reserving = app.db.client().await;
    let reservation = reserving.transaction().await.expect("begin");
    reservation
        .execute(
            "WITH taken AS (UPDATE accounts SET wallet = wallet - 50
                            WHERE username = $1 AND wallet >= 50 RETURNING 1)
             INSERT INTO reservations (order_id, state, username, amount)
             SELECT 424242, 'granted', $1, 50 FROM taken",
            &[&name],
        )
        .await
        .expect("reserving 50");

    // 100 + 101 passes the ceiling of 200 whether the 50 is in the wallet
    // or held; read from a snapshot taken before the reservation committed,
    // it would look like 50 + 101.
    let deposit = {
        let (app, name, token) = (&app, name.clone(), token.clone());
        async move { app.deposit(&name, &token, json!(101)).await }
    };
    let waiting_for_the_row = async {
        let db = app.db.client().await;
        for _ in 0..200 {
            let waiting: i64 = db
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND wait_event_type = 'Lock'
                       AND query LIKE '%FOR UPDATE%'",
                    &[],
                )
                .await
                .expect("pg_stat_activity")
                .get(0);
            if waiting > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        reservation
            .commit()
            .await
            .expect("committing the reservation");
    };
    let (answer, ()) = tokio::join!(deposit, waiting_for_the_row);

    assert_error(&answer, 409);
    assert_eq!(answer.body["field"], json!("amount"));
    assert_eq!(wallet_and_held(&app, &name).await, Decimal::from(100));
    assert_eq!(app.wallet(&name).await, json!(50));
}

#[tokio::test]
async fn parallel_deposits_and_reservations_never_pass_the_ceiling() {
    let app = TestApp::spawn_with_ceiling(Decimal::from(300)).await;
    let name = unique_name("racing");
    let token = app.user(&name).await;
    let reservations = app.reservations();

    let reserves = futures::future::join_all((0..40).map(|n| {
        let body = json!({"username": name, "amount": 2});
        let reservations = &reservations;
        async move { reservations.reserve(900_000 + n, &body).await.status }
    }));
    let deposits = futures::future::join_all((0..40).map(|_| app.deposit(&name, &token, json!(7))));
    let (reserved, deposited) = tokio::join!(reserves, deposits);

    assert!(reserved.iter().all(|status| status.is_success()));
    let credited = deposited.iter().filter(|d| d.status == 200).count();
    for refused in deposited.iter().filter(|d| d.status != 200) {
        assert_error(refused, 409);
    }
    let total = wallet_and_held(&app, &name).await;
    assert!(total <= Decimal::from(300), "wallet and held {total}");
    assert_eq!(total, Decimal::from(100 + 7 * credited as i64));
}
