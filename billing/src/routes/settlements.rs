//! `POST /internal/settlements` (internal, the mediator): the money of
//! completed orders is spent. `{"order_ids": [...]}` (at most 1000) moves
//! their granted reservations to `settled`, so it no longer counts as held
//! for an unfinished order against the wallet ceiling. Idempotent; answers
//! `{"settled": n}`, how many moved now.

use std::sync::Arc;

use common::domain::OrderId;
use common::http::{
    json_body, json_reply, respond, service_credential, with, ApiError, Caller, Callers,
};
use deadpool_postgres::Pool;
use serde::Deserialize;
use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

/// The most order ids one call settles.
const MAX_IDS: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settle {
    order_ids: Vec<OrderId>,
}

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/internal/settlements";

pub fn route(pool: Pool, callers: Arc<Callers>) -> BoxedFilter<(Response,)> {
    warp::path!("internal" / "settlements")
        .and(warp::post())
        .and(service_credential(callers, Caller::Mediator))
        .and(json_body::<Settle>())
        .and(with(pool))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(settle: Settle, pool: Pool) -> Result<Response, ApiError> {
    if settle.order_ids.len() > MAX_IDS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_IDS} order ids a call"
        )));
    }
    let conn = pool.get().await?;
    let statement = conn
        .prepare_cached(
            "UPDATE reservations SET state = 'settled', updated_at = now()
             WHERE order_id = ANY($1) AND state = 'granted'",
        )
        .await?;
    let settled = conn.execute(&statement, &[&settle.order_ids]).await?;
    Ok(json_reply(&json!({"settled": settled}), StatusCode::OK))
}
