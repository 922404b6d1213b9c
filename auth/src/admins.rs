//! Administrators: made only here, never by the API. Two ways in, one
//! statement (`users::make_admin`):
//!
//! - at start, from `ADMIN_USERNAME` and `ADMIN_PASSWORD_FILE` (the chart's
//!   Secret, the local stack's `.stack/admin-password`): created, or its
//!   password set to the file's, so rotating the Secret rotates it;
//! - by hand: `auth admin create NAME`, the password on standard input.
//!
//! A new password ends the administrator's sessions (its refresh tokens
//! are revoked). `auth admin revoke NAME` ends anyone's sessions, and
//! `auth admin demote NAME` makes an administrator a customer again.

use std::io::BufRead;

use anyhow::{bail, Context as _};
use common::config::{self, Secret};
use common::db::DatabaseSettings;
use common::domain::Username;
use common::jwt::Role;
use deadpool_postgres::Pool;

use crate::credentials::{self, Password};
use crate::refresh_tokens;
use crate::users::{self, AdminMade};

/// The administrator to keep at start.
#[derive(Debug, Clone)]
pub struct AdminAccount {
    pub username: Username,
    pub password: Secret,
}

impl AdminAccount {
    /// `ADMIN_USERNAME` and `ADMIN_PASSWORD_FILE`, both or neither.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        let username = config::string("ADMIN_USERNAME", "");
        let file = config::string("ADMIN_PASSWORD_FILE", "");
        match (username.is_empty(), file.is_empty()) {
            (true, true) => Ok(None),
            (false, false) => {
                let username = Username::parse(&username)
                    .map_err(|e| anyhow::anyhow!("ADMIN_USERNAME: {e}"))?;
                let password = config::file("ADMIN_PASSWORD_FILE")?;
                // A trailing newline is the file's, not the password's.
                let password = Secret::new(password.expose().trim_end_matches(['\r', '\n']));
                checked(&password)?;
                Ok(Some(Self { username, password }))
            }
            _ => bail!("set both ADMIN_USERNAME and ADMIN_PASSWORD_FILE, or neither"),
        }
    }
}

/// The sign-up rules hold for administrators too.
fn checked(password: &Secret) -> anyhow::Result<Password> {
    Password::try_from(password.expose().to_owned())
        .map_err(|e| anyhow::anyhow!("the administrator's {e}"))
}

/// Creates the administrator, or sets its password and ends its sessions;
/// leaves it alone when the password is already its own, so a restart of
/// auth (which keeps the configured administrator) signs nobody out.
pub async fn keep(
    pool: &Pool,
    account: &AdminAccount,
    bcrypt_cost: u32,
) -> anyhow::Result<AdminMade> {
    let password = checked(&account.password)?;
    let mut conn = pool.get().await.context("connecting to the database")?;
    let current = users::credentials(&**conn, &account.username)
        .await
        .context("reading the administrator")?;
    if let Some(current) = current.filter(|c| c.role == Role::Admin) {
        let same = credentials::verify(account.password.expose().to_owned(), current.password_hash)
            .await?;
        if same {
            tracing::info!(admin = %account.username, "administrator's password unchanged");
            return Ok(AdminMade::Unchanged);
        }
    }
    let hash = credentials::hash(password.into_inner(), bcrypt_cost).await?;
    let email = format!("{}@admin.invalid", account.username.as_str());
    let tx = conn.transaction().await.context("beginning")?;
    let made = users::make_admin(&*tx, &account.username, &email, &hash)
        .await
        .context("making the administrator")?;
    tx.commit().await.context("committing the administrator")?;
    match made {
        AdminMade::Created => tracing::info!(admin = %account.username, "administrator created"),
        AdminMade::PasswordChanged { sessions_ended } => {
            tracing::info!(admin = %account.username, sessions_ended, "administrator's password set, its sessions ended")
        }
        AdminMade::Unchanged => {}
        AdminMade::NameTakenByCustomer => bail!(
            "{} is a customer's username: choose another name for the administrator",
            account.username.as_str()
        ),
    }
    Ok(made)
}

const USAGE: &str = "usage: auth admin create NAME  (the password on standard input)
       auth admin revoke NAME  (ends every session of NAME)
       auth admin demote NAME  (the administrator NAME becomes a customer; its sessions end)";

/// `auth admin create|revoke|demote NAME`, on `DATABASE_URL`'s database;
/// create reads the password from the first line of standard input and
/// hashes it with `BCRYPT_COST`.
pub async fn command(args: &[String]) -> anyhow::Result<()> {
    let [action, name] = args else {
        bail!("{USAGE}");
    };
    let username = Username::parse(name).map_err(|e| anyhow::anyhow!("NAME: {e}"))?;
    let connect = || async {
        let database = DatabaseSettings::from_env("auth")?;
        common::db::connect(&database, crate::migrations).await
    };
    match action.as_str() {
        "create" => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let account = AdminAccount {
                username,
                password: Secret::new(line.trim_end_matches(['\r', '\n'])),
            };
            let pool = connect().await?;
            let made = keep(&pool, &account, config::parsed("BCRYPT_COST", 10)?).await?;
            match made {
                AdminMade::Created => println!("created the administrator {name}"),
                AdminMade::PasswordChanged { sessions_ended } => println!(
                    "set the password of the administrator {name}; ended its sessions ({sessions_ended} refresh tokens revoked)"
                ),
                _ => println!(
                    "the administrator {name} already has this password: nothing changed (auth admin revoke {name} ends its sessions)"
                ),
            }
        }
        "revoke" => {
            let pool = connect().await?;
            let conn = pool.get().await.context("connecting to the database")?;
            let Some(id) = users::id_of(&**conn, &username).await? else {
                bail!("there is no user {name}");
            };
            let ended = refresh_tokens::revoke_all(&**conn, id).await?;
            println!("ended the sessions of {name} ({ended} refresh tokens revoked; an access token already given lives until it expires)");
        }
        "demote" => {
            let pool = connect().await?;
            let mut conn = pool.get().await.context("connecting to the database")?;
            let tx = conn.transaction().await?;
            let Some(id) = users::demote(&*tx, &username).await? else {
                bail!("{name} is not an administrator");
            };
            let ended = refresh_tokens::revoke_all(&*tx, id).await?;
            tx.commit().await?;
            println!("{name} is a customer now; ended its sessions ({ended} refresh tokens revoked; an access token already given lives until it expires)");
        }
        other => bail!("unknown command `admin {other}`\n{USAGE}"),
    }
    Ok(())
}
