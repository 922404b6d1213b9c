//! `PUT|DELETE /internal/reservations/{order_id}` (internal): one item per
//! order, reserved and given back through the shared ledger.

use std::sync::Arc;

use common::http::Callers;
use deadpool_postgres::Pool;
use ledger::{Ledger, ReserveRequest};
use serde::Deserialize;
use tokio_postgres::types::ToSql;
use warp::filters::BoxedFilter;
use warp::reply::Response;

/// An unknown item matches no row, so it is refused like an empty shelf.
static LEDGER: Ledger = Ledger {
    reserve: "WITH taken AS (
                  UPDATE items SET stock = stock - 1 WHERE id = $2 AND stock > 0 RETURNING 1
              )
              INSERT INTO reservations (order_id, state, item_id)
              SELECT $1, CASE WHEN EXISTS (SELECT FROM taken) THEN 'granted' ELSE 'refused' END, $2
              RETURNING state",
    give_back: "UPDATE items i SET stock = i.stock + 1
                FROM reservations r WHERE r.order_id = $1 AND i.id = r.item_id",
    same_request: "SELECT 1 FROM reservations
                   WHERE order_id = $1 AND (state = 'tombstone' OR (item_id = $2))",
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemRequest {
    item: i32,
}

impl ReserveRequest for ItemRequest {
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![&self.item]
    }
}

pub fn routes(pool: Pool, callers: Arc<Callers>) -> BoxedFilter<(Response,)> {
    ledger::routes::<ItemRequest>(pool, &LEDGER, callers)
}
