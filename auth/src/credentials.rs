//! Passwords and e-mail addresses as parsed at sign-up, and bcrypt hashing
//! (off the async threads: a hash takes tens of milliseconds by design).

use serde::Deserialize;

/// 8 characters at least; 72 bytes at most, because bcrypt ignores the rest.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub struct Password(String);

impl TryFrom<String> for Password {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        if value.chars().count() < 8 {
            return Err("password must be at least 8 characters".into());
        }
        if value.len() > 72 {
            return Err("password must be at most 72 bytes (bcrypt ignores the rest)".into());
        }
        Ok(Self(value))
    }
}

impl Password {
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A password as given at login: at most 72 bytes, since bcrypt would
/// ignore the rest and accept any password that starts with the right 72.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub struct LoginPassword(String);

impl TryFrom<String> for LoginPassword {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        if value.len() > 72 {
            return Err("password must be at most 72 bytes".into());
        }
        Ok(Self(value))
    }
}

impl LoginPassword {
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A plausible address: one `@`, something before it, a dotted domain after.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub struct Email(String);

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        let invalid = || format!("{value:?} is not an e-mail address");
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@');
        if local.is_empty()
            || !domain_ok
            || value.len() > 254
            || value.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        Ok(Self(value))
    }
}

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The bcrypt hash of `password`.
pub async fn hash(password: String, cost: u32) -> anyhow::Result<String> {
    let hashed = tokio::task::spawn_blocking(move || bcrypt::hash(password, cost)).await??;
    Ok(hashed)
}

/// Whether `password` matches `hash`; `Err` if the hash is not one.
pub async fn verify(password: String, hash: String) -> anyhow::Result<bool> {
    let matches = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash)).await??;
    Ok(matches)
}
