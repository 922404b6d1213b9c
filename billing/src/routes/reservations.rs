//! `PUT|DELETE /internal/reservations/{order_id}` (internal): an order's
//! money, reserved and given back through the shared ledger.

use std::sync::Arc;

use common::domain::Username;
use common::http::Callers;
use common::money::Amount;
use deadpool_postgres::Pool;
use ledger::{Ledger, ReserveRequest};
use serde::Deserialize;
use tokio_postgres::types::ToSql;
use warp::filters::BoxedFilter;
use warp::reply::Response;

/// The debit is one conditional UPDATE: a wallet that cannot pay is not
/// touched, and concurrent debits queue on the row lock.
static LEDGER: Ledger = Ledger {
    reserve: "WITH taken AS (
                  UPDATE accounts SET wallet = wallet - $3
                  WHERE username = $2 AND wallet >= $3 RETURNING 1
              )
              INSERT INTO reservations (order_id, state, username, amount)
              SELECT $1, CASE WHEN EXISTS (SELECT FROM taken) THEN 'granted' ELSE 'refused' END,
                     $2, $3
              RETURNING state",
    give_back: "UPDATE accounts a SET wallet = a.wallet + r.amount
                FROM reservations r WHERE r.order_id = $1 AND a.username = r.username",
    same_request:
        "SELECT 1 FROM reservations
                   WHERE order_id = $1 AND (state = 'tombstone' OR (username = $2 AND amount = $3))",
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoneyRequest {
    username: Username,
    amount: Amount,
}

impl ReserveRequest for MoneyRequest {
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![&self.username, &self.amount]
    }
}

pub fn routes(pool: Pool, callers: Arc<Callers>) -> BoxedFilter<(Response,)> {
    ledger::routes::<MoneyRequest>(pool, &LEDGER, callers)
}
