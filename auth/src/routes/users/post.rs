//! `POST /api/auth/users/`: signs a user up and opens their wallet.

use std::sync::Arc;

use common::domain::Username;
use common::http::{json_body, json_reply, respond, with, ApiError};
use hyper::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::credentials::{self, Email, Password};
use crate::{users, Context};

#[derive(Deserialize)]
struct SignUp {
    username: Username,
    password: Password,
    email: Email,
}

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "auth" / "users")
        .and(warp::post())
        .and(json_body::<SignUp>())
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(sign_up: SignUp, context: Arc<Context>) -> Result<Response, ApiError> {
    let hash = credentials::hash(sign_up.password.into_inner(), context.bcrypt_cost)
        .await
        .map_err(ApiError::internal)?;
    let mut conn = context.pool.get().await?;
    let tx = conn.transaction().await?;
    // The row stays uncommitted until billing has the account: a concurrent
    // sign-up for the same name waits on it, and a failure rolls it back.
    let id = users::insert(&tx, &sign_up.username, sign_up.email.as_str(), &hash)
        .await?
        .ok_or_else(|| ApiError::conflict("this username is taken").with_field("username"))?;
    let profile = json!({"username": sign_up.username, "email": sign_up.email.as_str()});
    context
        .billing
        .call::<_, Value>(Method::POST, "/api/profiles/", Some(&profile))
        .await
        .map_err(|err| {
            tracing::warn!(username = %sign_up.username, error = %err, "sign-up failed: no wallet");
            ApiError::unavailable("billing is unavailable, so the user was not created; try again")
        })?;
    tx.commit().await?;
    tracing::info!(username = %sign_up.username, id, "signed up");
    let body = json!({"id": id, "username": sign_up.username, "email": sign_up.email.as_str()});
    Ok(json_reply(&body, StatusCode::CREATED))
}
