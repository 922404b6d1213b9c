//! Settings come from environment variables with local defaults; each service
//! declares its own typed `Settings` from these helpers and validates them at
//! start, so a misconfiguration stops the process with a message that says
//! what to set.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{anyhow, Context};

/// The value of `key`, or `default` when it is unset or empty.
pub fn string(key: &str, default: &str) -> String {
    match std::env::var(key) {
        Ok(value) if !value.trim().is_empty() => value,
        _ => default.to_owned(),
    }
}

/// The value of `key`, which must be set.
pub fn required(key: &str) -> anyhow::Result<String> {
    match std::env::var(key) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(anyhow!("{key} must be set")),
    }
}

/// `key` parsed as `T`, or `default` when unset; a value that does not parse
/// is an error naming the variable.
pub fn parsed<T>(key: &str, default: T) -> anyhow::Result<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match std::env::var(key) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse()
            .map_err(|e| anyhow!("{key}={value:?} is not valid: {e}")),
        _ => Ok(default),
    }
}

/// A duration given in milliseconds by `key`.
pub fn millis(key: &str, default: Duration) -> anyhow::Result<Duration> {
    let ms = parsed(key, default.as_millis() as u64)?;
    Ok(Duration::from_millis(ms))
}

/// The contents of the file named by `key` (secrets are mounted as files).
pub fn file(key: &str) -> anyhow::Result<Secret> {
    let path = required(key)?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {key}={path}"))?;
    Ok(Secret::new(text))
}

/// A value that must never reach a log: its `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where a service listens, and how long it waits for a client:
/// `HTTP_HOST` (default 127.0.0.1), `HTTP_PORT`, `HTTP_HEADER_TIMEOUT_MS`
/// (default 10000: a request's headers must arrive within it) and
/// `HTTP_REQUEST_TIMEOUT_MS` (default 30000: the whole request, body and
/// answer, must be done within it, else 408), so a slow client cannot hold
/// a connection for ever.
#[derive(Debug, Clone)]
pub struct Listen {
    pub addr: SocketAddr,
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    /// `SHUTDOWN_DELAY_MS` (default 0): after SIGTERM, how long the server
    /// goes on accepting while `/ready` answers 503, so that a proxy that
    /// polls readiness stops sending before the port closes. Kubernetes
    /// gets the same from the chart's preStop pause.
    pub shutdown_delay: Duration,
}

impl Listen {
    const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

    pub fn from_env(default_port: u16) -> anyhow::Result<Self> {
        let host: IpAddr = parsed("HTTP_HOST", IpAddr::from([127, 0, 0, 1]))?;
        let port: u16 = parsed("HTTP_PORT", default_port)?;
        let listen = Self {
            addr: SocketAddr::new(host, port),
            header_timeout: millis("HTTP_HEADER_TIMEOUT_MS", Self::HEADER_TIMEOUT)?,
            request_timeout: millis("HTTP_REQUEST_TIMEOUT_MS", Self::REQUEST_TIMEOUT)?,
            shutdown_delay: millis("SHUTDOWN_DELAY_MS", Duration::ZERO)?,
        };
        anyhow::ensure!(
            !listen.header_timeout.is_zero() && !listen.request_timeout.is_zero(),
            "HTTP_HEADER_TIMEOUT_MS and HTTP_REQUEST_TIMEOUT_MS must be positive"
        );
        Ok(listen)
    }

    /// Any free port on loopback, for tests.
    pub fn ephemeral() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            header_timeout: Self::HEADER_TIMEOUT,
            request_timeout: Self::REQUEST_TIMEOUT,
            shutdown_delay: Duration::ZERO,
        }
    }
}

/// A service credential from `var`: required, at least 16 characters.
pub fn credential(var: &str) -> anyhow::Result<Secret> {
    let token = required(var)?;
    if token.len() < 16 {
        return Err(anyhow!(
            "{var} must be at least 16 characters (e.g. `openssl rand -hex 32`)"
        ));
    }
    Ok(Secret::new(token))
}
