//! The ledger's internal HTTP routes, which billing, items and slots serve.

use std::sync::{Arc, LazyLock};

use deadpool_postgres::Pool;
use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::{cancel, reserve, Ledger, LedgerError, Outcome, ReserveRequest};
use common::domain::OrderId;
use common::http::{json_body, json_reply, service_credential, ApiError, Caller, Callers};
use common::metrics::{self, IntCounterVec};

static RESERVATIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    metrics::counter_vec(
        "reservations_total",
        "Reserve and cancel calls answered, by operation and outcome.",
        &["operation", "outcome"],
    )
});

/// The internal routes, guarded by the service credential:
/// The template of the reservations' path, which labels their metrics and
/// spans.
pub const PATH: &str = "/internal/reservations/{order_id}";

/// `PUT /internal/reservations/{order_id}` with an `R` body reserves, and
/// `DELETE /internal/reservations/{order_id}` cancels. Both answer 200
/// `{"order_id": .., "outcome": ..}`.
pub fn routes<R: ReserveRequest>(
    pool: Pool,
    ledger: &'static Ledger,
    callers: Arc<Callers>,
) -> BoxedFilter<(Response,)> {
    let base = warp::path!("internal" / "reservations" / i64)
        .and(service_credential(callers, Caller::Mediator))
        // Parsed here rather than by the path, so that a non-positive id
        // is a 400 that says why, not a 404.
        .and_then(|order_id: i64| async move {
            OrderId::try_from(order_id)
                .map_err(|why| warp::reject::custom(ApiError::bad_request(why)))
        });
    let with_pool = warp::any().map(move || pool.clone());
    let put = base
        .clone()
        .and(warp::put())
        .and(json_body::<R>())
        .and(with_pool.clone())
        .then(
            move |order_id: OrderId, request: R, pool: Pool| async move {
                let result = reserve(&pool, ledger, order_id, &request.params()).await;
                answer(order_id, "reserve", result)
            },
        );
    let delete = base.and(warp::delete()).and(with_pool).then(
        move |order_id: OrderId, pool: Pool| async move {
            answer(order_id, "cancel", cancel(&pool, ledger, order_id).await)
        },
    );
    put.or(delete).unify().boxed()
}

fn answer<T: Outcome>(
    order_id: OrderId,
    operation: &'static str,
    result: Result<T, LedgerError>,
) -> Response {
    use warp::Reply;
    match result {
        Ok(outcome) => {
            let text = outcome.as_str();
            RESERVATIONS.with_label_values(&[operation, text]).inc();
            tracing::info!(order_id = order_id.get(), operation, outcome = %text, "reservation");
            json_reply(
                &json!({"order_id": order_id, "outcome": outcome}),
                StatusCode::OK,
            )
        }
        Err(err) => http_error(err).into_response(),
    }
}

/// The answer to a ledger error: a refused repeat or cancel is 409, the
/// database's errors map as everywhere.
fn http_error(err: LedgerError) -> ApiError {
    match err {
        LedgerError::DifferentRequest { .. } | LedgerError::Settled { .. } => {
            ApiError::conflict(err.to_string())
        }
        LedgerError::Pool(err) => err.into(),
        LedgerError::Db(err) => err.into(),
    }
}
