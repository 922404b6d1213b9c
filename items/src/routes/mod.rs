//! items' routes: only the internal reservations.

mod reservations;

use std::sync::Arc;

use common::http::{Callers, Routes};
use deadpool_postgres::Pool;

pub fn all(pool: Pool, callers: Arc<Callers>) -> Routes {
    Routes {
        filter: reservations::routes(pool, callers),
        paths: vec![ledger::PATH],
    }
}
