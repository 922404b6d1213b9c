//! The idempotent reservation ledger that billing, items and slots share.
//!
//! Each of these services keeps a `reservations` table keyed by order id:
//!
//! ```text
//! order_id BIGINT PRIMARY KEY,
//! state    TEXT  -- granted | refused | released | tombstone
//! ...      -- what was reserved (service columns, NULL on a tombstone)
//! ```
//!
//! The rules (SPEC section 3), each call one transaction:
//! - reserve is one statement: a conditional `UPDATE` takes the resource
//!   (checking and changing at once) and the same statement inserts the
//!   reservation row, `granted` or `refused`. If the order has a row
//!   already, the insert violates the key and the whole statement, take
//!   included, rolls back; the stored outcome is returned instead. So a
//!   repeat, even a concurrent one, never takes twice or changes the answer;
//!   A repeat must be the same request: one for the same order id that asks
//!   for something else (another user, amount, item or slot) is refused
//!   with 409 and logged, never answered with the stored grant;
//! - cancel releases a granted reservation once (`granted -> released`);
//! - cancel before any reserve leaves a tombstone, so a late reserve is refused.
//!
//! A service supplies only its SQL: how to reserve and how to give back.

use std::sync::Arc;

use deadpool_postgres::{GenericClient, Pool};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::config::Secret;
use crate::http::{json_body, json_reply, service_credential, ApiError};
use crate::metrics;

/// A service's two statements.
pub struct Ledger {
    /// Takes the resource with one conditional `UPDATE` in a CTE and
    /// inserts the reservation row, state `granted` if the take matched a
    /// row and `refused` if not, with no `ON CONFLICT`: `$1` is the order
    /// id, `$2..` the request's parameters.
    pub reserve: &'static str,
    /// Gives back what the reservation `$1` holds.
    pub give_back: &'static str,
    /// Selects the reservation `$1` if it was made for the request `$2..`
    /// (or is a tombstone, which holds no request): a repeat must match.
    pub same_request: &'static str,
}

/// The answer to a reserve, the same on every repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reserved {
    Granted,
    Refused,
}

/// What a cancel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cancelled {
    /// The reservation was granted and is now given back.
    Released,
    /// An earlier cancel gave it back already.
    AlreadyReleased,
    /// The reserve was refused: nothing was held.
    NothingHeld,
    /// No reserve came before: a late one will be refused.
    Tombstoned,
}

/// An outcome as the wire, the logs and the metrics name it.
pub trait Outcome: Serialize {
    fn as_str(&self) -> &'static str;
}

impl Outcome for Reserved {
    fn as_str(&self) -> &'static str {
        match self {
            Reserved::Granted => "granted",
            Reserved::Refused => "refused",
        }
    }
}

impl Outcome for Cancelled {
    fn as_str(&self) -> &'static str {
        match self {
            Cancelled::Released => "released",
            Cancelled::AlreadyReleased => "already_released",
            Cancelled::NothingHeld => "nothing_held",
            Cancelled::Tombstoned => "tombstoned",
        }
    }
}

/// A reserve request's body: what to reserve, as statement parameters.
pub trait ReserveRequest: DeserializeOwned + Send + Sync + 'static {
    fn params(&self) -> Vec<&(dyn ToSql + Sync)>;
}

/// Reserves for `order_id`, or returns the outcome stored by an earlier call.
pub async fn reserve(
    pool: &Pool,
    ledger: &Ledger,
    order_id: i64,
    request: &[&(dyn ToSql + Sync)],
) -> Result<Reserved, ApiError> {
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
                    order_id,
                    "a repeated reserve asks for something else than the first: refused"
                );
                return Err(ApiError::conflict(format!(
                    "order {order_id} was reserved for a different request"
                )));
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
pub async fn cancel(pool: &Pool, ledger: &Ledger, order_id: i64) -> Result<Cancelled, ApiError> {
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
                tracing::error!(order_id, "a cancel for a settled reservation: refused");
                return Err(ApiError::conflict(format!(
                    "order {order_id} is settled: its reservation cannot be cancelled"
                )));
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

async fn stored_state(db: &impl GenericClient, order_id: i64) -> Result<String, ApiError> {
    let select = db
        .prepare_cached("SELECT state FROM reservations WHERE order_id = $1")
        .await?;
    let row = db.query_one(&select, &[&order_id]).await?;
    Ok(row.get(0))
}

/// The internal routes, guarded by the service credential:
/// `PUT /internal/reservations/{order_id}` with an `R` body reserves, and
/// `DELETE /internal/reservations/{order_id}` cancels. Both answer 200
/// `{"order_id": .., "outcome": ..}`.
pub fn routes<R: ReserveRequest>(
    pool: Pool,
    ledger: &'static Ledger,
    credential: Arc<Secret>,
) -> BoxedFilter<(Response,)> {
    let base = warp::path!("internal" / "reservations" / i64)
        .and(service_credential(credential))
        .and_then(|order_id: i64| async move {
            if order_id > 0 {
                Ok(order_id)
            } else {
                Err(warp::reject::custom(ApiError::bad_request(
                    "the order id must be a positive integer",
                )))
            }
        });
    let with_pool = warp::any().map(move || pool.clone());
    let put = base
        .clone()
        .and(warp::put())
        .and(json_body::<R>())
        .and(with_pool.clone())
        .then(move |order_id: i64, request: R, pool: Pool| async move {
            let result = reserve(&pool, ledger, order_id, &request.params()).await;
            answer(order_id, "reserve", result)
        });
    let delete =
        base.and(warp::delete())
            .and(with_pool)
            .then(move |order_id: i64, pool: Pool| async move {
                answer(order_id, "cancel", cancel(&pool, ledger, order_id).await)
            });
    put.or(delete).unify().boxed()
}

fn answer<T: Outcome>(
    order_id: i64,
    operation: &'static str,
    result: Result<T, ApiError>,
) -> Response {
    use warp::Reply;
    match result {
        Ok(outcome) => {
            let text = outcome.as_str();
            metrics::count(
                "reservations_total",
                "Reserve and cancel calls by outcome.",
                &[("operation", operation), ("outcome", text)],
                1,
            );
            tracing::info!(order_id, operation, outcome = %text, "reservation");
            json_reply(
                &json!({"order_id": order_id, "outcome": outcome}),
                StatusCode::OK,
            )
        }
        Err(err) => err.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_is_named_as_the_wire_names_it() {
        fn wire(outcome: &impl Outcome) -> String {
            serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        }
        for reserved in [Reserved::Granted, Reserved::Refused] {
            assert_eq!(reserved.as_str(), wire(&reserved));
        }
        for cancelled in [
            Cancelled::Released,
            Cancelled::AlreadyReleased,
            Cancelled::NothingHeld,
            Cancelled::Tombstoned,
        ] {
            assert_eq!(cancelled.as_str(), wire(&cancelled));
        }
    }
}
