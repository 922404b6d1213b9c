//! `shopctl admin create|revoke|demote NAME`: administrators are made,
//! and sessions ended, by auth itself in its database (there is no API
//! that makes an administrator), so this runs auth's own command, `auth
//! admin ACTION NAME`, which reads `DATABASE_URL` from the environment
//! (and, to create, the password from the standard input).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};

pub fn run(action: &str, name: &str) -> anyhow::Result<()> {
    let auth = auth_binary();
    let status = Command::new(&auth)
        .args(["admin", action, name])
        .status()
        .with_context(|| format!("running {} (set SHOP_AUTH_BIN)", auth.display()))?;
    if !status.success() {
        bail!("auth admin {action} {name} failed ({status})");
    }
    Ok(())
}

/// `SHOP_AUTH_BIN`, else the auth beside this binary, else auth on the PATH.
fn auth_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SHOP_AUTH_BIN") {
        return PathBuf::from(path);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("auth")))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("auth"))
}
