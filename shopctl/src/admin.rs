//! `shopctl admin create NAME`: administrators are made by auth itself, in
//! its database (there is no API that makes one), so this runs auth's own
//! command, `auth admin create NAME`, which reads the password from the
//! standard input and `DATABASE_URL` from the environment.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};

pub fn create(name: &str) -> anyhow::Result<()> {
    let auth = auth_binary();
    let status = Command::new(&auth)
        .args(["admin", "create", name])
        .status()
        .with_context(|| format!("running {} (set SHOP_AUTH_BIN)", auth.display()))?;
    if !status.success() {
        bail!("auth admin create {name} failed ({status})");
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
