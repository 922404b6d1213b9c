//! `GET /api/admin/sagas`: newest first, filtered by `status` (a customer's
//! status or a saga state), `username`, `reason`, `since`, `until`; a page
//! of `limit` (at most 1000, default 50) below the id `before`. The answer's
//! `next_before` asks for the next page.

use std::sync::Arc;

use common::http::{admin, json_reply, respond, with, Admin, ApiError};
use orders::oversight::Filter as SagaFilter;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::view::SagaView;
use crate::{store_error, Context};

const MAX_LIMIT: i64 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    status: Option<String>,
    username: Option<String>,
    reason: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    since: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    until: Option<OffsetDateTime>,
    before: Option<i64>,
    limit: Option<i64>,
}

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "admin" / "sagas")
        .and(warp::get())
        .and(admin(context.verifier.clone()))
        .and(warp::query::<Query>())
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(_admin: Admin, query: Query, context: Arc<Context>) -> Result<Response, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(
            ApiError::bad_request(format!("limit must be 1 to {MAX_LIMIT}")).with_field("limit"),
        );
    }
    let filter = filter_of(
        query.status,
        query.username,
        query.reason,
        query.since,
        query.until,
    )?;
    let conn = context.pool.get().await?;
    let sagas = orders::oversight::list(&conn, &filter, query.before, limit)
        .await
        .map_err(store_error::answer)?;
    // A full page may have more below it.
    let next_before = (sagas.len() as i64 == limit)
        .then(|| sagas.last().map(|saga| saga.order.id))
        .flatten();
    let sagas: Vec<SagaView> = sagas.into_iter().map(SagaView::from).collect();
    Ok(json_reply(
        &json!({"sagas": sagas, "next_before": next_before}),
        StatusCode::OK,
    ))
}

/// The filters of a list or a bulk action; 400 for a status nobody has.
pub fn filter_of(
    status: Option<String>,
    username: Option<String>,
    reason: Option<String>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
) -> Result<SagaFilter, ApiError> {
    let filter = SagaFilter {
        status,
        username,
        reason,
        since,
        until,
    };
    if !filter.status_is_known() {
        return Err(ApiError::bad_request(
            "status must be pending, completed, failed, running, compensating or parked",
        )
        .with_field("status"));
    }
    Ok(filter)
}
