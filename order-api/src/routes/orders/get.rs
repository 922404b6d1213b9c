//! `GET /api/orders/{id}`: one of the caller's orders with its saga
//! history. Someone else's order is 404, exactly like a missing one.

use std::sync::Arc;

use common::domain::OrderId;
use common::http::{bearer, json_reply, respond, with, ApiError};
use common::jwt::Claims;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::view::OrderWithHistoryView;
use crate::Context;

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/orders/{id}";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "orders" / OrderId)
        .and(warp::get())
        .and(bearer(context.verifier.clone()))
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(id: OrderId, claims: Claims, context: Arc<Context>) -> Result<Response, ApiError> {
    let order = context
        .store
        .find_owned(claims.username(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such order"))?;
    Ok(json_reply(
        &OrderWithHistoryView::from(order),
        StatusCode::OK,
    ))
}
