//! Where the queue's Redis is, and how to trust it: `REDIS_URL` and
//! `REDIS_CA_FILE`.

use std::path::PathBuf;

use anyhow::Context;
use common::config::{self, Secret};
use redis::{Client, TlsCertificates};

#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `REDIS_URL` (default the local stack's Redis). `rediss://` is TLS,
    /// with the server's certificate and host name checked.
    pub url: Secret,
    /// `REDIS_CA_FILE`: the PEM file of the CA that signed the server's
    /// certificate. Unset: the system's trusted roots.
    pub ca_file: Option<PathBuf>,
}

impl RedisSettings {
    pub fn from_env() -> Self {
        let ca_file = config::string("REDIS_CA_FILE", "");
        Self {
            url: Secret::new(config::string("REDIS_URL", "redis://127.0.0.1:56379")),
            ca_file: (!ca_file.is_empty()).then(|| PathBuf::from(ca_file)),
        }
    }

    /// A URL and the system's roots: what the tests use.
    pub fn new(url: &str) -> Self {
        Self {
            url: Secret::new(url),
            ca_file: None,
        }
    }

    /// A client for these settings; it connects only when asked to.
    pub fn client(&self) -> anyhow::Result<Client> {
        let url = self.url.expose();
        let Some(path) = &self.ca_file else {
            return Client::open(url).context("REDIS_URL is not a usable Redis URL");
        };
        let root_cert = std::fs::read(path)
            .with_context(|| format!("reading REDIS_CA_FILE {}", path.display()))?;
        let certificates = TlsCertificates {
            client_tls: None,
            root_cert: Some(root_cert),
        };
        Client::build_with_tls(url, certificates).with_context(|| {
            format!(
                "REDIS_URL with the CA of REDIS_CA_FILE {} (a rediss:// URL and a PEM CA)",
                path.display()
            )
        })
    }
}
