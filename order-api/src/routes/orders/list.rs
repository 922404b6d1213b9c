//! `GET /api/orders/`: the caller's orders, oldest first; the newest 1000
//! unless `limit` (1..=1000) and `offset` say otherwise; `status` filters.

use std::sync::Arc;

use common::http::{bearer, json_reply, respond, with, ApiError};
use common::jwt::Claims;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use orders::Status;

use crate::view::OrderView;
use crate::Context;

const MAX_LIMIT: i64 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    limit: Option<i64>,
    offset: Option<i64>,
    status: Option<Status>,
}

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/orders/";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "orders")
        .and(warp::get())
        .and(bearer(context.verifier.clone()))
        .and(warp::query::<Query>())
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(claims: Claims, query: Query, context: Arc<Context>) -> Result<Response, ApiError> {
    let limit = query.limit.unwrap_or(MAX_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(
            ApiError::bad_request(format!("limit must be 1 to {MAX_LIMIT}")).with_field("limit"),
        );
    }
    let offset = query.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_request("offset must not be negative").with_field("offset"));
    }
    let page = context
        .store
        .list_owned(claims.username(), query.status, limit, offset)
        .await?;
    let page: Vec<OrderView> = page.into_iter().map(OrderView::from).collect();
    Ok(json_reply(&page, StatusCode::OK))
}
