//! `PUT|DELETE /internal/reservations/{order_id}` (internal): one slot per
//! order, booked and freed through the shared ledger.

use std::sync::Arc;

use common::domain::SlotTime;
use common::http::Callers;
use deadpool_postgres::Pool;
use ledger::{Ledger, ReserveRequest};
use serde::Deserialize;
use tokio_postgres::types::ToSql;
use warp::filters::BoxedFilter;
use warp::reply::Response;

/// A slot that is not open matches no row, so it is refused like a full one.
static LEDGER: Ledger = Ledger {
    reserve: "WITH taken AS (
                  UPDATE slots SET booked = booked + 1
                  WHERE slot = $2 AND booked < capacity RETURNING 1
              )
              INSERT INTO reservations (order_id, state, slot)
              SELECT $1, CASE WHEN EXISTS (SELECT FROM taken) THEN 'granted' ELSE 'refused' END, $2
              RETURNING state",
    give_back: "UPDATE slots s SET booked = s.booked - 1
                FROM reservations r WHERE r.order_id = $1 AND s.slot = r.slot",
    same_request: "SELECT 1 FROM reservations
                   WHERE order_id = $1 AND (state = 'tombstone' OR (slot = $2))",
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotRequest {
    slot: SlotTime,
}

impl ReserveRequest for SlotRequest {
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![&self.slot]
    }
}

pub fn routes(pool: Pool, callers: Arc<Callers>) -> BoxedFilter<(Response,)> {
    ledger::routes::<SlotRequest>(pool, &LEDGER, callers)
}
