//! Authentication filters. `bearer` yields the caller's verified `Claims`, so
//! a handler that needs an owner cannot be written without one.
//! `service_credential` guards the internal endpoints that only our own
//! services may call.

use std::sync::Arc;

use warp::{Filter, Rejection};

use super::error::ApiError;
use crate::config::Secret;
use crate::jwt::{Claims, TokenKind, TokenVerifier};

/// The header that carries the service credential on internal calls.
pub const SERVICE_TOKEN_HEADER: &str = "x-service-token";

/// Requires `Authorization: Bearer <access token>` and yields its claims.
pub fn bearer(
    verifier: Arc<TokenVerifier>,
) -> impl Filter<Extract = (Claims,), Error = Rejection> + Clone {
    warp::header::optional::<String>("authorization").and_then(move |header: Option<String>| {
        let verifier = verifier.clone();
        async move {
            let header = header.ok_or_else(|| {
                ApiError::unauthorized(
                    "authentication required: send Authorization: Bearer <token>",
                )
            })?;
            let token = header
                .strip_prefix("Bearer ")
                .or_else(|| header.strip_prefix("bearer "))
                .ok_or_else(|| {
                    ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
                })?;
            verifier
                .verify(token.trim(), TokenKind::Access)
                .map_err(|_| Rejection::from(ApiError::unauthorized("invalid or expired token")))
        }
    })
}

/// Requires the service credential in `X-Service-Token`.
pub fn service_credential(
    expected: Arc<Secret>,
) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::header::optional::<String>(SERVICE_TOKEN_HEADER)
        .and_then(move |given: Option<String>| {
            let expected = expected.clone();
            async move {
                match given {
                    Some(given)
                        if constant_time_eq(given.as_bytes(), expected.expose().as_bytes()) =>
                    {
                        Ok(())
                    }
                    _ => Err(Rejection::from(ApiError::unauthorized(
                        "this endpoint is internal: a service credential is required",
                    ))),
                }
            }
        })
        .untuple_one()
}

/// Compares without an early exit, so timing does not reveal the prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The owner's name when `username` is the caller's own; 403 otherwise.
pub fn require_owner<'a>(claims: &'a Claims, username: &str) -> Result<&'a str, ApiError> {
    if claims.username() == username {
        Ok(claims.username())
    } else {
        Err(ApiError::forbidden("this belongs to another user"))
    }
}
