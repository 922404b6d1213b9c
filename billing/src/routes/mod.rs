//! billing's routes, by resource then by verb.

mod accounts;
mod profiles;
mod reservations;
mod settlements;

use std::sync::Arc;

use deadpool_postgres::Pool;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use crate::Settings;

pub fn all(pool: Pool, settings: &Settings) -> BoxedFilter<(Response,)> {
    let callers = Arc::new(settings.callers.clone());
    accounts::get::route(pool.clone(), settings.verifier.clone())
        .or(accounts::deposit::route(
            pool.clone(),
            settings.verifier.clone(),
            settings.wallet_ceiling,
        ))
        .unify()
        .or(profiles::post::route(
            pool.clone(),
            callers.clone(),
            settings.initial_wallet,
        ))
        .unify()
        .or(profiles::delete::route(pool.clone(), callers.clone()))
        .unify()
        .or(settlements::route(pool.clone(), callers.clone()))
        .unify()
        .or(reservations::routes(pool, callers))
        .unify()
        .boxed()
}
