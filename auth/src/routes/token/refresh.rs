//! `POST /api/token/refresh/`: a new access token for a valid refresh token.

use std::sync::Arc;

use common::http::{json_body, json_reply, respond, with, ApiError};
use common::jwt::{Claims, TokenKind};
use serde::Deserialize;
use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::Context;

#[derive(Deserialize)]
struct Refresh {
    refresh: String,
}

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "token" / "refresh")
        .and(warp::post())
        .and(json_body::<Refresh>())
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(body: Refresh, context: Arc<Context>) -> Result<Response, ApiError> {
    let claims = context
        .verifier
        .verify(&body.refresh, TokenKind::Refresh)
        .map_err(|_| ApiError::unauthorized("invalid or expired refresh token"))?;
    let access = Claims::new(
        &claims.sub,
        claims.uid,
        TokenKind::Access,
        context.access_ttl,
    );
    let access = context.issuer.sign(&access).map_err(ApiError::internal)?;
    Ok(json_reply(&json!({ "access": access }), StatusCode::OK))
}
