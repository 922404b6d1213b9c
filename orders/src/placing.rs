//! Placing orders and reading one's own (order-api). Every query about a
//! user's orders takes the owner, so none can leak another's.
//!
//! Every statement is prepared once per connection (`prepare_cached`): an
//! unprepared one costs an extra round trip and a parse on every call.

use common::domain::OrderId;
use common::money::Amount;
use deadpool_postgres::{GenericClient, Pool};
use futures::FutureExt;
use tokio_postgres::types::ToSql;

use crate::batch::together_or_alone;
use crate::order::columns;
use crate::store::Answer;
use crate::{Details, Order, Status, StepRecord, Store, StoreError};

/// An order with its saga history, for `GET /api/orders/{id}`.
#[derive(Debug)]
pub struct OrderWithHistory {
    pub order: Order,
    pub history: Vec<StepRecord>,
}

/// An order to insert, as a client placed it.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub owner: String,
    pub amount: Amount,
    pub details: Details,
    pub idempotency_key: Option<String>,
    /// The placing request's W3C `traceparent`, when traces are on.
    pub traceparent: Option<String>,
    /// The most unfinished orders its owner may have: past them, it is
    /// not placed; 0: no limit.
    pub max_unfinished: i64,
}

/// What placing an order did.
#[derive(Debug)]
pub enum Placed {
    /// A new pending order, to be queued.
    New(Order),
    /// The owner placed an order with this idempotency key before: that one.
    Existing(Order),
    /// The owner has `max_unfinished` unfinished orders already: not placed.
    TooManyUnfinished,
}

impl Store {
    /// Makes a pending order durable, in a statement it shares with the
    /// orders placed at the same moment, unless its owner has too many
    /// unfinished ones; a repeat of an idempotency key finds its order
    /// either way. An order the database refuses fails alone.
    pub async fn place(&self, order: NewOrder) -> Answer<Placed> {
        let key = order.idempotency_key.clone();
        let owner = order.owner.clone();
        // Not inserted: its key was used before, or its owner is at the
        // limit (an order without a key can only be the latter).
        match (self.inserts.call(order).await??, key) {
            (Some(order), _) => Ok(Placed::New(order)),
            (None, Some(key)) => Ok(find_by_key(&self.db().await?, &owner, &key)
                .await?
                .map_or(Placed::TooManyUnfinished, Placed::Existing)),
            (None, None) => Ok(Placed::TooManyUnfinished),
        }
    }

    /// The owner's order `id` with its saga history; `None` if there is
    /// none or it is someone else's.
    pub async fn find_owned(&self, owner: &str, id: OrderId) -> Answer<Option<OrderWithHistory>> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            ", history::text FROM orders WHERE id = $1 AND username = $2"
        );
        let db = self.db().await?;
        let Some(row) = db
            .query_opt(&db.prepare_cached(sql).await?, &[&id, &owner])
            .await?
        else {
            return Ok(None);
        };
        let order = Order::from_row(&row)?;
        let history =
            serde_json::from_str(row.try_get("history")?).map_err(|err| StoreError::Corrupt {
                id,
                detail: format!("history: {err}"),
            })?;
        Ok(Some(OrderWithHistory { order, history }))
    }

    /// A page of the owner's orders: the newest `limit` after skipping the
    /// newest `offset`, returned oldest first.
    pub async fn list_owned(
        &self,
        owner: &str,
        status: Option<Status>,
        limit: i64,
        offset: i64,
    ) -> Answer<Vec<Order>> {
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
        let db = self.db().await?;
        Order::from_rows(&db.query(&db.prepare_cached(sql).await?, &params).await?)
    }
}

/// Inserts a batch: all in one statement, and if the database refuses that,
/// order by order, so that one it refuses does not fail the others and
/// each gets its own error.
pub(crate) async fn insert_batch(pool: Pool, orders: Vec<NewOrder>) -> Vec<Answer<Option<Order>>> {
    let answers = async {
        let db = pool.get().await?;
        together_or_alone(
            &db,
            &orders,
            |_| true,
            |db, orders| insert_all(db, orders).boxed(),
        )
        .await
    };
    // Only a batch of one fails as a whole.
    answers
        .await
        .unwrap_or_else(|err| vec![Err(err); orders.len()])
}

/// Inserts pending orders in one statement; answers one per order, in the
/// same order: `None` when its owner already used its idempotency key (the
/// earlier order is then found with `find_by_key`), including for the second
/// of two in this batch, or already has `max_unfinished` unfinished orders.
/// The count is the statement's snapshot: orders of one owner in the same
/// batch, or in batches running at once, may pass the limit together, by at
/// most the number placed at that moment. Each order's id is drawn before the insert so that
/// every row returned is matched to the order it came from, from the
/// sequence the id column's default uses (`BIGSERIAL` named it): looking the
/// name up with `pg_get_serial_sequence` costs about 5 µs per row.
async fn insert_all(
    db: &impl GenericClient,
    orders: &[NewOrder],
) -> Result<Vec<Option<Order>>, StoreError> {
    let sql = concat!(
        "WITH input AS (
             SELECT nextval('orders_id_seq') AS id, n.*
             FROM unnest($1::text[], $2::numeric[], $3::int[], $4::text[], $5::text[], $6::text[],
                         $7::bigint[])
                  WITH ORDINALITY AS n (username, amount, item, slot, idempotency_key, traceparent,
                                        max_unfinished, position)
         ), inserted AS (
             INSERT INTO orders (id, username, amount, item, slot, idempotency_key, traceparent)
             SELECT id, username, amount, item, slot, idempotency_key, traceparent
             FROM input
             WHERE CASE WHEN input.max_unfinished = 0 THEN true
                   ELSE (SELECT count(*) FROM (
                             SELECT 1 FROM orders o
                             WHERE o.username = input.username AND o.status = 'pending'
                             LIMIT input.max_unfinished
                         ) AS unfinished) < input.max_unfinished
                   END
             ORDER BY position
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
    let traceparents: Vec<Option<&str>> = orders.iter().map(|o| o.traceparent.as_deref()).collect();
    let limits: Vec<i64> = orders.iter().map(|o| o.max_unfinished).collect();
    let params: [&(dyn ToSql + Sync); 7] = [
        &owners,
        &amounts,
        &items,
        &slots,
        &keys,
        &traceparents,
        &limits,
    ];
    let rows = db.query(&db.prepare_cached(sql).await?, &params).await?;
    let mut answers = vec![None; orders.len()];
    for row in &rows {
        let position: i64 = row.get("position");
        let order = Order::from_row(row)?;
        let answer = usize::try_from(position - 1)
            .ok()
            .and_then(|at| answers.get_mut(at))
            .ok_or_else(|| StoreError::Corrupt {
                id: order.id,
                detail: format!("inserted at position {position} of {}", orders.len()),
            })?;
        *answer = Some(order);
    }
    Ok(answers)
}

/// The owner's order made with this idempotency key.
async fn find_by_key(
    db: &impl GenericClient,
    owner: &str,
    key: &str,
) -> Result<Option<Order>, StoreError> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM orders WHERE username = $1 AND idempotency_key = $2"
    );
    let row = db
        .query_opt(&db.prepare_cached(sql).await?, &[&owner, &key])
        .await?;
    row.as_ref().map(Order::from_row).transpose()
}
