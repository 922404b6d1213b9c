//! What is slots' own beside the ledger's contract (contract.rs): the
//! hours it opens, and which slots there are.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn slots_from_eight_to_eighteen_open_on_the_hour_at_first_start() {
    let app = TestApp::spawn(3).await;

    let db = app.db.client().await;
    let rows = db
        .query(
            "SELECT slot, capacity, booked FROM slots ORDER BY slot",
            &[],
        )
        .await
        .expect("slots");

    let slots: Vec<(String, i32, i32)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let expected: Vec<(String, i32, i32)> =
        (8..=18).map(|h| (format!("{h:02}:00"), 3, 0)).collect();
    assert_eq!(slots, expected);
}

#[tokio::test]
async fn a_slot_that_is_not_open_or_is_full_is_refused() {
    let app = TestApp::spawn(1).await;
    let ledger = &app.reservations;

    assert_eq!(
        ledger.reserve_outcome(1, &json!({"slot": "19:00"})).await,
        "refused"
    );
    assert_eq!(
        ledger.reserve_outcome(2, &json!({"slot": "08:30"})).await,
        "refused"
    );
    assert_eq!(
        ledger.reserve_outcome(3, &json!({"slot": "18:00"})).await,
        "granted"
    );
    assert_eq!(
        ledger.reserve_outcome(4, &json!({"slot": "18:00"})).await,
        "refused"
    );
    assert_eq!(app.booked("18:00").await, 1);
}

#[tokio::test]
async fn a_malformed_slot_is_400_naming_the_field() {
    let app = TestApp::spawn(3).await;
    let ledger = &app.reservations;

    for slot in [json!("8:00"), json!("25:00"), json!("noon"), json!(800)] {
        let response = ledger.reserve(1, &json!({ "slot": slot })).await;
        assert_eq!(response.status, 400, "{slot}: {}", response.text);
        assert_eq!(response.body["field"], json!("slot"));
    }
}
