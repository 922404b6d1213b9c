//! `/api/admin/`: what an operator reads about the sagas, and retry and
//! cancel. Every route demands an administrator's token (401 without a
//! valid one, 403 for a customer's); every action is logged with the
//! administrator's name and written into the saga's history.

mod cancel;
mod list;
mod query;
mod retry;
mod show;
mod stats;
mod view;
mod workers;

use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use common::domain::OrderId;
use common::http::{json_reply, Admin};
use orders::oversight::SagaRow;
use warp::http::StatusCode;

use crate::Context;

/// The admin API's path templates, the literal ones before those with an id.
pub const PATHS: [&str; 7] = [
    stats::PATH,
    list::PATH,
    retry::BULK_PATH,
    show::PATH,
    workers::PATH,
    retry::PATH,
    cancel::PATH,
];

pub fn routes(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    // stats before show: `sagas/stats` is not an id.
    stats::route(context.clone())
        .or(list::route(context.clone()))
        .unify()
        .or(show::route(context.clone()))
        .unify()
        .or(workers::route(context.clone()))
        .unify()
        .or(retry::bulk_route(context.clone()))
        .unify()
        .or(retry::route(context.clone()))
        .unify()
        .or(cancel::route(context))
        .unify()
        .boxed()
}

/// After an operator's action on one saga: logged with their name, the saga
/// queued for a run to take it up, and the answer.
async fn acted(context: &Context, admin: &Admin, saga: SagaRow, what: &str) -> Response {
    let id = saga.order.id;
    tracing::info!(admin = admin.name(), order_id = id.get(), "operator {what}");
    queue_again(context, &[id]).await;
    let saga = view::SagaView::from(saga);
    json_reply(&view::OneSaga { saga }, StatusCode::OK)
}

/// Queues sagas an operator re-drove. A push that fails loses nothing:
/// the sweeper queues a pending order nobody holds within SWEEP_AGE_MS.
async fn queue_again(context: &Context, ids: &[OrderId]) {
    let mut redis = context.redis.clone();
    for &id in ids {
        if let Err(err) = queue::push(&mut redis, &context.queue, id.get()).await {
            tracing::warn!(order_id = id.get(), error = %err, "queueing a re-driven saga failed: the sweeper will");
        }
    }
}
