//! `DELETE /api/profiles/{username}?user_id=N` (internal): auth closes the
//! account it opened for a sign-up that failed half-way. Only that user
//! id's account is closed, and only while unused. Answers 200
//! `{"closed": true|false}` (false: nothing of that user's to close).

use std::sync::Arc;

use common::domain::Username;
use common::http::{json_reply, respond, service_credential, with, ApiError, Caller, Callers};
use deadpool_postgres::Pool;
use serde::Deserialize;
use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::accounts;

#[derive(Deserialize)]
struct Owner {
    user_id: i64,
}

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/profiles/{username}";

pub fn route(pool: Pool, callers: Arc<Callers>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "profiles" / String)
        .and(warp::delete())
        .and(service_credential(callers, Caller::Auth))
        .and(warp::query::<Owner>())
        .and(with(pool))
        .then(handle)
        .map(respond)
        .boxed()
}

async fn handle(username: String, owner: Owner, pool: Pool) -> Result<Response, ApiError> {
    let username = Username::parse(&username).map_err(ApiError::bad_request)?;
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    let closed = accounts::close_unused(&tx, &username, owner.user_id).await?;
    tx.commit().await?;
    if closed {
        tracing::info!(%username, user_id = owner.user_id, "account of a failed sign-up closed");
    }
    Ok(json_reply(&json!({"closed": closed}), StatusCode::OK))
}
