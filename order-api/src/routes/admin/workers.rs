//! `GET /api/admin/workers`: the mediator workers registered on the queue,
//! their last heartbeat and the orders each holds.

use std::sync::Arc;

use common::http::{admin, json_reply, respond, with, Admin, ApiError};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::stats::redis_unavailable;
use super::view::{WorkerView, Workers};
use crate::Context;

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/admin/workers";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "admin" / "workers")
        .and(warp::get())
        .and(admin(context.verifier.clone()))
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(_admin: Admin, context: Arc<Context>) -> Result<Response, ApiError> {
    let workers = queue::workers(&mut context.redis.clone(), &context.queue)
        .await
        .map_err(redis_unavailable)?;
    let workers: Vec<WorkerView> = workers.into_iter().map(WorkerView::from).collect();
    Ok(json_reply(&Workers { workers }, StatusCode::OK))
}
