//! Where the queue's Redis is, and how to trust it: `REDIS_URL` and
//! `REDIS_CA_FILE`.
//!
//! `REDIS_URL` names one server (`redis://[user:password@]host:port`,
//! `rediss://` for TLS) or a Redis Cluster by some of its nodes:
//! `redis+cluster://[user:password@]host1:port1,host2:port2,...`
//! (`rediss+cluster://` for TLS). The cluster client learns the other
//! nodes and the slots from any node it reaches, so the list only needs
//! one live node at start; naming them all survives losing any.

use std::path::PathBuf;

use anyhow::{bail, Context};
use common::config::{self, Secret};
use redis::{Client, TlsCertificates};

use crate::connection::Redis;

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
    pub fn client(&self) -> anyhow::Result<Redis> {
        let url = self.url.expose();
        let certificates = self.certificates()?;
        if let Some(nodes) = cluster_nodes(url)? {
            return Redis::cluster(nodes, certificates)
                .context("REDIS_URL names a cluster the client cannot use");
        }
        let client = match certificates {
            None => Client::open(url).context("REDIS_URL is not a usable Redis URL")?,
            Some(certificates) => Client::build_with_tls(url, certificates)
                .context("REDIS_URL with the CA of REDIS_CA_FILE (a rediss:// URL and a PEM CA)")?,
        };
        Ok(Redis::Server(client))
    }

    fn certificates(&self) -> anyhow::Result<Option<TlsCertificates>> {
        let Some(path) = &self.ca_file else {
            return Ok(None);
        };
        let root_cert = std::fs::read(path)
            .with_context(|| format!("reading REDIS_CA_FILE {}", path.display()))?;
        Ok(Some(TlsCertificates {
            client_tls: None,
            root_cert: Some(root_cert),
        }))
    }
}

/// The node URLs of a `redis+cluster://` or `rediss+cluster://` URL, each
/// with the URL's credentials; `None` for any other URL.
fn cluster_nodes(url: &str) -> anyhow::Result<Option<Vec<String>>> {
    let (scheme, rest) = match url.split_once("://") {
        Some(("redis+cluster", rest)) => ("redis", rest),
        Some(("rediss+cluster", rest)) => ("rediss", rest),
        _ => return Ok(None),
    };
    let rest = rest.trim_end_matches('/');
    let (credentials, hosts) = match rest.rsplit_once('@') {
        Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
        None => (String::new(), rest),
    };
    if hosts.contains('/') || hosts.contains('?') {
        bail!("REDIS_URL: a cluster URL names nodes only (no database, no options): {scheme}+cluster://[user:password@]host:port,host:port");
    }
    let nodes: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|host| !host.is_empty())
        .map(|host| format!("{scheme}://{credentials}{host}"))
        .collect();
    if nodes.is_empty() {
        bail!("REDIS_URL: a cluster URL names at least one node: {scheme}+cluster://host:port,host:port");
    }
    Ok(Some(nodes))
}

#[cfg(test)]
mod tests {
    use super::cluster_nodes;

    #[test]
    fn a_cluster_url_gives_each_node_the_credentials() {
        let nodes = cluster_nodes("rediss+cluster://:secret@a:1,b:2/").unwrap();
        assert_eq!(
            nodes,
            Some(vec![
                "rediss://:secret@a:1".to_owned(),
                "rediss://:secret@b:2".to_owned()
            ])
        );
        assert_eq!(cluster_nodes("redis://a:1").unwrap(), None);
    }

    #[test]
    fn a_cluster_url_without_nodes_or_with_a_database_is_refused() {
        assert!(cluster_nodes("redis+cluster://").is_err());
        assert!(cluster_nodes("redis+cluster://a:1/2").is_err());
    }
}
