//! What the mediator asks of the orders database: loading the orders its
//! sagas drive, finding the ones nobody drives, and ending each run. The
//! order row arbitrates between runs of one saga: see `begin_failing` and
//! `finish_all`. Loads and finishes are batched (see `store`); the rare
//! `begin_failing` and `park` are not.

use std::collections::{HashMap, HashSet};

use common::domain::OrderId;
use deadpool_postgres::{GenericClient, Pool};
use futures::FutureExt;
use tokio_postgres::types::ToSql;

use crate::batch::together_or_alone;
use crate::order::columns;
use crate::store::Answer;
use crate::{Order, Status, StepRecord, Store, StoreError};

impl Store {
    /// Order `id`, or `None` if there is no such order.
    pub async fn load(&self, id: OrderId) -> Answer<Option<Order>> {
        self.loads.call(id).await?
    }

    /// Ends a pending order (see `finish_all`); `false` if it was not
    /// moved: final already, or begun failing when this completes it.
    pub async fn finish(&self, finish: Finish) -> Answer<bool> {
        self.finishes.call(finish).await?
    }

    /// Marks a pending order as failing with `reason` before any
    /// compensation, so that no concurrent run can complete it. An order
    /// already failing keeps its first reason.
    pub async fn begin_failing(&self, id: OrderId, reason: &str) -> Answer<Failing> {
        let db = self.db().await?;
        let row = db
            .query_one(&db.prepare_cached(BEGIN_FAILING).await?, &[&id, &reason])
            .await?;
        let (marked, status, existing): (Option<String>, String, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        Ok(match (marked, status.as_str(), existing) {
            (Some(reason), _, _) => Failing::Compensate(reason),
            (None, "completed", _) => Failing::AlreadyCompleted,
            (None, _, Some(existing)) => Failing::Compensate(existing),
            (None, _, None) => Failing::Compensate(reason.to_owned()),
        })
    }

    /// Parks the unfinished order `id`: the saga stops, with `reason` and
    /// the steps this run took added to its history, until an operator
    /// retries it. `false` if the order was final (there is nothing to park).
    pub async fn park(&self, id: OrderId, reason: &str, steps: &[StepRecord]) -> Answer<bool> {
        let history = serde_json::to_string(steps).map_err(StoreError::history)?;
        let db = self.db().await?;
        let parked = db
            .execute(&db.prepare_cached(PARK).await?, &[&id, &reason, &history])
            .await?;
        Ok(parked == 1)
    }

    /// Pending orders older than `age_ms` that are not parked, oldest
    /// first: candidates for the sweeper, which re-queues those nobody
    /// holds. This is the one statement that says `status = 'pending'`,
    /// the predicate of the `orders_pending` index. The statements that
    /// change one order say "not final" instead: PostgreSQL, which last
    /// counted almost no pending orders, would otherwise scan every pending
    /// order through that index rather than look the order up by id, and
    /// under load thousands are pending.
    pub async fn pending_older_than(&self, age_ms: i64, limit: i64) -> Answer<Vec<OrderId>> {
        let db = self.db().await?;
        let statement = db.prepare_cached(PENDING_OLDER_THAN).await?;
        let rows = db.query(&statement, &[&age_ms, &limit]).await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// The shared backlog every worker reports as metrics.
    pub async fn backlog(&self) -> Answer<Backlog> {
        let db = self.db().await?;
        let row = db
            .query_one(&db.prepare_cached(BACKLOG).await?, &[])
            .await?;
        Ok(Backlog {
            parked: row.try_get(0)?,
            oldest_pending_seconds: row.try_get(1)?,
        })
    }
}

/// Loads a batch of orders in one statement, answering each id.
pub(crate) async fn load_batch(pool: Pool, ids: Vec<OrderId>) -> Vec<Answer<Option<Order>>> {
    let found = async { load_all(&pool.get().await?, &ids).await };
    match found.await {
        Ok(orders) => {
            let by_id: HashMap<OrderId, Order> = orders.into_iter().map(|o| (o.id, o)).collect();
            ids.iter().map(|id| Ok(by_id.get(id).cloned())).collect()
        }
        Err(err) => vec![Err(err); ids.len()],
    }
}

/// Finishes a batch in rounds of distinct ids (two runs of one order may
/// end at once; `finish_all` needs distinct ids), answering in batch order.
pub(crate) async fn finish_batch(pool: Pool, batch: Vec<Finish>) -> Vec<Answer<bool>> {
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

async fn finish_round(pool: &Pool, round: &[Finish]) -> Vec<Answer<bool>> {
    // An order the database refuses must not fail the others with it.
    let refused = |err: &StoreError| !err.is_transient();
    let answers = together_or_alone(pool, round, refused, |pool, finishes| {
        finish_together(pool, finishes).boxed()
    });
    answers
        .await
        .unwrap_or_else(|err| vec![Err(err); round.len()])
}

/// Finishes `finishes` in one statement: whether each moved.
async fn finish_together(pool: &Pool, finishes: &[Finish]) -> Answer<Vec<bool>> {
    let moved: HashSet<OrderId> = finish_all(&pool.get().await?, finishes)
        .await?
        .into_iter()
        .collect();
    Ok(finishes.iter().map(|f| moved.contains(&f.id)).collect())
}

/// The orders among `ids` that exist, whoever owns them.
async fn load_all(db: &impl GenericClient, ids: &[OrderId]) -> Answer<Vec<Order>> {
    let sql = concat!("SELECT ", columns!(), " FROM orders WHERE id = ANY($1)");
    let rows = db.query(&db.prepare_cached(sql).await?, &[&ids]).await?;
    Order::from_rows(&rows)
}

const PENDING_OLDER_THAN: &str = "SELECT id FROM orders
    WHERE status = 'pending' AND parked_at IS NULL AND created_at < now() - make_interval(secs => $1::bigint / 1000.0)
    ORDER BY created_at LIMIT $2";

/// The shared backlog every worker reports as metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backlog {
    pub parked: i64,
    /// Age of the oldest pending order no one parked; 0 when there is none.
    pub oldest_pending_seconds: f64,
}

/// Each half through its own partial index (`orders_parked`, `orders_pending`).
const BACKLOG: &str = "SELECT
    (SELECT count(*) FROM orders WHERE parked_at IS NOT NULL),
    (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
     FROM orders WHERE status = 'pending' AND parked_at IS NULL)";

/// What a failing saga found when it asked to compensate.
#[derive(Debug, PartialEq, Eq)]
pub enum Failing {
    /// The order is now (or already was) failing with this reason:
    /// compensate, then `finish` it.
    Compensate(String),
    /// It completed in a run that won the race: compensate nothing.
    AlreadyCompleted,
}

const BEGIN_FAILING: &str = "WITH marked AS (
        UPDATE orders SET reason = $2, updated_at = now()
        WHERE id = $1 AND status NOT IN ('completed', 'failed') AND reason IS NULL
        RETURNING reason
    )
    SELECT (SELECT reason FROM marked), status, reason FROM orders WHERE id = $1";

const PARK: &str = "UPDATE orders
    SET parked_reason = $2, parked_at = now(), history = history || $3::text::jsonb, updated_at = now()
    WHERE id = $1 AND status NOT IN ('completed', 'failed')";

/// How one saga run ends an order: its final status and the steps it took.
#[derive(Debug, Clone)]
pub struct Finish {
    pub id: OrderId,
    pub status: Status,
    pub steps: Vec<StepRecord>,
}

const FINISH_ALL: &str = "UPDATE orders
    SET status = wanted.status, history = orders.history || wanted.history::jsonb, updated_at = now()
    FROM unnest($1::bigint[], $2::text[], $3::text[]) AS wanted (id, status, history)
    WHERE orders.id = wanted.id AND orders.status NOT IN ('completed', 'failed')
      AND (orders.reason IS NULL) = (wanted.status = 'completed')
    RETURNING orders.id";

/// Moves each pending order to its final status, its run's steps added to
/// the history (after those of parked runs and operators' actions);
/// returns the ids it moved. A completion needs no reason set, a failure
/// needs one (set by `begin_failing`): the same rule the table's CHECKs
/// hold. So an order that a concurrent run began failing does not
/// complete, and a final one does not move at all.
///
/// The ids must be distinct: of two updates of one row in one statement,
/// PostgreSQL applies only one, and both would look applied.
async fn finish_all(db: &impl GenericClient, finishes: &[Finish]) -> Answer<Vec<OrderId>> {
    let ids: Vec<OrderId> = finishes.iter().map(|f| f.id).collect();
    let statuses: Vec<&str> = finishes.iter().map(|f| f.status.as_str()).collect();
    let histories = finishes
        .iter()
        .map(|f| serde_json::to_string(&f.steps))
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::history)?;
    let params: [&(dyn ToSql + Sync); 3] = [&ids, &statuses, &histories];
    let rows = db
        .query(&db.prepare_cached(FINISH_ALL).await?, &params)
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

#[cfg(test)]
mod tests {
    use common::testing::TestDatabase;

    use super::*;

    /// The plan order-api and the mediator would run for `sql`, with
    /// `args` (SQL literals), planned once for all values as they plan it.
    async fn plan(db: &tokio_postgres::Client, sql: &str, args: &str) -> String {
        db.batch_execute(&format!("DEALLOCATE ALL; PREPARE statement AS {sql}"))
            .await
            .expect("prepared");
        let rows = db
            .query(&format!("EXPLAIN EXECUTE statement ({args})"), &[])
            .await
            .expect("explained");
        rows.iter()
            .map(|row| row.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn statements_that_change_one_order_find_it_by_id_when_few_are_pending() {
        let database = TestDatabase::create("orders", crate::migrations).await;
        let store = Store::connect(&database.settings).await.expect("connected");
        let db = store.db().await.expect("a connection");
        // What PostgreSQL counts on a quiet day: many final orders, almost
        // no pending one; under load thousands are pending.
        db.batch_execute(
            "INSERT INTO orders (username, amount, item, slot, status)
                 SELECT 'buyer' || g % 50, 1, 1, '08:00', 'completed'
                 FROM generate_series(1, 5000) g;
             INSERT INTO orders (username, amount, item, slot) VALUES ('buyer1', 1, 1, '08:00');
             ANALYZE orders",
        )
        .await
        .expect("orders counted");

        for (name, sql, args) in [
            (
                "finish_all",
                FINISH_ALL,
                r#"'{1}', '{completed}', '{"[]"}'"#,
            ),
            ("begin_failing", BEGIN_FAILING, "1, 'Not enough money'"),
        ] {
            let plan = plan(&db, sql, args).await;
            assert!(
                plan.contains("orders_pkey") && !plan.contains("orders_pending"),
                "{name} should look the order up by id:\n{plan}"
            );
        }
        let sweep = plan(&db, PENDING_OLDER_THAN, "1000, 100").await;
        assert!(
            sweep.contains("orders_pending"),
            "the sweeper should read the index of pending orders:\n{sweep}"
        );
    }

    #[tokio::test]
    async fn a_status_this_code_does_not_know_is_an_error_not_a_pending_order() {
        let database = TestDatabase::create("orders", crate::migrations).await;
        let store = Store::connect(&database.settings).await.expect("connected");
        let db = store.db().await.expect("a connection");
        // As a later version of the schema might write it.
        db.batch_execute("ALTER TABLE orders DROP CONSTRAINT orders_status_check")
            .await
            .expect("constraint dropped");
        let id: OrderId = db
            .query_one(
                "INSERT INTO orders (username, amount, item, slot, status)
                 VALUES ('buyer', 1, 1, '08:00', 'refunded') RETURNING id",
                &[],
            )
            .await
            .expect("inserted")
            .get(0);
        let loaded = load_all(&db, &[id]).await;
        assert!(
            matches!(&loaded, Err(StoreError::Corrupt { id: at, .. }) if *at == id),
            "{loaded:?}"
        );
    }
}
