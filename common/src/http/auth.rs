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

/// The SHA-256 of a service credential: what a callee keeps, so a callee
/// that leaks its configuration leaks nothing a caller could present.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialDigest([u8; 32]);

impl CredentialDigest {
    pub fn of(credential: &str) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, credential.as_bytes());
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest.as_ref());
        Self(bytes)
    }

    /// 64 hex digits, as `sha256sum` prints them.
    pub fn parse_hex(hex: &str) -> Option<Self> {
        let hex = hex.trim();
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(Self(bytes))
    }

    fn matches(&self, credential: &str) -> bool {
        constant_time_eq(&Self::of(credential).0, &self.0)
    }
}

impl std::fmt::Debug for CredentialDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialDigest(..)")
    }
}

/// Every caller as a service with internal endpoints knows them, by the
/// digests of their credentials: it tells a stranger (401) from a known
/// caller at the wrong door (403).
#[derive(Debug, Clone)]
pub struct Callers {
    auth: CredentialDigest,
    mediator: CredentialDigest,
}

impl Callers {
    pub fn new(auth: CredentialDigest, mediator: CredentialDigest) -> Self {
        Self { auth, mediator }
    }

    /// `AUTH_SERVICE_TOKEN_SHA256` and `MEDIATOR_SERVICE_TOKEN_SHA256` (hex
    /// SHA-256 of each caller's credential: `printf %s "$TOKEN" | sha256sum`),
    /// which must differ. A callee configured the older way, with the
    /// credentials themselves, still starts, and says to switch.
    pub fn from_env() -> anyhow::Result<Self> {
        let callers = Self::new(
            Caller::Auth.digest_from_env()?,
            Caller::Mediator.digest_from_env()?,
        );
        anyhow::ensure!(
            callers.auth != callers.mediator,
            "AUTH_SERVICE_TOKEN_SHA256 and MEDIATOR_SERVICE_TOKEN_SHA256 must differ: each caller has its own credential"
        );
        Ok(callers)
    }

    fn digest(&self, caller: Caller) -> &CredentialDigest {
        match caller {
            Caller::Auth => &self.auth,
            Caller::Mediator => &self.mediator,
        }
    }

    /// The caller whose credential `given` is, if any.
    fn identify(&self, given: &str) -> Option<Caller> {
        [Caller::Auth, Caller::Mediator]
            .into_iter()
            .find(|caller| self.digest(*caller).matches(given))
    }
}

impl Caller {
    /// `<VAR>_SHA256`, else the digest of `<VAR>` itself, with a warning.
    fn digest_from_env(self) -> anyhow::Result<CredentialDigest> {
        let digest_var = format!("{}_SHA256", self.variable());
        let hex = crate::config::string(&digest_var, "");
        if !hex.is_empty() {
            return CredentialDigest::parse_hex(&hex).ok_or_else(|| {
                anyhow::anyhow!(
                    "{digest_var} must be 64 hex digits: printf %s \"$TOKEN\" | sha256sum"
                )
            });
        }
        if std::env::var_os(self.variable()).is_some() {
            let credential = self.credential_from_env()?;
            tracing::warn!(
                "{} is set on a service that only checks it: give it {digest_var} instead, \
                 so its configuration holds nothing a caller could present",
                self.variable()
            );
            return Ok(CredentialDigest::of(credential.expose()));
        }
        Err(anyhow::anyhow!(
            "{digest_var} is not set: the hex SHA-256 of the caller's credential \
             (printf %s \"$TOKEN\" | sha256sum)"
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_sha256sums_and_knows_its_credential_only() {
        // printf %s abc | sha256sum
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let parsed = CredentialDigest::parse_hex(abc).expect("64 hex digits");
        assert_eq!(parsed, CredentialDigest::of("abc"));
        assert!(parsed.matches("abc"));
        assert!(!parsed.matches("abd"));
        assert!(CredentialDigest::parse_hex(&abc[1..]).is_none());
        assert!(CredentialDigest::parse_hex(&abc.replace('b', "g")).is_none());

        let callers = Callers::new(
            CredentialDigest::of("auth's"),
            CredentialDigest::of("mediator's"),
        );
        assert_eq!(callers.identify("auth's"), Some(Caller::Auth));
        assert_eq!(callers.identify("mediator's"), Some(Caller::Mediator));
        assert_eq!(callers.identify("a stranger's"), None);
    }
}
