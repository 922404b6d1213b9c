//! `POST /api/token/`: login, answering an access and a refresh token.
//! Throttled per username and per client address (see `throttle`).

use std::net::IpAddr;
use std::sync::Arc;

use common::domain::Username;
use common::http::{client_address, json_body, json_reply, respond, with, ApiError};
use common::jwt::Role;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::credentials::{self, LoginPassword};
use crate::throttle::{self, Verdict};
use crate::{refresh_tokens, users, Context};

#[derive(Deserialize)]
struct Login {
    username: Username,
    password: LoginPassword,
}

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "token")
        .and(warp::post())
        .and(client_address())
        .and(json_body::<Login>())
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(
    address: IpAddr,
    login: Login,
    context: Arc<Context>,
) -> Result<Response, ApiError> {
    let found = {
        let conn = context.pool.get().await?;
        let verdict = throttle::check(&**conn, &context.throttle, &login.username, address).await?;
        if let Verdict::Throttled { retry_after } = verdict {
            tracing::warn!(username = %login.username, %address, "login throttled");
            return Ok(too_many(retry_after));
        }
        users::credentials(&**conn, &login.username).await?
    };
    let (id, role, hash) = match found {
        Some(user) => (Some(user.id), user.role, user.password_hash),
        None => (None, Role::Customer, context.dummy_hash.clone()),
    };
    let matches = credentials::verify(login.password.into_inner(), hash)
        .await
        .map_err(ApiError::internal)?;
    let conn = context.pool.get().await?;
    let Some(id) = id.filter(|_| matches) else {
        throttle::record_failure(&**conn, &context.throttle, &login.username, address).await?;
        return Err(ApiError::unauthorized("invalid username or password"));
    };
    let username = login.username.as_str();
    let pair = super::issue_pair(&context, &**conn, username, id, role, None).await?;
    if let Err(err) = refresh_tokens::prune(&**conn).await {
        tracing::warn!(error = %err, "pruning expired refresh tokens");
    }
    Ok(json_reply(&pair, StatusCode::OK))
}

/// 429 with `Retry-After` in whole seconds.
fn too_many(retry_after: std::time::Duration) -> Response {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many failed logins: try again in {seconds} s"),
    );
    warp::reply::with_header(error, "retry-after", seconds.to_string()).into_response()
}
