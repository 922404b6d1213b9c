//! `POST /api/admin/sagas/{id}/retry`: re-drives a parked saga from where it
//! stopped (409 if it is not parked). `POST /api/admin/sagas/retry` with the
//! list's filters: every parked saga they select, up to `limit` (default
//! and at most 1000), oldest first; answers how many it re-drove.

use std::sync::Arc;

use common::domain::OrderId;
use common::http::{admin, json_reply, respond, with, Admin, ApiError};
use orders::oversight::Acted;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::query::SagaQuery;
use super::view::Retried;
use crate::Context;

const MAX_BULK: i64 = 1000;

/// The templates of this module's paths (one saga, and in bulk), which label
/// their metrics and spans.
pub const PATH: &str = "/api/admin/sagas/{id}/retry";
pub const BULK_PATH: &str = "/api/admin/sagas/retry";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "admin" / "sagas" / OrderId / "retry")
        .and(warp::post())
        .and(admin(context.verifier.clone()))
        .and(with(context))
        .then(handle_one)
        .map(respond)
        .boxed()
}

async fn handle_one(
    id: OrderId,
    admin: Admin,
    context: Arc<Context>,
) -> Result<Response, ApiError> {
    let acted = context.store.retry(id, admin.name()).await?;
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
    Ok(super::acted(&context, &admin, saga, "retried a parked saga").await)
}

pub fn bulk_route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "admin" / "sagas" / "retry")
        .and(warp::post())
        .and(admin(context.verifier.clone()))
        .and(warp::query::<SagaQuery>())
        .and(with(context))
        .then(handle_bulk)
        .map(respond)
        .boxed()
}

async fn handle_bulk(
    admin: Admin,
    query: SagaQuery,
    context: Arc<Context>,
) -> Result<Response, ApiError> {
    if query.before.is_some() {
        return Err(ApiError::bad_request(
            "before pages a list; a bulk retry takes the filters and limit",
        )
        .with_field("before"));
    }
    let limit = query.limit(MAX_BULK)?;
    let filter = query.filter()?;
    let ids = context
        .store
        .retry_all(&filter, admin.name(), limit)
        .await?;
    tracing::info!(
        admin = admin.name(),
        retried = ids.len(),
        ?filter,
        "operator retried parked sagas"
    );
    super::queue_again(&context, &ids).await;
    Ok(json_reply(
        &Retried {
            retried: ids.len(),
            more: ids.len() as i64 == limit,
            ids,
        },
        StatusCode::OK,
    ))
}
