//! billing's routes, by resource then by verb.

mod accounts;
mod profiles;
mod reservations;
mod settlements;

use std::sync::Arc;

use common::http::Routes;
use deadpool_postgres::Pool;
use warp::Filter;

use crate::Settings;

pub fn all(pool: Pool, settings: &Settings) -> Routes {
    let callers = Arc::new(settings.callers.clone());
    let filter = accounts::get::route(pool.clone(), settings.verifier.clone())
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
        .boxed();
    // Every path template billing serves, from each route's module.
    let paths = vec![
        accounts::get::PATH,
        accounts::deposit::PATH,
        profiles::post::PATH,
        profiles::delete::PATH,
        settlements::PATH,
        ledger::PATH,
    ];
    Routes { filter, paths }
}
