//! Every database connection cut under load, as a PostgreSQL restart
//! does to its clients.

use std::time::Duration;

use tokio::time::Instant;

use super::{all_final, parked, start, Running};
use crate::{assert_conservation, begin};

/// Places `rounds` orders per user, each with an `Idempotency-Key` and
/// sent again with it while the answer is not a 201 (a 503 while the
/// database is away, a lost connection); the accepted ids, and every
/// status seen.
async fn place_retrying(running: &Running, rounds: usize) -> (Vec<i64>, Vec<u16>) {
    let (mut ids, mut seen) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for (name, token) in &running.users {
            let key = format!("{name}-{round}");
            let auth = format!("Bearer {token}");
            let headers = [
                ("authorization", auth.as_str()),
                ("idempotency-key", key.as_str()),
            ];
            let body = serde_json::json!({"amount": 2, "details": {"item": 1 + round % 5, "slot": "12:00"}});
            let give_up = Instant::now() + Duration::from_secs(30);
            loop {
                let answer = running
                    .client
                    .json(
                        hyper::Method::POST,
                        &format!("{}/api/orders/", running.orders_url),
                        &headers,
                        &body,
                    )
                    .await;
                seen.push(answer.status.as_u16());
                if answer.status == 201 {
                    ids.push(answer.body["id"].as_i64().expect("an id"));
                    break;
                }
                assert!(
                    Instant::now() < give_up,
                    "{key}: still {} after 30 s",
                    answer.text
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (ids, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_database_connection_cut_under_load_loses_and_doubles_nothing() {
    let (_alone, drill) = begin().await;
    let running = start(&drill, 10).await;
    let mediator = running.mediator(&drill, "mediator", &[]).await;

    // What a PostgreSQL restart does to its clients: every connection of
    // the drill's four databases is terminated, three times, while orders
    // arrive.
    let databases = {
        let mut names = Vec::new();
        for db in [
            &drill.orders_db,
            &drill.billing_db,
            &drill.items_db,
            &drill.slots_db,
        ] {
            let row = db
                .client()
                .await
                .query_one("SELECT current_database()", &[])
                .await;
            names.push(row.expect("its name").get::<_, String>(0));
        }
        names
    };
    let cutting = {
        let admin = drill.orders_db.client().await;
        tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(600)).await;
                let cut = admin
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                         WHERE datname = ANY($1) AND pid <> pg_backend_pid()",
                        &[&databases],
                    )
                    .await
                    .expect("terminating the connections");
                eprintln!("cut {} database connections", cut.len());
            }
        })
    };
    let (accepted, seen) = place_retrying(&running, 6).await;
    cutting.await.expect("the cuts");

    all_final(&drill, Duration::from_secs(60), &[&mediator]).await;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for status in &seen {
        *statuses.entry(*status).or_default() += 1;
    }
    eprintln!(
        "connections cut: {} orders, answers {statuses:?}",
        accepted.len()
    );
    assert!(!statuses.contains_key(&500), "no 500: {statuses:?}");
    assert_eq!(parked(&drill).await, 0, "nothing parked");
    assert_conservation(&drill, &running.users, &accepted).await;
}
