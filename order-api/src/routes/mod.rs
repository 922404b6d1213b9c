//! order-api's routes.

mod admin;
mod console;
mod orders;

use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use crate::Context;

pub fn all(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    orders::post::route(context.clone())
        .or(orders::list::route(context.clone()))
        .unify()
        .or(orders::get::route(context.clone()))
        .unify()
        .or(admin::routes(context))
        .unify()
        .or(console::route())
        .unify()
        .boxed()
}
