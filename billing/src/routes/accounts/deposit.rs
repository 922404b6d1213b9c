//! `POST /api/accounts/{username}/deposit`: tops up the caller's wallet.
//! With an `Idempotency-Key`, a repeat of the same deposit credits nothing
//! and answers what the first did; the same key for another amount is 409.
//! A deposit that would take the wallet plus the money held for unfinished
//! orders past the ceiling is 409.

use std::sync::Arc;

use common::http::{
    bearer, idempotency_key, json_body, json_reply, require_owner, respond, with, ApiError,
    IdempotencyKey,
};
use common::jwt::{Claims, TokenVerifier};
use common::money::Amount;
use deadpool_postgres::Pool;
use rust_decimal::Decimal;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::accounts::{self, Deposited};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Deposit {
    amount: Amount,
}

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/accounts/{username}/deposit";

pub fn route(
    pool: Pool,
    verifier: Arc<TokenVerifier>,
    ceiling: Decimal,
) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "accounts" / String / "deposit")
        .and(warp::post())
        .and(bearer(verifier))
        .and(idempotency_key())
        .and(json_body::<Deposit>())
        .and(with(pool))
        .then(move |username, claims, key, deposit, pool| {
            handle(username, claims, key, deposit, pool, ceiling)
        })
        .map(respond)
        .boxed()
}

async fn handle(
    username: String,
    claims: Claims,
    key: Option<IdempotencyKey>,
    deposit: Deposit,
    pool: Pool,
    ceiling: Decimal,
) -> Result<Response, ApiError> {
    let owner = require_owner(&claims, &username)?;
    let amount = deposit.amount.value();
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    let account = match accounts::deposit(&tx, owner, amount, key.as_ref(), ceiling).await? {
        Deposited::Credited(account) => {
            tx.commit().await?;
            tracing::info!(username = owner, %amount, "deposit");
            account
        }
        Deposited::Replayed(account) => account,
        Deposited::KeyReused => {
            return Err(ApiError::conflict(
                "this Idempotency-Key was used for a different deposit",
            ))
        }
        Deposited::OverCeiling => {
            return Err(ApiError::conflict(format!(
                "a wallet holds at most {ceiling}, counting the money held for unfinished orders"
            ))
            .with_field("amount"))
        }
        Deposited::NoAccount => return Err(ApiError::not_found("no account for this user")),
    };
    Ok(json_reply(&account, StatusCode::OK))
}
