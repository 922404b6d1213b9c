//! `POST /api/admin/sagas/{id}/retry`: re-drives a parked saga from where it
//! stopped (409 if it is not parked). `POST /api/admin/sagas/retry` with the
//! list's filters: every parked saga they select, up to `limit` (default
//! and at most 1000), oldest first; answers how many it re-drove.

use std::sync::Arc;

use common::http::{admin, json_reply, respond, with, Admin, ApiError};
use orders::oversight::Acted;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::list::filter_of;
use super::view::SagaView;
use crate::{store_error, Context};

const MAX_BULK: i64 = 1000;

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "admin" / "sagas" / i64 / "retry")
        .and(warp::post())
        .and(admin(context.verifier.clone()))
        .and(with(context))
        .then(handle_one)
        .map(respond)
        .boxed()
}

async fn handle_one(id: i64, admin: Admin, context: Arc<Context>) -> Result<Response, ApiError> {
    let acted = {
        let conn = context.pool.get().await?;
        orders::oversight::retry(&conn, id, admin.name())
            .await
            .map_err(store_error::answer)?
    };
    let saga = match acted {
        Acted::Done(saga) => saga,
        Acted::Refused(saga) => {
            return Err(ApiError::conflict(format!(
                "saga {id} is not parked: it is {}",
                saga.state.as_str()
            )))
        }
        Acted::Missing => return Err(ApiError::not_found("no such saga")),
    };
    tracing::info!(
        admin = admin.name(),
        order_id = id,
        "operator retried a parked saga"
    );
    super::queue_again(&context, &[id]).await;
    Ok(json_reply(
        &json!({"saga": SagaView::from(saga)}),
        StatusCode::OK,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkQuery {
    status: Option<String>,
    username: Option<String>,
    reason: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    since: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    until: Option<OffsetDateTime>,
    limit: Option<i64>,
}

pub fn bulk_route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "admin" / "sagas" / "retry")
        .and(warp::post())
        .and(admin(context.verifier.clone()))
        .and(warp::query::<BulkQuery>())
        .and(with(context))
        .then(handle_bulk)
        .map(respond)
        .boxed()
}

async fn handle_bulk(
    admin: Admin,
    query: BulkQuery,
    context: Arc<Context>,
) -> Result<Response, ApiError> {
    let limit = query.limit.unwrap_or(MAX_BULK);
    if !(1..=MAX_BULK).contains(&limit) {
        return Err(
            ApiError::bad_request(format!("limit must be 1 to {MAX_BULK}")).with_field("limit"),
        );
    }
    let filter = filter_of(
        query.status,
        query.username,
        query.reason,
        query.since,
        query.until,
    )?;
    let ids = {
        let conn = context.pool.get().await?;
        orders::oversight::retry_all(&conn, &filter, admin.name(), limit)
            .await
            .map_err(store_error::answer)?
    };
    tracing::info!(
        admin = admin.name(),
        retried = ids.len(),
        ?filter,
        "operator retried parked sagas"
    );
    super::queue_again(&context, &ids).await;
    Ok(json_reply(
        &json!({"retried": ids.len(), "ids": ids, "more": ids.len() as i64 == limit}),
        StatusCode::OK,
    ))
}
