//! Administrators: made only here, never by the API. Two ways in, one
//! statement (`users::make_admin`):
//!
//! - at start, from `ADMIN_USERNAME` and `ADMIN_PASSWORD_FILE` (the chart's
//!   Secret, the local stack's `.stack/admin-password`): created, or its
//!   password set to the file's, so rotating the Secret rotates it;
//! - by hand: `auth admin create NAME`, the password on standard input.

use std::io::BufRead;

use anyhow::{bail, Context as _};
use common::config::{self, Secret};
use common::db::DatabaseSettings;
use common::domain::Username;
use deadpool_postgres::Pool;

use crate::credentials::{self, Password};
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

/// Creates the administrator or sets its password.
pub async fn keep(
    pool: &Pool,
    account: &AdminAccount,
    bcrypt_cost: u32,
) -> anyhow::Result<AdminMade> {
    let password = checked(&account.password)?;
    let hash = credentials::hash(password.into_inner(), bcrypt_cost).await?;
    let conn = pool.get().await.context("connecting to the database")?;
    let email = format!("{}@admin.invalid", account.username.as_str());
    let made = users::make_admin(&**conn, &account.username, &email, &hash)
        .await
        .context("making the administrator")?;
    match made {
        AdminMade::Created => tracing::info!(admin = %account.username, "administrator created"),
        AdminMade::PasswordChanged => {
            tracing::info!(admin = %account.username, "administrator's password set")
        }
        AdminMade::NameTakenByCustomer => bail!(
            "{} is a customer's username: choose another name for the administrator",
            account.username.as_str()
        ),
    }
    Ok(made)
}

/// `auth admin create NAME`: the password is the first line of standard
/// input. The database is `DATABASE_URL`'s, bcrypt's cost `BCRYPT_COST`.
pub async fn command(args: &[String]) -> anyhow::Result<()> {
    let [action, name] = args else {
        bail!("usage: auth admin create NAME  (the password on standard input)");
    };
    if action != "create" {
        bail!("unknown command `admin {action}`: the only one is `admin create NAME`");
    }
    let username = Username::parse(name).map_err(|e| anyhow::anyhow!("NAME: {e}"))?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let account = AdminAccount {
        username,
        password: Secret::new(line.trim_end_matches(['\r', '\n'])),
    };
    let database = DatabaseSettings::from_env("auth")?;
    let pool = common::db::connect(&database, crate::migrations).await?;
    let made = keep(&pool, &account, config::parsed("BCRYPT_COST", 10)?).await?;
    let name = account.username.as_str();
    match made {
        AdminMade::Created => println!("created the administrator {name}"),
        _ => println!("set the password of the administrator {name}"),
    }
    Ok(())
}
