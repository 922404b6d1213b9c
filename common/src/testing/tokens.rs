//! Tokens for the authorization tests: one good kind, and the kinds a server must refuse.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::time::Duration;

use super::TestKeys;
use crate::jwt::{unix_now, Claims, Role, TokenKind};

/// Correctly signed, but expired two minutes ago.
pub fn expired(keys: &TestKeys, username: &str) -> String {
    let mut claims = Claims::new(username, 1, TokenKind::Access, Duration::ZERO);
    claims.iat = unix_now() - 600;
    claims.exp = unix_now() - 120;
    keys.issuer().sign(&claims).expect("signing")
}

/// Unsigned, with `"alg": "none"`.
pub fn alg_none(username: &str) -> String {
    let claims = Claims::new(username, 1, TokenKind::Access, Duration::from_secs(600));
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims"));
    format!("{header}.{payload}.")
}

/// A valid token whose payload was changed to claim another user.
pub fn tampered(keys: &TestKeys, username: &str, other: &str) -> String {
    let claims = Claims::new(username, 1, TokenKind::Access, Duration::from_secs(600));
    let token = keys.issuer().sign(&claims).expect("signing");
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let forged = Claims {
        sub: other.to_owned(),
        ..claims
    };
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("claims"));
    parts.join(".")
}

/// Well formed and unexpired, but signed by a key the server does not trust.
pub fn foreign(username: &str) -> String {
    let claims = Claims::new(username, 1, TokenKind::Access, Duration::from_secs(600));
    TestKeys::generate()
        .issuer()
        .sign(&claims)
        .expect("signing")
}

/// A valid refresh token, which must not pass as an access token.
pub fn refresh(keys: &TestKeys, username: &str) -> String {
    let claims = Claims::new(username, 1, TokenKind::Refresh, Duration::from_secs(600));
    keys.issuer().sign(&claims).expect("signing")
}

/// A valid access token.
pub fn access(keys: &TestKeys, username: &str) -> String {
    let claims = Claims::new(username, 1, TokenKind::Access, Duration::from_secs(600));
    keys.issuer().sign(&claims).expect("signing")
}

/// A valid access token of an administrator.
pub fn admin(keys: &TestKeys, username: &str) -> String {
    let claims = Claims::new(username, 1, TokenKind::Access, Duration::from_secs(600));
    let claims = claims.with_role(Role::Admin);
    keys.issuer().sign(&claims).expect("signing")
}
