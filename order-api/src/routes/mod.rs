//! order-api's routes.

mod admin;
mod console;
mod orders;

use std::sync::Arc;

use common::http::Routes;
use warp::Filter;

use crate::Context;

pub fn all(context: Arc<Context>) -> Routes {
    let filter = orders::post::route(context.clone())
        .or(orders::list::route(context.clone()))
        .unify()
        .or(orders::get::route(context.clone()))
        .unify()
        .or(admin::routes(context))
        .unify()
        .or(console::route())
        .unify()
        .boxed();
    // Every path template order-api serves, from each route's module.
    let orders = [orders::post::PATH, orders::list::PATH, orders::get::PATH];
    let paths = [&orders[..], &admin::PATHS, &console::PATHS].concat();
    Routes { filter, paths }
}
