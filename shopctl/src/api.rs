//! The admin API over HTTP or HTTPS, as the administrator `SHOP_USER`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use shop_client::{Admin, Shop};

/// Logs in as the administrator: where the shop is and who asks come from
/// `SHOP_URL` (default the local stack's gateway), `SHOP_USER` (default
/// `admin`) and `SHOP_PASSWORD` (default the local stack's
/// `.stack/admin-password`, when there is one).
pub async fn login() -> anyhow::Result<Admin> {
    let base = env_or("SHOP_URL", "http://127.0.0.1:8080");
    refuse_plain_http_off_this_machine(&base)?;
    let user = env_or("SHOP_USER", "admin");
    let password = match std::env::var("SHOP_PASSWORD") {
        Ok(password) if !password.is_empty() => password,
        _ => stack_password()?,
    };
    let shop = Shop::new(&base)?;
    Admin::login(shop, &user, &password)
        .await
        .with_context(|| format!("logging in as {user}"))
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
