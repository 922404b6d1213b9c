//! The sagas' calls to the orders database. Loads and finishes go through
//! batchers: under load, the sagas that start (or end) at one moment share
//! one statement and, for finishes, one commit, which is most of what a
//! saga costs the orders database. With no load a batch is one saga and
//! waits for nothing. The rare `begin_failing` goes straight to the pool.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use deadpool_postgres::{Pool, PoolError};
use futures::FutureExt;
use orders::batch::{together_or_alone, Batcher, Gone, Miscounted};
use orders::sagas::{self, Failing, Finish};
use orders::{Order, StepRecord, StoreError};

/// The most sagas one statement serves: the mediator's default concurrency.
const MAX_BATCH: usize = 64;

/// Batches that may run at once: one. A saga can wait for the statement
/// before its own, and under load fewer, larger batches commit less (4.1
/// commits per saga against 4.9 with four at once, closed loop).
const BATCHES_AT_ONCE: usize = 1;

/// What made a call fail. A batch's error is every caller's, so it is
/// shared rather than copied.
type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// Why a call to the orders database did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    /// Unreachable, or a statement lost to a concurrent one: worth retrying.
    #[error("orders database unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// An answer that a retry would repeat.
    #[error("{0}")]
    Failed(#[source] Cause),
}

impl From<StoreError> for DbError {
    fn from(err: StoreError) -> Self {
        if err.is_transient() {
            DbError::Unavailable(Arc::new(err))
        } else {
            DbError::Failed(Arc::new(err))
        }
    }
}

impl From<PoolError> for DbError {
    fn from(err: PoolError) -> Self {
        DbError::Unavailable(Arc::new(err))
    }
}

impl From<Gone> for DbError {
    fn from(err: Gone) -> Self {
        DbError::Failed(Arc::new(err))
    }
}

impl From<Miscounted> for DbError {
    fn from(err: Miscounted) -> Self {
        DbError::Failed(Arc::new(err))
    }
}

type DbResult<T> = Result<T, DbError>;

/// The orders database as the sagas use it.
#[derive(Clone)]
pub struct OrdersDb {
    pool: Pool,
    loads: Batcher<i64, DbResult<Option<Order>>>,
    finishes: Batcher<Finish, DbResult<bool>>,
}

impl OrdersDb {
    /// Starts the batching tasks (so: inside the runtime).
    pub fn new(pool: Pool) -> Self {
        let loads = {
            let pool = pool.clone();
            Batcher::start(MAX_BATCH, BATCHES_AT_ONCE, move |ids| {
                load_batch(pool.clone(), ids)
            })
        };
        let finishes = {
            let pool = pool.clone();
            Batcher::start(MAX_BATCH, BATCHES_AT_ONCE, move |batch| {
                finish_batch(pool.clone(), batch)
            })
        };
        Self {
            pool,
            loads,
            finishes,
        }
    }

    /// Order `id`, or `None` if there is no such order.
    pub async fn load(&self, id: i64) -> DbResult<Option<Order>> {
        self.loads.call(id).await?
    }

    /// Ends a pending order (see `sagas::finish_all`); `false` if it was
    /// not moved: final already, or begun failing when this completes it.
    pub async fn finish(&self, finish: Finish) -> DbResult<bool> {
        self.finishes.call(finish).await?
    }

    /// See `sagas::park`.
    pub async fn park(&self, id: i64, reason: &str, steps: &[StepRecord]) -> DbResult<bool> {
        let conn = self.pool.get().await?;
        Ok(sagas::park(&conn, id, reason, steps).await?)
    }

    /// See `sagas::begin_failing`.
    pub async fn begin_failing(&self, id: i64, reason: &str) -> DbResult<Failing> {
        let conn = self.pool.get().await?;
        Ok(sagas::begin_failing(&conn, id, reason).await?)
    }
}

async fn load_batch(pool: Pool, ids: Vec<i64>) -> Vec<DbResult<Option<Order>>> {
    let found: DbResult<Vec<Order>> = async {
        let conn = pool.get().await?;
        Ok(sagas::load_all(&conn, &ids).await?)
    }
    .await;
    match found {
        Ok(orders) => {
            let by_id: HashMap<i64, Order> = orders.into_iter().map(|o| (o.id, o)).collect();
            ids.iter().map(|id| Ok(by_id.get(id).cloned())).collect()
        }
        Err(err) => vec![Err(err); ids.len()],
    }
}

/// Finishes a batch in rounds of distinct ids (two runs of one order may
/// end at once; `finish_all` needs distinct ids), answering in batch order.
async fn finish_batch(pool: Pool, batch: Vec<Finish>) -> Vec<DbResult<bool>> {
    let mut answered = Vec::with_capacity(batch.len());
    let mut left: Vec<(usize, Finish)> = batch.into_iter().enumerate().collect();
    while !left.is_empty() {
        let mut seen = HashSet::new();
        let (round, later): (Vec<_>, Vec<_>) =
            left.into_iter().partition(|(_, f)| seen.insert(f.id));
        let (positions, round): (Vec<usize>, Vec<Finish>) = round.into_iter().unzip();
        answered.extend(positions.into_iter().zip(finish_round(&pool, &round).await));
        left = later;
    }
    answered.sort_by_key(|(position, _)| *position);
    answered.into_iter().map(|(_, answer)| answer).collect()
}

async fn finish_round(pool: &Pool, round: &[Finish]) -> Vec<DbResult<bool>> {
    // An order the database refuses must not fail the others with it.
    let refused = |err: &DbError| matches!(err, DbError::Failed(_));
    match together_or_alone(pool, round, refused, |pool, finishes| {
        finish_together(pool, finishes).boxed()
    })
    .await
    {
        Ok(answers) => answers,
        Err(err) => vec![Err(err); round.len()],
    }
}

/// Finishes `finishes` in one statement: whether each moved.
async fn finish_together(pool: &Pool, finishes: &[Finish]) -> DbResult<Vec<bool>> {
    let conn = pool.get().await?;
    let moved: HashSet<i64> = sagas::finish_all(&conn, finishes)
        .await?
        .into_iter()
        .collect();
    Ok(finishes.iter().map(|f| moved.contains(&f.id)).collect())
}

#[cfg(test)]
mod tests {
    use common::testing::TestDatabase;
    use orders::{Status, StepRecord};
    use time::OffsetDateTime;

    use super::*;

    fn step(outcome: &str) -> StepRecord {
        StepRecord {
            step: "money".into(),
            action: "reserve".into(),
            outcome: outcome.into(),
            at: OffsetDateTime::now_utc(),
        }
    }

    fn finish(id: i64, status: Status, outcome: &str) -> Finish {
        Finish {
            id,
            status,
            steps: vec![step(outcome)],
        }
    }

    /// A pending order; `failing` gives it a reason, as `begin_failing` does.
    async fn pending(db: &tokio_postgres::Client, failing: bool) -> i64 {
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

    async fn state(db: &tokio_postgres::Client, id: i64) -> (String, Vec<String>) {
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

    /// A database of its own, connected as the mediator connects.
    async fn orders_db() -> (TestDatabase, OrdersDb) {
        let database = TestDatabase::create("orders", orders::migrations).await;
        let pool = orders::connect(&database.settings)
            .await
            .expect("connected");
        (database, OrdersDb::new(pool))
    }

    #[tokio::test]
    async fn its_connections_use_one_plan_for_every_batch() {
        let (_database, orders) = orders_db().await;
        let conn = orders.pool.get().await.expect("a connection");
        let row = conn
            .query_one("SHOW plan_cache_mode", &[])
            .await
            .expect("shown");
        assert_eq!(row.get::<_, String>(0), "force_generic_plan");
    }

    #[tokio::test]
    async fn one_batch_moves_only_what_its_rules_allow_and_writes_only_their_history() {
        let (database, orders) = orders_db().await;
        let db = database.client().await;
        let (to_complete, to_fail, failing) = (
            pending(&db, false).await,
            pending(&db, true).await,
            pending(&db, true).await,
        );
        // Called together, so the four share one batch.
        let answers = tokio::join!(
            orders.finish(finish(to_complete, Status::Completed, "granted")),
            orders.finish(finish(to_fail, Status::Failed, "refused")),
            orders.finish(finish(failing, Status::Completed, "granted")),
            orders.finish(finish(i64::MAX, Status::Completed, "granted")),
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
        let (database, orders) = orders_db().await;
        let db = database.client().await;
        let id = pending(&db, false).await;
        let (first, second) = tokio::join!(
            orders.finish(finish(id, Status::Completed, "first")),
            orders.finish(finish(id, Status::Completed, "second")),
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
    async fn an_order_the_database_refuses_does_not_fail_the_rest_of_its_batch() {
        let (database, orders) = orders_db().await;
        let db = database.client().await;
        let (good, bad) = (pending(&db, false).await, pending(&db, false).await);
        // PostgreSQL cannot keep a NUL in jsonb: the statement as a whole fails.
        let (good_answer, bad_answer) = tokio::join!(
            orders.finish(finish(good, Status::Completed, "granted")),
            orders.finish(finish(bad, Status::Completed, "gran\0ted")),
        );
        assert!(good_answer.expect("answered"));
        assert!(
            matches!(bad_answer, Err(DbError::Failed(_))),
            "{bad_answer:?}"
        );
        assert_eq!(
            state(&db, good).await,
            ("completed".into(), vec!["granted".into()])
        );
        assert_eq!(state(&db, bad).await, ("pending".into(), vec![]));
    }

    #[tokio::test]
    async fn loads_called_together_each_get_their_own_order() {
        let (database, orders) = orders_db().await;
        let db = database.client().await;
        let (a, b) = (pending(&db, false).await, pending(&db, true).await);
        let (first, second, again, missing) = tokio::join!(
            orders.load(a),
            orders.load(b),
            orders.load(a),
            orders.load(i64::MAX)
        );
        let id = |answer: DbResult<Option<Order>>| answer.expect("answered").map(|o| o.id);
        assert_eq!(
            [id(first), id(second), id(again), id(missing)],
            [Some(a), Some(b), Some(a), None]
        );
    }
}
