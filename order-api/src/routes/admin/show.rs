//! `GET /api/admin/sagas/{id}`: one saga, the history its runs wrote, and
//! the worker that holds it now, if one does.

use std::sync::Arc;

use common::http::{admin, json_reply, respond, with, Admin, ApiError};
use serde_json::{json, Value};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::view::SagaView;
use crate::Context;

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "admin" / "sagas" / i64)
        .and(warp::get())
        .and(admin(context.verifier.clone()))
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(id: i64, _admin: Admin, context: Arc<Context>) -> Result<Response, ApiError> {
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
    // Each entry with the run it belongs to: an operator's retry starts the next.
    let mut attempt = 1;
    let history: Vec<Value> = history
        .into_iter()
        .map(|entry| {
            attempt += u32::from(entry.is_retry());
            let mut entry = serde_json::to_value(entry).unwrap_or(Value::Null);
            entry["attempt"] = json!(attempt);
            entry
        })
        .collect();
    Ok(json_reply(
        &json!({"saga": SagaView::from(saga), "history": history, "worker": worker}),
        StatusCode::OK,
    ))
}
