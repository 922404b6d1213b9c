//! `POST /api/admin/sagas/{id}/cancel`: the unfinished saga is compensated
//! and ends `failed` with `Cancelled by operator`; 409 if it has finished or
//! is already failing for another reason. Safe against a worker running it
//! at that moment: the order row decides (see `orders::oversight::cancel`).

use std::sync::Arc;

use common::domain::OrderId;
use common::http::{admin, respond, with, Admin, ApiError};
use orders::oversight::Acted;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use crate::Context;

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/admin/sagas/{id}/cancel";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "admin" / "sagas" / OrderId / "cancel")
        .and(warp::post())
        .and(admin(context.verifier.clone()))
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(id: OrderId, admin: Admin, context: Arc<Context>) -> Result<Response, ApiError> {
    let acted = context.store.cancel(id, admin.name()).await?;
    let saga = match acted {
        Acted::Done(saga) => saga,
        Acted::Refused(saga) if saga.state.is_final() => {
            return Err(ApiError::conflict(format!(
                "saga {id} has finished: it is {}",
                saga.state.as_str()
            )))
        }
        Acted::Refused(saga) => {
            return Err(ApiError::conflict(format!(
                "saga {id} is already failing: {}",
                saga.order.reason.unwrap_or_default()
            )))
        }
        Acted::Missing => return Err(ApiError::not_found("no such saga")),
    };
    Ok(super::acted(&context, &admin, saga, "cancelled a saga").await)
}
