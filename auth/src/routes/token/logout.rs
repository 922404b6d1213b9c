//! `POST /api/token/logout/` (Bearer): revokes the given refresh token and
//! every token of its family. Access tokens stay valid until they expire
//! (they are short-lived and checked without a database).

use std::sync::Arc;

use common::http::{bearer, json_body, respond, with, ApiError};
use common::jwt::{Claims, TokenKind};
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::{refresh_tokens, Context};

#[derive(Deserialize)]
struct Logout {
    refresh: String,
}

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/token/logout/";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "token" / "logout")
        .and(warp::post())
        .and(bearer(context.verifier.clone()))
        .and(json_body::<Logout>())
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(caller: Claims, body: Logout, context: Arc<Context>) -> Result<Response, ApiError> {
    let refresh = context
        .verifier
        .verify(&body.refresh, TokenKind::Refresh)
        .map_err(|_| ApiError::unauthorized("invalid or expired refresh token"))?;
    if refresh.uid != caller.uid {
        return Err(ApiError::forbidden("this refresh token is another user's"));
    }
    let conn = context.pool.get().await?;
    if !refresh_tokens::revoke_session(&**conn, &refresh.jti, refresh.fam.as_deref(), caller.uid)
        .await?
    {
        return Err(ApiError::unauthorized(
            "this refresh token was not issued here",
        ));
    }
    tracing::info!(username = %caller.sub, "logged out");
    Ok(StatusCode::NO_CONTENT.into_response())
}
