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

/// A new access token for a bearer of `role` and a new refresh token of
/// `family` (a new family when `None`: a login), the refresh token recorded
/// as live.
async fn issue_pair(
    context: &Context,
    db: &impl GenericClient,
    username: &str,
    uid: i64,
    role: Role,
    family: Option<&str>,
) -> Result<Value, ApiError> {
    let access = Claims::new(username, uid, TokenKind::Access, context.access_ttl).with_role(role);
    let refresh = Claims::new(username, uid, TokenKind::Refresh, context.refresh_ttl);
    let family = family.unwrap_or(&refresh.jti);
    refresh_tokens::insert(db, &refresh.jti, family, uid, context.refresh_ttl).await?;
    let sign = |claims: &Claims| context.issuer.sign(claims).map_err(ApiError::internal);
    Ok(json!({"access": sign(&access)?, "refresh": sign(&refresh)?}))
}
