//! JSON Web Tokens signed with Ed25519 (EdDSA). Only auth holds the private
//! key; every other service verifies with the public key. The algorithm is
//! pinned, so a token that names another one (`none`, `HS256`, ...) is
//! refused, and `exp` is always checked.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Access tokens authorize API calls; refresh tokens only buy new access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

/// What a user may do. A customer reaches their own orders and wallet; an
/// administrator also the admin API. Only auth grants a role, from its
/// users table, and sign-up never grants `Admin`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Customer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
        }
    }

    /// The role named by auth's users table; `None` for a name it does not know.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "customer" => Some(Role::Customer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// What a token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The username.
    pub sub: String,
    /// The user's id in auth.
    pub uid: i64,
    pub token_type: TokenKind,
    pub iat: u64,
    pub exp: u64,
    /// A random id, so two tokens issued in the same second differ.
    pub jti: String,
    /// Absent from tokens issued before roles existed: a customer's.
    #[serde(default)]
    pub role: Role,
    /// A refresh token's session (its login's family), so a token that is
    /// no longer the session's current one is known as a replay. Absent
    /// from access tokens and from refresh tokens issued before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

impl Claims {
    /// Claims for `username` that expire `ttl` from now.
    pub fn new(username: &str, uid: i64, token_type: TokenKind, ttl: Duration) -> Self {
        let now = unix_now();
        let mut jti = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut jti);
        Self {
            sub: username.to_owned(),
            uid,
            token_type,
            iat: now,
            exp: now + ttl.as_secs(),
            jti: jti.iter().map(|b| format!("{b:02x}")).collect(),
            role: Role::Customer,
            fam: None,
        }
    }

    /// The same claims, for a bearer of `role`.
    pub fn with_role(self, role: Role) -> Self {
        Self { role, ..self }
    }

    pub fn username(&self) -> &str {
        &self.sub
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs tokens (auth only).
pub struct TokenIssuer {
    key: EncodingKey,
}

impl TokenIssuer {
    /// From a PKCS#8 PEM Ed25519 private key (`openssl genpkey -algorithm ed25519`).
    pub fn from_pem(private_pem: &[u8]) -> anyhow::Result<Self> {
        let key = EncodingKey::from_ed_pem(private_pem)
            .context("the JWT private key is not an Ed25519 PKCS#8 PEM key")?;
        Ok(Self { key })
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &self.key)
            .context("signing a token")
    }
}

/// Verifies tokens (every service that serves users).
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

/// Why a token was refused; the detail is for logs, never for the client.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("a {found:?} token was given where a {expected:?} token is needed")]
    WrongKind {
        expected: TokenKind,
        found: TokenKind,
    },
}

impl TokenVerifier {
    /// From an Ed25519 public key: SPKI PEM (`openssl pkey -pubout`) or a
    /// certificate of the key (what the Helm chart generates).
    pub fn from_pem(public_pem: &[u8]) -> anyhow::Result<Self> {
        let key = DecodingKey::from_ed_pem(public_pem)
            .context("the JWT public key is not an Ed25519 PEM public key")?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self { key, validation })
    }

    /// The claims of a valid, unexpired token of any kind.
    pub fn decode(&self, token: &str) -> Result<Claims, TokenError> {
        Ok(jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)?.claims)
    }

    /// The claims of a valid, unexpired token of the `expected` kind.
    pub fn verify(&self, token: &str, expected: TokenKind) -> Result<Claims, TokenError> {
        let claims = self.decode(token)?;
        if claims.token_type != expected {
            return Err(TokenError::WrongKind {
                expected,
                found: claims.token_type,
            });
        }
        Ok(claims)
    }
}

/// The verifier from the file named by `JWT_PUBLIC_KEY_FILE`.
pub fn verifier_from_env() -> anyhow::Result<TokenVerifier> {
    let pem = crate::config::file("JWT_PUBLIC_KEY_FILE")?;
    TokenVerifier::from_pem(pem.expose().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throwaway pair as the Helm chart makes it: `genPrivateKey "ed25519"`
    /// and `genSelfSignedCertWithKey`, since Helm cannot print a bare public key.
    const CHART_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJyDq3uhxgiFuWVFJVv0qel5yIC7E5AjSYFkKLDQhJsr\n-----END PRIVATE KEY-----\n";
    const CHART_CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBGzCBzqADAgECAhEA7LViSZnqJSE5WNZ0+HHF4zAFBgMrZXAwDjEMMAoGA1UE\nAxMDand0MCAXDTI2MTEyMzAyMTIxMFoYDzIxMjYxMDMwMDIxMjEwWjAOMQwwCgYD\nVQQDEwNqd3QwKjAFBgMrZXADIQBrgW4jW8ri1ZkXvhtxushsD46C79rNcuIwUGNB\nO+FvEKM/MD0wDgYDVR0PAQH/BAQDAgWgMB0GA1UdJQQWMBQGCCsGAQUFBwMBBggr\nBgEFBQcDAjAMBgNVHRMBAf8EAjAAMAUGAytlcANBAJbHl1JcavY1AolJ6bljXS1T\ndhJIBv/IoJQH5YaU7bi8r2pUT9tqH3bNmqDqkC335Igz+otV+xj0VAwiS0bYqgE=\n-----END CERTIFICATE-----\n";

    #[test]
    fn a_certificate_of_the_key_verifies_like_its_public_key() {
        let issuer = TokenIssuer::from_pem(CHART_KEY.as_bytes()).expect("key");
        let verifier = TokenVerifier::from_pem(CHART_CERT.as_bytes()).expect("certificate");
        let claims = Claims::new("ann", 1, TokenKind::Access, Duration::from_secs(60));

        let token = issuer.sign(&claims).expect("signed");

        assert_eq!(
            verifier.verify(&token, TokenKind::Access).expect("valid"),
            claims
        );
        let other = Claims::new("ann", 1, TokenKind::Refresh, Duration::from_secs(60));
        assert!(verifier
            .verify(&issuer.sign(&other).expect("signed"), TokenKind::Access)
            .is_err());
    }
}
