//! `GET /api/accounts/{username}`: the caller's own account.

use std::sync::Arc;

use common::http::{bearer, json_reply, require_owner, respond, with, ApiError};
use common::jwt::{Claims, TokenVerifier};
use deadpool_postgres::Pool;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::accounts;

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/accounts/{username}";

pub fn route(pool: Pool, verifier: Arc<TokenVerifier>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "accounts" / String)
        .and(warp::get())
        .and(bearer(verifier))
        .and(with(pool))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(username: String, claims: Claims, pool: Pool) -> Result<Response, ApiError> {
    let owner = require_owner(&claims, &username)?;
    let conn = pool.get().await?;
    let account = accounts::find(&**conn, owner)
        .await?
        .ok_or_else(|| ApiError::not_found("no account for this user"))?;
    Ok(json_reply(&account, StatusCode::OK))
}
