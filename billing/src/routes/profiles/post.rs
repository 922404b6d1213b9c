//! `POST /api/profiles/` (internal): opens a new user's account with the
//! opening balance. Idempotent: auth may retry, and a repeat answers 200
//! with the existing account instead of 201.

use std::sync::Arc;

use common::config::Secret;
use common::domain::Username;
use common::http::{json_body, json_reply, respond, service_credential, with, ApiError};
use deadpool_postgres::Pool;
use rust_decimal::Decimal;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::accounts;

#[derive(Deserialize)]
struct NewProfile {
    username: Username,
    email: String,
}

pub fn route(pool: Pool, credential: Arc<Secret>, opening: Decimal) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "profiles")
        .and(warp::post())
        .and(service_credential(credential))
        .and(json_body::<NewProfile>())
        .and(with(pool))
        .then(move |profile, pool| handle(profile, pool, opening))
        .map(respond)
        .boxed()
}

async fn handle(profile: NewProfile, pool: Pool, opening: Decimal) -> Result<Response, ApiError> {
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    let created = accounts::open(&tx, &profile.username, &profile.email, opening).await?;
    let account = accounts::find(&*tx, profile.username.as_str())
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("account vanished after opening")))?;
    tx.commit().await?;
    let status = if created {
        tracing::info!(username = %profile.username, "account opened");
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_reply(&account, status))
}
