//! The store's batched calls against a real PostgreSQL: callers that meet
//! in one batch each get their own answer, and one the database refuses
//! fails alone.

use common::domain::{OrderId, SlotTime};
use common::money::Amount;
use common::testing::TestDatabase;
use orders::placing::{NewOrder, Placed};
use orders::sagas::Finish;
use orders::{Action, Details, ItemId, Order, Status, Step, StepRecord, Store};
use time::OffsetDateTime;

/// A database of its own, connected as the services connect.
async fn store() -> (TestDatabase, Store) {
    let database = TestDatabase::create("orders", orders::migrations).await;
    let store = Store::connect(&database.settings).await.expect("connected");
    (database, store)
}

fn new_order(owner: &str, amount: u32, key: Option<&str>) -> NewOrder {
    NewOrder {
        owner: owner.into(),
        amount: Amount::parse(amount.into()).expect("an amount"),
        details: Details {
            item: ItemId::try_from(1).expect("an item"),
            slot: SlotTime::parse("08:00").expect("a slot"),
        },
        idempotency_key: key.map(Into::into),
        traceparent: None,
        max_unfinished: 1000,
    }
}

fn new(placed: Result<Placed, orders::StoreError>) -> Order {
    match placed.expect("answered") {
        Placed::New(order) => order,
        Placed::Existing(order) => panic!("order {} existed", order.id),
        Placed::TooManyUnfinished => panic!("refused: too many unfinished"),
    }
}

#[tokio::test]
async fn orders_placed_together_each_get_their_own_row() {
    let (_database, store) = store().await;
    let (a, b, c) = tokio::join!(
        store.place(new_order("ann", 1, None)),
        store.place(new_order("bob", 2, Some("k"))),
        store.place(new_order("ann", 3, None)),
    );
    let orders = [new(a), new(b), new(c)];
    let seen: Vec<(&str, String)> = orders
        .iter()
        .map(|o| (o.username.as_str(), o.amount.to_string()))
        .collect();
    assert_eq!(
        seen,
        [
            ("ann", "1.00".into()),
            ("bob", "2.00".into()),
            ("ann", "3.00".into())
        ]
    );
    assert!(orders[0].id < orders[1].id && orders[1].id < orders[2].id);
    assert_eq!(orders[1].idempotency_key.as_deref(), Some("k"));
}

#[tokio::test]
async fn one_key_twice_in_a_batch_makes_one_order_and_both_get_it() {
    let (database, store) = store().await;
    let (first, second) = tokio::join!(
        store.place(new_order("ann", 5, Some("same"))),
        store.place(new_order("ann", 5, Some("same"))),
    );
    let ids: Vec<(bool, OrderId)> = [first, second]
        .into_iter()
        .map(|placed| match placed.expect("answered") {
            Placed::New(order) => (true, order.id),
            Placed::Existing(order) => (false, order.id),
            Placed::TooManyUnfinished => panic!("refused: too many unfinished"),
        })
        .collect();
    assert_eq!(ids.iter().filter(|(new, _)| *new).count(), 1, "{ids:?}");
    assert_eq!(ids[0].1, ids[1].1);
    let rows: i64 = database
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM orders WHERE idempotency_key = 'same'",
            &[],
        )
        .await
        .expect("counted")
        .get(0);
    assert_eq!(rows, 1);
    let again = store.place(new_order("ann", 5, Some("same"))).await;
    assert!(matches!(again, Ok(Placed::Existing(order)) if order.id == ids[0].1));
}

#[tokio::test]
async fn an_order_the_database_refuses_does_not_fail_the_rest_of_its_batch() {
    let (_database, store) = store().await;
    // PostgreSQL text cannot hold a NUL: the statement as a whole fails.
    let (bad, good) = tokio::join!(
        store.place(new_order("nul\0", 1, None)),
        store.place(new_order("ann", 2, None)),
    );
    let bad = bad.expect_err("refused");
    assert!(!bad.is_transient(), "{bad}");
    assert_eq!(new(good).username, "ann");
}

fn step(outcome: &str) -> StepRecord {
    StepRecord {
        step: Step::Money,
        action: Action::Reserve,
        outcome: outcome.into(),
        at: OffsetDateTime::now_utc(),
    }
}

fn finish(id: OrderId, status: Status, outcome: &str) -> Finish {
    Finish {
        id,
        status,
        steps: vec![step(outcome)],
    }
}

/// An id no order of a test has.
fn no_such_order() -> OrderId {
    OrderId::try_from(i64::MAX).expect("a positive id")
}

/// A pending order; `failing` gives it a reason, as `begin_failing` does.
async fn pending(db: &tokio_postgres::Client, failing: bool) -> OrderId {
    let reason = failing.then_some("Not enough money");
    db.query_one(
        "INSERT INTO orders (username, amount, item, slot, reason)
         VALUES ('buyer', 10, 1, '08:00', $1) RETURNING id",
        &[&reason],
    )
    .await
    .expect("inserting an order")
    .get(0)
}

async fn state(db: &tokio_postgres::Client, id: OrderId) -> (String, Vec<String>) {
    let row = db
        .query_one(
            "SELECT status, ARRAY(SELECT step ->> 'outcome' FROM jsonb_array_elements(history) step)
             FROM orders WHERE id = $1",
            &[&id],
        )
        .await
        .expect("the order");
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn one_batch_moves_only_what_its_rules_allow_and_writes_only_their_history() {
    let (database, store) = store().await;
    let db = database.client().await;
    let (to_complete, to_fail, failing) = (
        pending(&db, false).await,
        pending(&db, true).await,
        pending(&db, true).await,
    );
    // Called together, so the four share one batch.
    let answers = tokio::join!(
        store.finish(finish(to_complete, Status::Completed, "granted")),
        store.finish(finish(to_fail, Status::Failed, "refused")),
        store.finish(finish(failing, Status::Completed, "granted")),
        store.finish(finish(no_such_order(), Status::Completed, "granted")),
    );
    let answers = [answers.0, answers.1, answers.2, answers.3].map(|a| a.expect("answered"));
    assert_eq!(answers, [true, true, false, false]);
    assert_eq!(
        state(&db, to_complete).await,
        ("completed".into(), vec!["granted".into()])
    );
    assert_eq!(
        state(&db, to_fail).await,
        ("failed".into(), vec!["refused".into()])
    );
    assert_eq!(state(&db, failing).await, ("pending".into(), vec![]));
}

#[tokio::test]
async fn two_runs_ending_one_order_at_once_move_it_once() {
    let (database, store) = store().await;
    let db = database.client().await;
    let id = pending(&db, false).await;
    let (first, second) = tokio::join!(
        store.finish(finish(id, Status::Completed, "first")),
        store.finish(finish(id, Status::Completed, "second")),
    );
    assert_eq!(
        (first.expect("answered"), second.expect("answered")),
        (true, false)
    );
    assert_eq!(
        state(&db, id).await,
        ("completed".into(), vec!["first".into()])
    );
}

#[tokio::test]
async fn a_finish_the_database_refuses_does_not_fail_the_rest_of_its_batch() {
    let (database, store) = store().await;
    let db = database.client().await;
    let (good, bad) = (pending(&db, false).await, pending(&db, false).await);
    // PostgreSQL cannot keep a NUL in jsonb: the statement as a whole fails.
    let (good_answer, bad_answer) = tokio::join!(
        store.finish(finish(good, Status::Completed, "granted")),
        store.finish(finish(bad, Status::Completed, "gran\0ted")),
    );
    assert!(good_answer.expect("answered"));
    let refused = bad_answer.expect_err("refused");
    assert!(!refused.is_transient(), "{refused}");
    assert_eq!(
        state(&db, good).await,
        ("completed".into(), vec!["granted".into()])
    );
    assert_eq!(state(&db, bad).await, ("pending".into(), vec![]));
}

#[tokio::test]
async fn loads_called_together_each_get_their_own_order() {
    let (database, store) = store().await;
    let db = database.client().await;
    let (a, b) = (pending(&db, false).await, pending(&db, true).await);
    let (first, second, again, missing) = tokio::join!(
        store.load(a),
        store.load(b),
        store.load(a),
        store.load(no_such_order())
    );
    let id = |answer: Result<Option<Order>, _>| answer.expect("answered").map(|o| o.id);
    assert_eq!(
        [id(first), id(second), id(again), id(missing)],
        [Some(a), Some(b), Some(a), None]
    );
}
