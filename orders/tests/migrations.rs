//! The orders schema's migrations keep what earlier versions stored.

use common::domain::OrderId;
use common::testing::TestDatabase;
use orders::Store;

/// The schema as its first version left it.
fn first_version() -> refinery::Runner {
    let first: Vec<_> = orders::migrations()
        .get_migrations()
        .iter()
        .filter(|migration| migration.version() == 1)
        .cloned()
        .collect();
    refinery::Runner::new(&first)
}

#[tokio::test]
async fn histories_kept_in_saga_steps_move_onto_their_orders_in_order() {
    let database = TestDatabase::create("orders_v1", first_version).await;
    let db = database.client().await;
    let with_steps: OrderId = db
        .query_one(
            "INSERT INTO orders (username, amount, item, slot, status, reason)
             VALUES ('buyer', 10, 1, '08:00', 'failed', 'Can not reserve the item') RETURNING id",
            &[],
        )
        .await
        .expect("an order with a history")
        .get(0);
    let without: OrderId = db
        .query_one(
            "INSERT INTO orders (username, amount, item, slot) VALUES ('buyer', 5, 2, '09:00') RETURNING id",
            &[],
        )
        .await
        .expect("a pending order")
        .get(0);
    db.batch_execute(&format!(
        "INSERT INTO saga_steps (order_id, step, action, outcome, at) VALUES
             ({with_steps}, 'money', 'reserve', 'granted', '2026-01-02 03:04:05.678+00'),
             ({with_steps}, 'item', 'reserve', 'refused', '2026-01-02 03:04:06+00'),
             ({with_steps}, 'money', 'cancel', 'released', '2026-01-02 03:04:07+00')"
    ))
    .await
    .expect("its history, the first version's way");

    // As a service does at start: migrating to the latest version.
    let store = Store::connect(&database.settings)
        .await
        .expect("connected and migrated");

    let moved = store
        .find_owned("buyer", with_steps)
        .await
        .expect("read")
        .expect("the order");
    let steps: Vec<_> = moved
        .history
        .iter()
        .map(|s| (s.step.as_str(), s.action.as_str(), s.outcome.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("money", "reserve", "granted"),
            ("item", "reserve", "refused"),
            ("money", "cancel", "released")
        ]
    );
    let first_at = moved.history[0].at;
    assert_eq!(
        (first_at.unix_timestamp(), first_at.millisecond()),
        (1_767_323_045, 678)
    );
    let pending = store
        .find_owned("buyer", without)
        .await
        .expect("read")
        .expect("the order");
    assert!(pending.history.is_empty());
}
