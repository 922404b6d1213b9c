//! The SQL for accounts and deposits.

use common::db::Transaction;
use common::domain::Username;
use rust_decimal::Decimal;
use serde::Serialize;
use tokio_postgres::{GenericClient, Row};

/// An account as users see it.
#[derive(Debug, Serialize)]
pub struct Account {
    pub username: String,
    pub email: String,
    #[serde(serialize_with = "common::money::serialize_decimal")]
    pub wallet: Decimal,
}

impl From<Row> for Account {
    fn from(row: Row) -> Self {
        Self {
            username: row.get("username"),
            email: row.get("email"),
            wallet: row.get("wallet"),
        }
    }
}

/// The owner's account, `None` if it does not exist.
pub async fn find(
    db: &impl GenericClient,
    owner: &str,
) -> Result<Option<Account>, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "SELECT username, email, wallet FROM accounts WHERE username = $1",
            &[&owner],
        )
        .await?;
    Ok(row.map(Account::from))
}

/// Opens an account with `opening` in the wallet, recorded as a deposit.
/// `Ok(false)` if the user already has one (the call is idempotent).
pub async fn open(
    tx: &Transaction<'_>,
    username: &Username,
    email: &str,
    opening: Decimal,
) -> Result<bool, tokio_postgres::Error> {
    let inserted = tx
        .execute(
            "INSERT INTO accounts (username, email, wallet) VALUES ($1, $2, $3)
             ON CONFLICT (username) DO NOTHING",
            &[&username.as_str(), &email, &opening],
        )
        .await?
        == 1;
    if inserted {
        record_deposit(tx, username.as_str(), opening).await?;
    }
    Ok(inserted)
}

/// Adds `amount` to the owner's wallet; `None` if there is no such account.
pub async fn deposit(
    tx: &Transaction<'_>,
    owner: &str,
    amount: Decimal,
) -> Result<Option<Account>, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "UPDATE accounts SET wallet = wallet + $2 WHERE username = $1
             RETURNING username, email, wallet",
            &[&owner, &amount],
        )
        .await?;
    if row.is_some() {
        record_deposit(tx, owner, amount).await?;
    }
    Ok(row.map(Account::from))
}

async fn record_deposit(
    tx: &Transaction<'_>,
    username: &str,
    amount: Decimal,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO deposits (username, amount) VALUES ($1, $2)",
        &[&username, &amount],
    )
    .await
    .map(|_| ())
}
