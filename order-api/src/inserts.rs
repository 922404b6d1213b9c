//! Order inserts, batched across concurrent requests: under load the orders
//! placed at one moment share one statement and one commit, which is most
//! of what accepting an order costs the database. With no load a batch is
//! one order and waits for nothing.

use common::ApiError;
use deadpool_postgres::Pool;
use futures::FutureExt;
use orders::batch::{together_or_alone, Batcher};

use orders::placing::{self, NewOrder};
use orders::Order;

use crate::store_error;

/// The most orders one statement inserts.
const MAX_BATCH: usize = 64;

/// Batches that may run at once: two, so that an order that finds a
/// batch running mostly starts its own instead of waiting for it (the
/// client is waiting), while under load orders still gather into batches.
const BATCHES_AT_ONCE: usize = 2;

type Inserted = Result<Option<Order>, ApiError>;

/// The handle the request handlers insert through.
#[derive(Clone)]
pub struct Inserts {
    batches: Batcher<NewOrder, Inserted>,
}

impl Inserts {
    /// Starts the batching task (so: inside the runtime).
    pub fn start(pool: Pool) -> Self {
        Self {
            batches: Batcher::start(MAX_BATCH, BATCHES_AT_ONCE, move |orders| {
                insert_batch(pool.clone(), orders)
            }),
        }
    }

    /// Inserts a pending order; see `placing::insert_all` for `None`.
    pub async fn insert(&self, order: NewOrder) -> Inserted {
        self.batches
            .call(order)
            .await
            .map_err(|gone| ApiError::internal(gone.into()))?
    }
}

async fn insert_batch(pool: Pool, orders: Vec<NewOrder>) -> Vec<Inserted> {
    let conn = match pool.get().await {
        Ok(conn) => conn,
        Err(err) => {
            tracing::warn!(error = %err, "database pool unavailable");
            return orders.iter().map(|_| Err(unavailable())).collect();
        }
    };
    // Any failure is tried again order by order, so that one the database
    // refuses does not fail the others, and each gets its own error.
    match together_or_alone(
        &conn,
        &orders,
        |_| true,
        |conn, orders| placing::insert_all(conn, orders).boxed(),
    )
    .await
    {
        Ok(answers) => answers
            .into_iter()
            .map(|answer| answer.map_err(store_error::answer))
            .collect(),
        // Only a batch of one fails as a whole.
        Err(err) => vec![Err(store_error::answer(err))],
    }
}

fn unavailable() -> ApiError {
    ApiError::unavailable("the database is unavailable, try again later")
}

#[cfg(test)]
mod tests {
    use common::domain::SlotTime;
    use common::money::Amount;
    use common::testing::TestDatabase;

    use super::*;
    use orders::{Details, ItemId};

    fn order(owner: &str, amount: u32, key: Option<&str>) -> NewOrder {
        NewOrder {
            owner: owner.into(),
            amount: Amount::parse(amount.into()).expect("an amount"),
            details: Details {
                item: ItemId::try_from(1).expect("an item"),
                slot: SlotTime::parse("08:00").expect("a slot"),
            },
            idempotency_key: key.map(Into::into),
            traceparent: None,
        }
    }

    async fn inserts() -> (TestDatabase, Inserts) {
        let database = TestDatabase::create("orders", orders::migrations).await;
        let pool = orders::connect(&database.settings)
            .await
            .expect("connected");
        (database, Inserts::start(pool))
    }

    #[tokio::test]
    async fn orders_placed_together_each_get_their_own_row() {
        let (_database, inserts) = inserts().await;
        let (a, b, c) = tokio::join!(
            inserts.insert(order("ann", 1, None)),
            inserts.insert(order("bob", 2, Some("k"))),
            inserts.insert(order("ann", 3, None)),
        );
        let orders: Vec<Order> = [a, b, c]
            .into_iter()
            .map(|answer| answer.expect("answered").expect("inserted"))
            .collect();
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
    async fn one_key_twice_in_a_batch_makes_one_order() {
        let (database, inserts) = inserts().await;
        let (first, second) = tokio::join!(
            inserts.insert(order("ann", 5, Some("same"))),
            inserts.insert(order("ann", 5, Some("same"))),
        );
        let answers = [first.expect("answered"), second.expect("answered")];
        assert_eq!(answers.iter().filter(|a| a.is_some()).count(), 1);
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
        let again = inserts.insert(order("ann", 5, Some("same"))).await;
        assert!(again.expect("answered").is_none());
    }

    #[tokio::test]
    async fn an_order_the_database_refuses_does_not_fail_the_rest_of_its_batch() {
        let (_database, inserts) = inserts().await;
        // PostgreSQL text cannot hold a NUL: the statement as a whole fails.
        let (bad, good) = tokio::join!(
            inserts.insert(order("nul\0", 1, None)),
            inserts.insert(order("ann", 2, None)),
        );
        assert!(bad.is_err());
        assert_eq!(good.expect("answered").expect("inserted").username, "ann");
    }
}
