//! The one way into the orders database: `Store`. order-api places and
//! reads orders through it, the mediator loads and ends sagas, the admin
//! API reads and acts on them. Each method's statement lives beside the
//! others of its kind (`placing`, `sagas`, `oversight`); the store owns
//! the pool and the batching.
//!
//! The busiest statements are batched opportunistically: a few batches run
//! at once, and callers that arrive while all of them run share the next
//! one. Under load one statement (one round trip, and for writes one
//! commit) serves many callers; with little load a call runs at once,
//! alone. README's "Batching" has what each batcher buys, measured on and
//! off.

use common::db::DatabaseSettings;
use common::domain::OrderId;
use common::http::ops::ReadyCheck;
use deadpool_postgres::{Object, Pool};

use crate::batch::Batcher;
use crate::placing::{self, NewOrder};
use crate::sagas::{self, Finish};
use crate::{Order, StoreError};

/// The most requests one statement serves: the mediator's default
/// concurrency.
const MAX_BATCH: usize = 64;

/// Insert batches that may run at once: two, so that an order that finds a
/// batch running mostly starts its own instead of waiting for it (the
/// client is waiting), while under load orders still gather into batches.
const INSERTS_AT_ONCE: usize = 2;

/// Load and finish batches that may run at once: one. A saga can wait for
/// the statement before its own, and under load fewer, larger batches
/// commit less (4.1 commits per saga against 4.9 with four at once, closed
/// loop).
const SAGA_BATCHES_AT_ONCE: usize = 1;

pub(crate) type Answer<T> = Result<T, StoreError>;

/// The orders database. Cloning it is cheap and shares the pool and the
/// batchers.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    pub(crate) inserts: Batcher<NewOrder, Answer<Option<Order>>>,
    pub(crate) loads: Batcher<OrderId, Answer<Option<Order>>>,
    pub(crate) finishes: Batcher<Finish, Answer<bool>>,
}

impl Store {
    /// Connects to the orders database, migrates it and starts the batchers
    /// (so: inside the runtime). Every statement is planned once for all
    /// parameter values. The batched statements take arrays, which
    /// PostgreSQL would otherwise plan afresh on every call; and a plan made
    /// for `status = 'pending'` would scan the sweeper's index of every
    /// pending order rather than the owner's orders.
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let settings = DatabaseSettings {
            generic_plans: true,
            ..settings.clone()
        };
        let pool = common::db::connect(&settings, crate::migrations).await?;
        let (max, sagas_at_once) = (MAX_BATCH, SAGA_BATCHES_AT_ONCE);
        Ok(Self {
            inserts: Batcher::start(max, INSERTS_AT_ONCE, pool.clone(), placing::insert_batch),
            loads: Batcher::start(max, sagas_at_once, pool.clone(), sagas::load_batch),
            finishes: Batcher::start(max, sagas_at_once, pool.clone(), sagas::finish_batch),
            pool,
        })
    }

    /// `/ready`'s check of the orders database.
    pub fn ready_check(&self) -> ReadyCheck {
        common::db::ready_check(self.pool.clone())
    }

    /// A connection for one unbatched call.
    pub(crate) async fn db(&self) -> Answer<Object> {
        Ok(self.pool.get().await?)
    }
}

#[cfg(test)]
mod tests {
    use common::testing::TestDatabase;

    use super::*;

    #[tokio::test]
    async fn its_connections_use_one_plan_for_every_batch() {
        let database = TestDatabase::create("orders", crate::migrations).await;
        let store = Store::connect(&database.settings).await.expect("connected");
        let db = store.db().await.expect("a connection");
        let row = db
            .query_one("SHOW plan_cache_mode", &[])
            .await
            .expect("shown");
        assert_eq!(row.get::<_, String>(0), "force_generic_plan");
    }
}
