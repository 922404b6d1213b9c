//! `GET /api/admin/sagas/{id}`: one saga, the history its runs wrote, and
//! the worker that holds it now, if one does.

use std::sync::Arc;

use common::domain::OrderId;
use common::http::{admin, json_reply, respond, with, Admin, ApiError};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::view::{RunEntry, SagaDetail, SagaView};
use crate::Context;

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/admin/sagas/{id}";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "admin" / "sagas" / OrderId)
        .and(warp::get())
        .and(admin(context.verifier.clone()))
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(id: OrderId, _admin: Admin, context: Arc<Context>) -> Result<Response, ApiError> {
    let (saga, history) = context
        .store
        .find(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such saga"))?;
    let workers = queue::workers(&mut context.redis.clone(), &context.queue)
        .await
        .map_err(super::stats::redis_unavailable)?;
    let entry = id.to_string();
    let worker = workers
        .into_iter()
        .find(|worker| worker.in_flight.contains(&entry))
        .map(|worker| worker.id);
    Ok(json_reply(
        &SagaDetail {
            saga: SagaView::from(saga),
            history: RunEntry::number(history),
            worker,
        },
        StatusCode::OK,
    ))
}
