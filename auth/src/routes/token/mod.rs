//! `/api/token/`: login, refresh, logout and verify.

pub mod logout;
pub mod obtain;
pub mod refresh;
pub mod verify;

use common::http::ApiError;
use common::jwt::{Claims, Role, TokenKind};
use serde_json::{json, Value};
use tokio_postgres::GenericClient;

use crate::{refresh_tokens, Context};

/// Signed tokens for a bearer of `role`: a new access token, and
/// `refresh` (whose session its `fam` claim names).
fn sign_pair(
    context: &Context,
    username: &str,
    uid: i64,
    role: Role,
    refresh: &Claims,
) -> Result<Value, ApiError> {
    let access = Claims::new(username, uid, TokenKind::Access, context.access_ttl).with_role(role);
    let sign = |claims: &Claims| context.issuer.sign(claims).map_err(ApiError::internal);
    Ok(json!({"access": sign(&access)?, "refresh": sign(refresh)?}))
}

/// A refresh token's claims, not yet in any session.
fn next_refresh(context: &Context, username: &str, uid: i64) -> Claims {
    Claims::new(username, uid, TokenKind::Refresh, context.refresh_ttl)
}

/// A login's tokens: a new session, recorded, and its first pair.
async fn start_session(
    context: &Context,
    db: &impl GenericClient,
    username: &str,
    uid: i64,
    role: Role,
) -> Result<Value, ApiError> {
    let mut refresh = next_refresh(context, username, uid);
    refresh.fam = Some(refresh.jti.clone());
    refresh_tokens::start(
        db,
        &refresh.jti,
        uid,
        context.refresh_ttl,
        context.max_sessions,
    )
    .await?;
    sign_pair(context, username, uid, role, &refresh)
}
