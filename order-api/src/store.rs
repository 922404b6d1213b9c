//! The SQL for orders, used by the API and by the mediator. Every query
//! about a user's orders takes the owner, so none can leak another's.
//!
//! Every statement is prepared once per connection (`prepare_cached`): an
//! unprepared one costs an extra round trip and a parse on every call, and
//! these run several times per order.

use common::money::Amount;
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use crate::orders::{Details, Order, OrderWithHistory, Status, StepRecord};

/// The columns `Order::from_row` reads, for `concat!` into the queries.
macro_rules! columns {
    () => {
        "id, username, amount, item, slot, status, reason, idempotency_key, created_at, updated_at, \
         parked_at IS NOT NULL AS parked"
    };
}

/// A store error: the database's, or a row that does not parse.
#[derive(Debug)]
pub enum StoreError {
    Db(tokio_postgres::Error),
    Corrupt(String),
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(err: tokio_postgres::Error) -> Self {
        StoreError::Db(err)
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Db(err) => write!(f, "database: {err}"),
            StoreError::Corrupt(detail) => write!(f, "unreadable order row: {detail}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for common::ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Db(err) => err.into(),
            corrupt => common::ApiError::internal(corrupt.into()),
        }
    }
}

fn parse(rows: Vec<tokio_postgres::Row>) -> Result<Vec<Order>, StoreError> {
    rows.iter()
        .map(|row| Order::from_row(row).map_err(StoreError::Corrupt))
        .collect()
}

/// The one order (or none) that a prepared `sql` finds.
async fn fetch_one(
    db: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Order>, StoreError> {
    let row = db.query_opt(&db.prepare_cached(sql).await?, params).await?;
    Ok(parse(row.into_iter().collect())?.pop())
}

/// An order to insert, as a client placed it.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub owner: String,
    pub amount: Amount,
    pub details: Details,
    pub idempotency_key: Option<String>,
}

/// Inserts pending orders in one statement; answers one per order, in the
/// same order: `None` when its owner already used its idempotency key (the
/// earlier order is then found with `find_by_key`), including for the second
/// of two in this batch. Each order's id is drawn before the insert so that
/// every row returned is matched to the order it came from, from the
/// sequence the id column's default uses (`BIGSERIAL` named it): looking the
/// name up with `pg_get_serial_sequence` costs about 5 µs per row.
pub async fn insert_all(
    db: &impl GenericClient,
    orders: &[NewOrder],
) -> Result<Vec<Option<Order>>, StoreError> {
    let sql = concat!(
        "WITH input AS (
             SELECT nextval('orders_id_seq') AS id, n.*
             FROM unnest($1::text[], $2::numeric[], $3::int[], $4::text[], $5::text[])
                  WITH ORDINALITY AS n (username, amount, item, slot, idempotency_key, position)
         ), inserted AS (
             INSERT INTO orders (id, username, amount, item, slot, idempotency_key)
             SELECT id, username, amount, item, slot, idempotency_key FROM input ORDER BY position
             ON CONFLICT (username, idempotency_key) DO NOTHING
             RETURNING ",
        columns!(),
        "
         )
         SELECT input.position, inserted.* FROM input JOIN inserted USING (id)"
    );
    let owners: Vec<&str> = orders.iter().map(|o| o.owner.as_str()).collect();
    let amounts: Vec<_> = orders.iter().map(|o| o.amount.value()).collect();
    let items: Vec<i32> = orders.iter().map(|o| o.details.item.get()).collect();
    let slots: Vec<&str> = orders.iter().map(|o| o.details.slot.as_str()).collect();
    let keys: Vec<Option<&str>> = orders
        .iter()
        .map(|o| o.idempotency_key.as_deref())
        .collect();
    let params: [&(dyn ToSql + Sync); 5] = [&owners, &amounts, &items, &slots, &keys];
    let rows = db.query(&db.prepare_cached(sql).await?, &params).await?;
    let mut answers = vec![None; orders.len()];
    for row in &rows {
        let position: i64 = row.get("position");
        let order = Order::from_row(row).map_err(StoreError::Corrupt)?;
        let slot = usize::try_from(position - 1)
            .ok()
            .and_then(|at| answers.get_mut(at))
            .ok_or_else(|| StoreError::Corrupt(format!("no order at position {position}")))?;
        *slot = Some(order);
    }
    Ok(answers)
}

/// The owner's order made with this idempotency key.
pub async fn find_by_key(
    db: &impl GenericClient,
    owner: &str,
    key: &str,
) -> Result<Option<Order>, StoreError> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM orders WHERE username = $1 AND idempotency_key = $2"
    );
    fetch_one(db, sql, &[&owner, &key]).await
}

/// The owner's order `id` with its saga history; `None` if there is none or
/// it is someone else's.
pub async fn find_owned(
    db: &impl GenericClient,
    owner: &str,
    id: i64,
) -> Result<Option<OrderWithHistory>, StoreError> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        ", history::text FROM orders WHERE id = $1 AND username = $2"
    );
    let Some(row) = db
        .query_opt(&db.prepare_cached(sql).await?, &[&id, &owner])
        .await?
    else {
        return Ok(None);
    };
    let order = Order::from_row(&row).map_err(StoreError::Corrupt)?;
    let history = serde_json::from_str(row.get("history"))
        .map_err(|err| StoreError::Corrupt(format!("history of order {id}: {err}")))?;
    Ok(Some(OrderWithHistory { order, history }))
}

/// A page of the owner's orders: the newest `limit` after skipping the
/// newest `offset`, returned oldest first.
pub async fn list_owned(
    db: &impl GenericClient,
    owner: &str,
    status: Option<Status>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Order>, StoreError> {
    let sql = concat!(
        "SELECT * FROM (SELECT ",
        columns!(),
        " FROM orders
             WHERE username = $1 AND ($2::text IS NULL OR status = $2)
             ORDER BY id DESC LIMIT $3 OFFSET $4
         ) AS page ORDER BY id"
    );
    let status = status.map(Status::as_str);
    let params: [&(dyn ToSql + Sync); 4] = [&owner, &status, &limit, &offset];
    parse(db.query(&db.prepare_cached(sql).await?, &params).await?)
}

/// The orders among `ids` that exist, whoever owns them (for the mediator,
/// which loads the orders of concurrent sagas together).
pub async fn load_all(db: &impl GenericClient, ids: &[i64]) -> Result<Vec<Order>, StoreError> {
    let sql = concat!("SELECT ", columns!(), " FROM orders WHERE id = ANY($1)");
    parse(db.query(&db.prepare_cached(sql).await?, &[&ids]).await?)
}

const PENDING_OLDER_THAN: &str = "SELECT id FROM orders
    WHERE status = 'pending' AND parked_at IS NULL AND created_at < now() - make_interval(secs => $1::bigint / 1000.0)
    ORDER BY created_at LIMIT $2";

/// Pending orders older than `age_ms` that are not parked, oldest first:
/// candidates for the sweeper, which re-queues those nobody holds. This is
/// the one statement that says `status = 'pending'`, the predicate of the
/// `orders_pending` index. The statements that change one order say "not final" instead:
/// PostgreSQL, which last counted almost no pending orders, would
/// otherwise scan every pending order through that index rather than look
/// the order up by id, and under load thousands are pending.
pub async fn pending_older_than(
    db: &impl GenericClient,
    age_ms: i64,
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = db
        .query(
            &db.prepare_cached(PENDING_OLDER_THAN).await?,
            &[&age_ms, &limit],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

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

/// Marks a pending order as failing with `reason` before any compensation,
/// so that no concurrent run can complete it. An order already failing keeps
/// its first reason.
pub async fn begin_failing(
    db: &impl GenericClient,
    id: i64,
    reason: &str,
) -> Result<Failing, StoreError> {
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

const PARK: &str = "UPDATE orders
    SET parked_reason = $2, parked_at = now(), history = history || $3::text::jsonb, updated_at = now()
    WHERE id = $1 AND status NOT IN ('completed', 'failed')";

/// Parks the unfinished order `id`: the saga stops, with `reason` and the
/// steps this run took added to its history, until an operator retries it.
/// `false` if the order was final (there is nothing to park).
pub async fn park(
    db: &impl GenericClient,
    id: i64,
    reason: &str,
    steps: &[StepRecord],
) -> Result<bool, StoreError> {
    let history = serde_json::to_string(steps)
        .map_err(|err| StoreError::Corrupt(format!("history not serializable: {err}")))?;
    let parked = db
        .execute(&db.prepare_cached(PARK).await?, &[&id, &reason, &history])
        .await?;
    Ok(parked == 1)
}

/// How one saga run ends an order: its final status and the steps it took.
#[derive(Debug, Clone)]
pub struct Finish {
    pub id: i64,
    pub status: Status,
    pub steps: Vec<StepRecord>,
}

const FINISH_ALL: &str = "UPDATE orders
    SET status = wanted.status, history = wanted.history::jsonb, updated_at = now()
    FROM unnest($1::bigint[], $2::text[], $3::text[]) AS wanted (id, status, history)
    WHERE orders.id = wanted.id AND orders.status NOT IN ('completed', 'failed')
      AND (orders.reason IS NULL) = (wanted.status = 'completed')
    RETURNING orders.id";

/// Moves each pending order to its final status with its run's history;
/// returns the ids it moved. A completion needs no reason set, a failure
/// needs one (set by `begin_failing`): the same rule the table's CHECKs
/// hold. So an order that a concurrent run began failing does not
/// complete, and a final one does not move at all.
///
/// The ids must be distinct: of two updates of one row in one statement,
/// PostgreSQL applies only one, and both would look applied.
pub async fn finish_all(
    db: &impl GenericClient,
    finishes: &[Finish],
) -> Result<Vec<i64>, StoreError> {
    let ids: Vec<i64> = finishes.iter().map(|f| f.id).collect();
    let statuses: Vec<&str> = finishes.iter().map(|f| f.status.as_str()).collect();
    let histories = finishes
        .iter()
        .map(|f| serde_json::to_string(&f.steps))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| StoreError::Corrupt(format!("history not serializable: {err}")))?;
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
        let pool = crate::connect_orders_db(&database.settings)
            .await
            .expect("connected");
        let db = pool.get().await.expect("a connection");
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
}
