//! Test support (feature `testing`): a fresh database per test cloned from a
//! migrated template, generated JWT keys, a random service credential, and a
//! small JSON HTTP client. Tests find PostgreSQL through `TEST_DATABASE_URL`
//! (an admin connection, default the local stack's) and log only when
//! `TEST_LOG=1`.

mod client;
mod database;
mod keys;
mod reservations;
pub mod tokens;

use rand::RngCore;

use crate::config::Secret;

pub use client::{TestClient, TestResponse};
pub use database::TestDatabase;
pub use keys::TestKeys;
pub use reservations::Reservations;

/// The admin connection string tests use.
pub fn admin_url() -> String {
    crate::config::string(
        "TEST_DATABASE_URL",
        "postgres://postgres@127.0.0.1:55432/postgres",
    )
}

/// Logs to stdout when `TEST_LOG` is set.
pub fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        // Kept for the whole test run.
        if let Ok(telemetry) = crate::telemetry::init("test") {
            std::mem::forget(telemetry);
        }
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Random credentials, one per caller: the callers present them, the
/// callees get `digests()`.
#[derive(Debug, Clone)]
pub struct TestCallers {
    auth: Secret,
    mediator: Secret,
}

impl TestCallers {
    pub fn credential(&self, caller: crate::http::Caller) -> &Secret {
        match caller {
            crate::http::Caller::Auth => &self.auth,
            crate::http::Caller::Mediator => &self.mediator,
        }
    }

    /// `caller`'s digest as `sha256sum` prints it, for a callee's
    /// `*_SERVICE_TOKEN_SHA256`.
    pub fn digest_hex(&self, caller: crate::http::Caller) -> String {
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            self.credential(caller).expose().as_bytes(),
        );
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// What a callee keeps of them.
    pub fn digests(&self) -> crate::http::Callers {
        use crate::http::CredentialDigest;
        crate::http::Callers::new(
            CredentialDigest::of(self.auth.expose()),
            CredentialDigest::of(self.mediator.expose()),
        )
    }
}

pub fn callers() -> TestCallers {
    TestCallers {
        auth: Secret::new(random_hex(32)),
        mediator: Secret::new(random_hex(32)),
    }
}

/// A random name that fits every username rule.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", random_hex(5))
}
