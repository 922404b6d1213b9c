//! The admin API over HTTP or HTTPS, as the administrator `SHOP_USER`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

/// Where the shop is and who asks: `SHOP_URL` (default the local stack's
/// gateway), `SHOP_USER` (default `admin`) and `SHOP_PASSWORD` (default the
/// local stack's `.stack/admin-password`, when there is one).
pub struct Api {
    base: String,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    token: String,
}

impl Api {
    /// Logs in as the administrator.
    pub async fn login() -> anyhow::Result<Self> {
        let base = env_or("SHOP_URL", "http://127.0.0.1:8080");
        refuse_plain_http_off_this_machine(&base)?;
        let user = env_or("SHOP_USER", "admin");
        let password = match std::env::var("SHOP_PASSWORD") {
            Ok(password) if !password.is_empty() => password,
            _ => stack_password()?,
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .context("loading the system's trusted certificates")?
            .https_or_http()
            .enable_http1()
            .build();
        let mut api = Self {
            base: base.trim_end_matches('/').to_owned(),
            http: Client::builder(TokioExecutor::new()).build(connector),
            token: String::new(),
        };
        let login = json!({"username": user, "password": password});
        let answer = api
            .call(Method::POST, "/api/token/", Some(&login))
            .await
            .with_context(|| format!("logging in as {user}"))?;
        api.token = answer["access"]
            .as_str()
            .context("the login answered no access token")?
            .to_owned();
        Ok(api)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str) -> anyhow::Result<Value> {
        self.call(Method::POST, path, None).await
    }

    /// One request; the JSON answer, or the API's error as the message.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = Request::builder().method(method).uri(&url);
        if !self.token.is_empty() {
            request = request.header("authorization", format!("Bearer {}", self.token));
        }
        let bytes = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Bytes::from(serde_json::to_vec(body)?)
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(bytes))
            .with_context(|| format!("{url} is not a usable URL (SHOP_URL)"))?;
        let response = self
            .http
            .request(request)
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .with_context(|| format!("reading the answer of {url}"))?
            .to_bytes();
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            let error = answer["error"].as_str().unwrap_or("no error message");
            bail!("{} {url}: {error}", status.as_u16());
        }
        Ok(answer)
    }
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The local stack's administrator password: `$STACK_DIR/admin-password`,
/// `.stack/admin-password` here, or beside the build this binary came from.
fn stack_password() -> anyhow::Result<String> {
    let mut candidates = Vec::new();
    if let Ok(dir) = std::env::var("STACK_DIR") {
        candidates.push(PathBuf::from(dir).join("admin-password"));
    }
    candidates.push(PathBuf::from(".stack/admin-password"));
    if let Ok(exe) = std::env::current_exe() {
        // target/release/shopctl -> the repository's .stack/
        if let Some(repo) = exe.ancestors().nth(3) {
            candidates.push(repo.join(".stack/admin-password"));
        }
    }
    let found = candidates.iter().find(|path| path.is_file());
    let Some(path) = found else {
        bail!("set SHOP_PASSWORD (no local stack's .stack/admin-password found)");
    };
    let password =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(password.trim_end().to_owned())
}

/// The administrator's password goes over this URL: plain `http://` only to
/// this machine (a port-forward, the local gateway), else `https://`.
fn refuse_plain_http_off_this_machine(base: &str) -> anyhow::Result<()> {
    let Some(rest) = base.strip_prefix("http://") else {
        if base.starts_with("https://") {
            return Ok(());
        }
        bail!("SHOP_URL must start with https:// (or http:// to this machine): {base}");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!(
            "SHOP_URL {base} is plain http:// to another machine: the administrator's password \
             would cross the network in clear; use https://, or a port-forward to 127.0.0.1"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::refuse_plain_http_off_this_machine as check;

    #[test]
    fn plain_http_only_to_this_machine() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost/",
            "http://[::1]:8080/x",
            "http://127.0.0.2",
            "https://shop.example.com",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://shop.example.com",
            "http://10.0.0.5:8080",
            "http://127.0.0.1.evil.example",
            "ftp://127.0.0.1",
        ] {
            assert!(check(refused).is_err(), "{refused}");
        }
    }
}
