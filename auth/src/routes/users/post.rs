//! `POST /api/auth/users/`: signs a user up and opens their wallet.
//!
//! No transaction or pooled connection is held across the call to billing.
//! The user is inserted `pending` (which claims the name), billing opens a
//! wallet bound to that user's id, and the user becomes `active`. If billing
//! does not answer, the wallet it may have opened is closed again and the
//! pending user removed; if that cannot be done now, the pending user stays
//! and the next sign-up for the name clears both first. Billing never hands
//! an account to another user id, so nothing half-made can be inherited.

use std::sync::Arc;

use common::client::CallError;
use common::domain::Username;
use common::http::{json_body, json_reply, respond, with, ApiError};
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;
use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use crate::credentials::{self, Email, Password};
use crate::users::{self, Existing};
use crate::Context;

#[derive(Deserialize)]
struct SignUp {
    username: Username,
    password: Password,
    email: Email,
}

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/auth/users/";

pub fn route(context: Arc<Context>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "auth" / "users")
        .and(warp::post())
        .and(json_body::<SignUp>())
        .and(with(context))
        .then(handle)
        .map(respond)
        .boxed()
}

fn taken() -> ApiError {
    ApiError::conflict("this username is taken").with_field("username")
}

async fn handle(sign_up: SignUp, context: Arc<Context>) -> Result<Response, ApiError> {
    let username = &sign_up.username;
    // The name is checked before the (deliberately slow) hash.
    let existing = users::find(&**context.pool.get().await?, username).await?;
    match existing {
        None => {}
        Some(Existing::Active) => return Err(taken()),
        Some(Existing::Pending { id, since }) => {
            // A sign-up still waiting for billing owns the name for now.
            if OffsetDateTime::now_utc() - since < context.billing_timeout * 2 {
                return Err(taken());
            }
            clear(&context, username, id).await.map_err(|err| {
                tracing::warn!(%username, error = %err, "a failed sign-up could not be cleared");
                ApiError::unavailable(
                    "billing is unavailable, so the user was not created; try again",
                )
            })?;
        }
    }
    let hash = credentials::hash(sign_up.password.into_inner(), context.bcrypt_cost)
        .await
        .map_err(ApiError::internal)?;
    let email = sign_up.email.as_str();
    let id = users::insert_pending(&**context.pool.get().await?, username, email, &hash)
        .await?
        .ok_or_else(taken)?;
    let profile = json!({"username": username, "email": email, "user_id": id});
    let opened = context
        .billing
        .call::<_, Value>(Method::POST, "/api/profiles/", Some(&profile))
        .await;
    if let Err(err) = opened {
        tracing::warn!(%username, error = %err, "sign-up failed: no wallet");
        // A refused connection or a 4xx proves billing made nothing; else
        // it may have, and the wallet is closed first. Best effort now; the
        // next sign-up for the name retries it.
        let cleared = if err.maybe_done() {
            clear(&context, username, id).await
        } else {
            remove_pending(&context, id).await
        };
        if let Err(err) = cleared {
            tracing::warn!(%username, error = %err, "a failed sign-up is left to clear later");
        }
        return Err(match err {
            CallError::Status { status, .. } if status == StatusCode::CONFLICT => taken(),
            _ => ApiError::unavailable(
                "billing is unavailable, so the user was not created; try again",
            ),
        });
    }
    users::activate(&**context.pool.get().await?, id).await?;
    tracing::info!(%username, id, "signed up");
    let body = json!({"id": id, "username": username, "email": email});
    Ok(json_reply(&body, StatusCode::CREATED))
}

/// Closes the wallet billing may have opened for the pending user `id`,
/// then removes that user.
async fn clear(context: &Context, username: &Username, id: i64) -> anyhow::Result<()> {
    let path = format!("/api/profiles/{username}?user_id={id}");
    context
        .billing
        .call::<(), Value>(Method::DELETE, &path, None)
        .await?;
    remove_pending(context, id).await?;
    tracing::info!(%username, id, "a failed sign-up was cleared");
    Ok(())
}

async fn remove_pending(context: &Context, id: i64) -> anyhow::Result<()> {
    users::remove_pending(&**context.pool.get().await?, id).await?;
    Ok(())
}
