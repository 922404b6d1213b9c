//! auth's routes, by resource then by verb.

mod openapi;
mod token;
mod users;

use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use crate::Context;

pub fn all(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    users::post::route(context.clone())
        .or(token::obtain::route(context.clone()))
        .unify()
        .or(token::refresh::route(context.clone()))
        .unify()
        .or(token::logout::route(context.clone()))
        .unify()
        .or(token::verify::route(context))
        .unify()
        .or(openapi::route())
        .unify()
        .boxed()
}
