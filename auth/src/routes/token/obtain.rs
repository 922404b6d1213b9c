//! `POST /api/token/`: login, answering an access and a refresh token.
//! Throttled per username and client address, per address, and slowed
//! per username (see `throttle`): the attempt is counted before bcrypt runs.

use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

use common::domain::Username;
use common::http::{client_address, json_body, json_reply, respond, with, ApiError};
use common::jwt::Role;
use common::metrics::{self, IntCounter};
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::credentials::{self, LoginPassword};
use crate::throttle::{self, Verdict};
use crate::{users, Context};

#[derive(Deserialize)]
struct Login {
    username: Username,
    password: LoginPassword,
}

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/token/";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "token")
        .and(warp::post())
        .and(client_address(context.trusted_proxies.clone()))
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
    let (attempt, slowed, found) = {
        let mut conn = context.pool.get().await?;
        let tx = conn.transaction().await?;
        let verdict = throttle::admit(&tx, &context.throttle, &login.username, address).await?;
        let (attempt, slowed) = match verdict {
            Verdict::Admitted { attempt, slowed } => (attempt, slowed),
            Verdict::Throttled { retry_after } => {
                tracing::warn!(username = %login.username, %address, "login throttled");
                return Ok(too_many(retry_after));
            }
        };
        tx.commit().await?;
        (
            attempt,
            slowed,
            users::credentials(&**conn, &login.username).await?,
        )
    };
    if slowed {
        tracing::warn!(username = %login.username, %address, "login slowed: many addresses are failing for this name");
    }
    let (id, role, hash) = match found {
        Some(user) => (Some(user.id), user.role, user.password_hash),
        None => (None, Role::Customer, context.dummy_hash.clone()),
    };
    let pass = context.gates.enter(login.username.as_str(), slowed).await;
    PASSWORD_CHECKS.inc();
    let matches = credentials::verify(login.password.into_inner(), hash).await;
    pass.leave().await;
    let matches = matches.map_err(ApiError::internal)?;
    let Some(id) = id.filter(|_| matches) else {
        // The attempt stays recorded: a failure counts for the window.
        return Err(ApiError::unauthorized("invalid username or password"));
    };
    let conn = context.pool.get().await?;
    throttle::forget(&**conn, attempt).await?;
    let username = login.username.as_str();
    let pair = super::start_session(&context, &**conn, username, id, role).await?;
    Ok(json_reply(&pair, StatusCode::OK))
}

/// Every password compared with bcrypt: what the throttle bounds.
static PASSWORD_CHECKS: LazyLock<IntCounter> = LazyLock::new(|| {
    metrics::counter(
        "auth_password_checks_total",
        "Passwords compared with their bcrypt hash by login (each one admitted by the throttle).",
    )
});

/// 429 with `Retry-After` in whole seconds.
fn too_many(retry_after: std::time::Duration) -> Response {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many failed logins: try again in {seconds} s"),
    );
    warp::reply::with_header(error, "retry-after", seconds.to_string()).into_response()
}
