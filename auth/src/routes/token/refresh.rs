//! `POST /api/token/refresh/`: replaces a session's refresh token with the
//! next one and answers it with a new access token. A refresh token
//! presented a second time is refused and revokes its whole session.

use std::sync::Arc;

use common::http::{json_body, json_reply, respond, with, ApiError};
use common::jwt::TokenKind;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::refresh_tokens::{self, Rotated};
use crate::{users, Context};

#[derive(Deserialize)]
struct Refresh {
    refresh: String,
}

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/token/refresh/";

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
    let invalid = || ApiError::unauthorized("invalid, expired or revoked refresh token");
    let claims = context
        .verifier
        .verify(&body.refresh, TokenKind::Refresh)
        .map_err(|_| invalid())?;
    let mut next = super::next_refresh(&context, &claims.sub, claims.uid);
    let mut conn = context.pool.get().await?;
    let tx = conn.transaction().await?;
    let rotated = refresh_tokens::rotate(
        &*tx,
        &claims.jti,
        claims.fam.as_deref(),
        &next.jti,
        context.refresh_ttl,
    )
    .await?;
    match rotated {
        Rotated::Now { family } => next.fam = Some(family),
        Rotated::Replayed => {
            tx.commit().await?;
            tracing::warn!(username = %claims.sub, "a spent refresh token was replayed: its session is revoked");
            return Err(invalid());
        }
        Rotated::Invalid => return Err(invalid()),
    };
    // Read afresh, so that a demoted administrator's next access token is
    // a customer's.
    let role = users::role(&*tx, claims.uid).await?.ok_or_else(invalid)?;
    let pair = super::sign_pair(&context, &claims.sub, claims.uid, role, &next)?;
    tx.commit().await?;
    Ok(json_reply(&pair, StatusCode::OK))
}
