//! `POST /api/token/`: login, answering an access and a refresh token.

use std::sync::Arc;

use common::http::{json_body, json_reply, respond, with, ApiError};
use common::jwt::{Claims, TokenKind};
use serde::Deserialize;
use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::{credentials, users, Context};

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "token")
        .and(warp::post())
        .and(json_body::<Login>())
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(login: Login, context: Arc<Context>) -> Result<Response, ApiError> {
    let found = {
        let conn = context.pool.get().await?;
        users::credentials(&**conn, &login.username).await?
    };
    let (id, hash) = match found {
        Some((id, hash)) => (Some(id), hash),
        None => (None, context.dummy_hash.clone()),
    };
    let matches = credentials::verify(login.password, hash).await?;
    let id = id
        .filter(|_| matches)
        .ok_or_else(|| ApiError::unauthorized("invalid username or password"))?;
    let sign = |kind, ttl| {
        context
            .issuer
            .sign(&Claims::new(&login.username, id, kind, ttl))
            .map_err(ApiError::internal)
    };
    let access = sign(TokenKind::Access, context.access_ttl)?;
    let refresh = sign(TokenKind::Refresh, context.refresh_ttl)?;
    Ok(json_reply(
        &json!({"access": access, "refresh": refresh}),
        StatusCode::OK,
    ))
}
