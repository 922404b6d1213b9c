//! auth's routes, by resource then by verb.

mod openapi;
mod token;
mod users;

use std::sync::Arc;

use common::http::Routes;
use warp::Filter;

use crate::Context;

pub fn all(context: Arc<Context>) -> Routes {
    let filter = users::post::route(context.clone())
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
        .boxed();
    // Every path template auth serves, from each route's module.
    let paths = vec![
        users::post::PATH,
        token::obtain::PATH,
        token::refresh::PATH,
        token::logout::PATH,
        token::verify::PATH,
        openapi::PATH,
    ];
    Routes { filter, paths }
}
