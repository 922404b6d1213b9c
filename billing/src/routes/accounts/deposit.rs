//! `POST /api/accounts/{username}/deposit`: tops up the caller's wallet.

use std::sync::Arc;

use common::http::{bearer, json_body, json_reply, require_owner, respond, with, ApiError};
use common::jwt::{Claims, TokenVerifier};
use common::money::Amount;
use deadpool_postgres::Pool;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::accounts;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Deposit {
    amount: Amount,
}

pub fn route(pool: Pool, verifier: Arc<TokenVerifier>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "accounts" / String / "deposit")
        .and(warp::post())
        .and(bearer(verifier))
        .and(json_body::<Deposit>())
        .and(with(pool))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(
    username: String,
    claims: Claims,
    deposit: Deposit,
    pool: Pool,
) -> Result<Response, ApiError> {
    let owner = require_owner(&claims, &username)?;
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    let account = accounts::deposit(&tx, owner, deposit.amount.value())
        .await?
        .ok_or_else(|| ApiError::not_found("no account for this user"))?;
    tx.commit().await?;
    tracing::info!(username = owner, amount = %deposit.amount.value(), "deposit");
    Ok(json_reply(&account, StatusCode::OK))
}
