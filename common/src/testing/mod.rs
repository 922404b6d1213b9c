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

/// Random credentials, one per caller.
pub fn callers() -> crate::http::Callers {
    crate::http::Callers::new(Secret::new(random_hex(32)), Secret::new(random_hex(32)))
}

/// A random name that fits every username rule.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", random_hex(5))
}
