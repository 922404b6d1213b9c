//! Authentication filters. `bearer` yields the caller's verified `Claims`, so
//! a handler that needs an owner cannot be written without one.
//! `service_credential` guards the internal endpoints that only our own
//! services may call, each endpoint one caller: every caller has a
//! credential of its own, so a leak from one cannot open another's
//! endpoints.

use std::sync::Arc;

use warp::{Filter, Rejection};

use super::error::ApiError;
use crate::config::Secret;
use crate::jwt::{Claims, Role, TokenKind, TokenVerifier};

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

/// An administrator's verified claims: what `admin` yields, so an admin
/// handler cannot be written without the check.
#[derive(Debug, Clone)]
pub struct Admin(pub Claims);

impl Admin {
    pub fn name(&self) -> &str {
        self.0.username()
    }
}

/// Requires an administrator's access token: 401 without a valid token,
/// 403 for anyone else's.
pub fn admin(
    verifier: Arc<TokenVerifier>,
) -> impl Filter<Extract = (Admin,), Error = Rejection> + Clone {
    bearer(verifier).and_then(|claims: Claims| async move {
        if claims.role == Role::Admin {
            Ok(Admin(claims))
        } else {
            Err(Rejection::from(ApiError::forbidden(
                "this is for administrators only",
            )))
        }
    })
}

/// A service that calls another's internal endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Opens and closes billing accounts (`/api/profiles/`).
    Auth,
    /// Reserves, cancels and settles (`/internal/...`).
    Mediator,
}

impl Caller {
    /// The variable that holds this caller's credential.
    pub fn variable(self) -> &'static str {
        match self {
            Caller::Auth => "AUTH_SERVICE_TOKEN",
            Caller::Mediator => "MEDIATOR_SERVICE_TOKEN",
        }
    }

    /// This caller's credential, from its variable.
    pub fn credential_from_env(self) -> anyhow::Result<Secret> {
        crate::config::credential(self.variable())
    }
}

/// Every caller's credential, as a service with internal endpoints knows
/// them: it tells a stranger (401) from a known caller at the wrong door (403).
#[derive(Debug, Clone)]
pub struct Callers {
    auth: Secret,
    mediator: Secret,
}

impl Callers {
    pub fn new(auth: Secret, mediator: Secret) -> Self {
        Self { auth, mediator }
    }

    /// `AUTH_SERVICE_TOKEN` and `MEDIATOR_SERVICE_TOKEN`, which must differ.
    pub fn from_env() -> anyhow::Result<Self> {
        let callers = Self::new(
            Caller::Auth.credential_from_env()?,
            Caller::Mediator.credential_from_env()?,
        );
        anyhow::ensure!(
            callers.auth.expose() != callers.mediator.expose(),
            "AUTH_SERVICE_TOKEN and MEDIATOR_SERVICE_TOKEN must differ: each caller has its own"
        );
        Ok(callers)
    }

    pub fn credential(&self, caller: Caller) -> &Secret {
        match caller {
            Caller::Auth => &self.auth,
            Caller::Mediator => &self.mediator,
        }
    }

    /// The caller whose credential `given` is, if any.
    fn identify(&self, given: &str) -> Option<Caller> {
        [Caller::Auth, Caller::Mediator].into_iter().find(|caller| {
            constant_time_eq(
                given.as_bytes(),
                self.credential(*caller).expose().as_bytes(),
            )
        })
    }
}

/// Requires `allowed`'s credential in `X-Service-Token`: 401 without a
/// known credential, 403 with another caller's.
pub fn service_credential(
    callers: Arc<Callers>,
    allowed: Caller,
) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::header::optional::<String>(SERVICE_TOKEN_HEADER)
        .and_then(move |given: Option<String>| {
            let callers = callers.clone();
            async move {
                match given.as_deref().and_then(|given| callers.identify(given)) {
                    Some(caller) if caller == allowed => Ok(()),
                    Some(caller) => {
                        tracing::warn!(
                            ?caller,
                            ?allowed,
                            "a service credential at the wrong endpoint"
                        );
                        Err(Rejection::from(ApiError::forbidden(
                            "this internal endpoint is not for this caller",
                        )))
                    }
                    None => Err(Rejection::from(ApiError::unauthorized(
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
