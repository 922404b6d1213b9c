//! `POST /api/profiles/` (internal): opens a new user's account with the
//! opening balance, bound to the user's id in auth. Idempotent: auth may
//! retry, and a repeat answers 200 with the existing account instead of
//! 201. An account of the same name that belongs to another user id is
//! never handed over: 409.

use std::sync::Arc;

use common::domain::Username;
use common::http::{
    json_body, json_reply, respond, service_credential, with, ApiError, Caller, Callers,
};
use deadpool_postgres::Pool;
use rust_decimal::Decimal;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::accounts::{self, Opened};

#[derive(Deserialize)]
struct NewProfile {
    username: Username,
    email: String,
    user_id: i64,
}

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/profiles/";

pub fn route(pool: Pool, callers: Arc<Callers>, opening: Decimal) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "profiles")
        .and(warp::post())
        .and(service_credential(callers, Caller::Auth))
        .and(json_body::<NewProfile>())
        .and(with(pool))
        .then(move |profile, pool| handle(profile, pool, opening))
        .map(respond)
        .boxed()
}

async fn handle(profile: NewProfile, pool: Pool, opening: Decimal) -> Result<Response, ApiError> {
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    let username = &profile.username;
    let opened = accounts::open(&tx, username, &profile.email, profile.user_id, opening).await?;
    let status = match opened {
        Opened::Created => StatusCode::CREATED,
        Opened::Existing => StatusCode::OK,
        Opened::OtherOwner => {
            tracing::warn!(%username, user_id = profile.user_id, "refused: the name's account is another user's");
            return Err(ApiError::conflict(
                "an account of this name belongs to another user",
            ));
        }
    };
    let account = accounts::find(&*tx, username.as_str())
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("account vanished after opening")))?;
    tx.commit().await?;
    if status == StatusCode::CREATED {
        tracing::info!(%username, user_id = profile.user_id, "account opened");
    }
    Ok(json_reply(&account, status))
}
