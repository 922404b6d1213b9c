//! `GET /api/admin/sagas`: newest first, filtered by `status` (a customer's
//! status or a saga state), `username`, `reason`, `since`, `until`; a page
//! of `limit` (at most 1000, default 50) below the id `before`. The answer's
//! `next_before` asks for the next page.

use std::sync::Arc;

use common::http::{admin, json_reply, respond, with, Admin, ApiError};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::query::SagaQuery;
use super::view::{SagaPage, SagaView};
use crate::Context;

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/admin/sagas";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "admin" / "sagas")
        .and(warp::get())
        .and(admin(context.verifier.clone()))
        .and(warp::query::<SagaQuery>())
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(
    _admin: Admin,
    query: SagaQuery,
    context: Arc<Context>,
) -> Result<Response, ApiError> {
    let limit = query.limit(50)?;
    let filter = query.filter()?;
    let sagas = context.store.list(&filter, query.before, limit).await?;
    // A full page may have more below it.
    let next_before = (sagas.len() as i64 == limit)
        .then(|| sagas.last().map(|saga| saga.order.id))
        .flatten();
    let sagas: Vec<SagaView> = sagas.into_iter().map(SagaView::from).collect();
    Ok(json_reply(&SagaPage { sagas, next_before }, StatusCode::OK))
}
