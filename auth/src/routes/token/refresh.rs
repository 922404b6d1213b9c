//! `POST /api/token/refresh/`: spends a refresh token and answers a new
//! access token and the next refresh token of its family. A refresh token
//! presented a second time is refused and revokes its whole family.

use std::sync::Arc;

use common::http::{json_body, json_reply, respond, with, ApiError};
use common::jwt::TokenKind;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::refresh_tokens::{self, Spent};
use crate::{users, Context};

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
    let invalid = || ApiError::unauthorized("invalid, expired or revoked refresh token");
    let claims = context
        .verifier
        .verify(&body.refresh, TokenKind::Refresh)
        .map_err(|_| invalid())?;
    let mut conn = context.pool.get().await?;
    let tx = conn.transaction().await?;
    let family = match refresh_tokens::spend(&*tx, &claims.jti).await? {
        Spent::Now { family } => family,
        Spent::Replayed => {
            tx.commit().await?;
            tracing::warn!(username = %claims.sub, "a spent refresh token was replayed: its family is revoked");
            return Err(invalid());
        }
        Spent::Invalid => return Err(invalid()),
    };
    // Read afresh, so that a demoted administrator's next access token is
    // a customer's.
    let role = users::role(&*tx, claims.uid).await?.ok_or_else(invalid)?;
    let pair =
        super::issue_pair(&context, &*tx, &claims.sub, claims.uid, role, Some(&family)).await?;
    tx.commit().await?;
    Ok(json_reply(&pair, StatusCode::OK))
}
