//! `/api/admin/`: what an operator reads about the sagas. Every route
//! demands an administrator's token (401 without a valid one, 403 for a
//! customer's).

mod list;
mod show;
mod stats;
mod view;
mod workers;

use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use crate::Context;

pub fn routes(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    // stats before show: `sagas/stats` is not an id.
    stats::route(context.clone())
        .or(list::route(context.clone()))
        .unify()
        .or(show::route(context.clone()))
        .unify()
        .or(workers::route(context))
        .unify()
        .boxed()
}
