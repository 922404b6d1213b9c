//! The ledger's statements: each reserve and each cancel is one
//! transaction, and says what it did or why it refused in domain terms.

use common::domain::OrderId;
use deadpool_postgres::{GenericClient, Pool, PoolError};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::{Cancelled, Ledger, Reserved};

/// Why a reserve or a cancel did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A repeat for an order id that asks for something else than the first.
    #[error("order {order_id} was reserved for a different request")]
    DifferentRequest { order_id: OrderId },
    /// The order completed and its reservation is spent: nothing may undo it.
    #[error("order {order_id} is settled: its reservation cannot be cancelled")]
    Settled { order_id: OrderId },
    #[error("no database connection")]
    Pool(#[from] PoolError),
    #[error("database")]
    Db(#[from] tokio_postgres::Error),
}

/// Reserves for `order_id`, or returns the outcome stored by an earlier call.
pub async fn reserve(
    pool: &Pool,
    ledger: &Ledger,
    order_id: OrderId,
    request: &[&(dyn ToSql + Sync)],
) -> Result<Reserved, LedgerError> {
    let conn = pool.get().await?;
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&order_id];
    params.extend_from_slice(request);
    let statement = conn.prepare_cached(ledger.reserve).await?;
    match conn.query_one(&statement, &params).await {
        Ok(row) => Ok(outcome_of(row.get(0))),
        Err(err) if err.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            let same = conn.prepare_cached(ledger.same_request).await?;
            if conn.query_opt(&same, &params).await?.is_none() {
                tracing::error!(
                    order_id = order_id.get(),
                    "a repeated reserve asks for something else than the first: refused"
                );
                return Err(LedgerError::DifferentRequest { order_id });
            }
            Ok(outcome_of(&stored_state(&conn, order_id).await?))
        }
        Err(err) => Err(err.into()),
    }
}

/// What a stored state answers to a reserve: released and settled were
/// granted once.
fn outcome_of(state: &str) -> Reserved {
    match state {
        "granted" | "released" | "settled" => Reserved::Granted,
        _ => Reserved::Refused,
    }
}

/// Cancels `order_id`'s reservation: gives it back once, or leaves a tombstone.
pub async fn cancel(
    pool: &Pool,
    ledger: &Ledger,
    order_id: OrderId,
) -> Result<Cancelled, LedgerError> {
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    let release = "UPDATE reservations SET state = 'released', updated_at = now() \
                   WHERE order_id = $1 AND state = 'granted'";
    let tombstone = "INSERT INTO reservations (order_id, state) VALUES ($1, 'tombstone') \
                     ON CONFLICT (order_id) DO NOTHING";
    let release = tx.prepare_cached(release).await?;
    // A reserve may be committing right now: then the tombstone insert waits
    // for it and conflicts, and the second release attempt sees its row.
    let outcome = if tx.execute(&release, &[&order_id]).await? == 1 {
        Cancelled::Released
    } else if tx
        .execute(&tx.prepare_cached(tombstone).await?, &[&order_id])
        .await?
        == 1
    {
        Cancelled::Tombstoned
    } else if tx.execute(&release, &[&order_id]).await? == 1 {
        Cancelled::Released
    } else {
        match stored_state(&tx, order_id).await?.as_str() {
            "released" => Cancelled::AlreadyReleased,
            "refused" => Cancelled::NothingHeld,
            // A completed order's money is spent: nothing may undo it.
            "settled" => {
                tracing::error!(
                    order_id = order_id.get(),
                    "a cancel for a settled reservation: refused"
                );
                return Err(LedgerError::Settled { order_id });
            }
            _ => Cancelled::Tombstoned,
        }
    };
    if outcome == Cancelled::Released {
        tx.execute(&tx.prepare_cached(ledger.give_back).await?, &[&order_id])
            .await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

async fn stored_state(db: &impl GenericClient, order_id: OrderId) -> Result<String, LedgerError> {
    let select = db
        .prepare_cached("SELECT state FROM reservations WHERE order_id = $1")
        .await?;
    let row = db.query_one(&select, &[&order_id]).await?;
    Ok(row.get(0))
}
