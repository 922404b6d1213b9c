//! `GET /api/admin/sagas/stats`: counts by state and by reason (every
//! unfinished saga; the finished ones created `since`, default a day ago),
//! the age of the oldest unfinished saga, the queue's depth and each
//! worker's load.

use std::collections::BTreeMap;
use std::sync::Arc;

use common::http::{admin, json_reply, respond, with, Admin, ApiError};
use orders::oversight::SagaState;
use serde::Deserialize;
use time::OffsetDateTime;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::view::{seconds_between, Stats, WorkerLoad, WorkerView};
use crate::Context;

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/admin/sagas/stats";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "admin" / "sagas" / "stats")
        .and(warp::get())
        .and(admin(context.verifier.clone()))
        .and(warp::query::<Query>())
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    /// Finished sagas created from then on are counted (default a day ago).
    #[serde(default, with = "time::serde::rfc3339::option")]
    since: Option<OffsetDateTime>,
}

async fn handle(_admin: Admin, query: Query, context: Arc<Context>) -> Result<Response, ApiError> {
    let since = query
        .since
        .unwrap_or_else(|| OffsetDateTime::now_utc() - time::Duration::DAY);
    let counts = context.store.counts(since).await?;
    let mut redis = context.redis.clone();
    let depth = queue::depth(&mut redis, &context.queue)
        .await
        .map_err(redis_unavailable)?;
    let workers = queue::workers(&mut redis, &context.queue)
        .await
        .map_err(redis_unavailable)?;
    let by_state: BTreeMap<&'static str, i64> = counts
        .by_state
        .iter()
        .map(|(state, n)| (state.as_str(), *n))
        .collect();
    let by_reason: BTreeMap<String, i64> = counts.by_reason.into_iter().collect();
    let oldest = counts
        .oldest_unfinished
        .map(|at| seconds_between(at, OffsetDateTime::now_utc()));
    let workers = workers
        .into_iter()
        .map(|worker| WorkerLoad::from(WorkerView::from(worker)))
        .collect();
    let parked = by_state
        .get(SagaState::Parked.as_str())
        .copied()
        .unwrap_or(0);
    Ok(json_reply(
        &Stats {
            by_state,
            by_reason,
            oldest_unfinished_seconds: oldest,
            queue_depth: depth,
            workers,
            parked,
            finished_since: since,
            version: common::version::VERSION,
        },
        StatusCode::OK,
    ))
}

/// Redis did not answer: the counts it holds are unknown for now.
pub fn redis_unavailable(err: redis::RedisError) -> ApiError {
    tracing::warn!(error = %err, "redis unavailable for the admin API");
    ApiError::unavailable("the queue is unavailable, try again later")
}
