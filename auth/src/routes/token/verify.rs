//! `POST /api/token/verify/`: 200 `{}` for a valid token of either kind; a
//! refresh token must also be live (not spent, not revoked).

use std::sync::Arc;

use common::http::{json_body, json_reply, respond, with, ApiError};
use common::jwt::TokenKind;
use serde::Deserialize;
use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::{refresh_tokens, Context};

#[derive(Deserialize)]
struct Verify {
    token: String,
}

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/token/verify/";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "token" / "verify")
        .and(warp::post())
        .and(json_body::<Verify>())
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(body: Verify, context: Arc<Context>) -> Result<Response, ApiError> {
    let invalid = || ApiError::unauthorized("invalid or expired token");
    let claims = context
        .verifier
        .decode(&body.token)
        .map_err(|_| invalid())?;
    if claims.token_type == TokenKind::Refresh {
        let conn = context.pool.get().await?;
        if !refresh_tokens::is_live(&**conn, &claims.jti).await? {
            return Err(invalid());
        }
    }
    Ok(json_reply(&json!({}), StatusCode::OK))
}
