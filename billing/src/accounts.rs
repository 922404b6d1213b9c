//! The SQL for accounts and deposits.

use common::db::Transaction;
use common::domain::Username;
use common::http::IdempotencyKey;
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

/// What opening an account did.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    Created,
    /// The user already had it: the call is idempotent.
    Existing,
    /// The name's account belongs to another user id.
    OtherOwner,
}

/// Opens `user_id`'s account with `opening` in the wallet, recorded as a deposit.
pub async fn open(
    tx: &Transaction<'_>,
    username: &Username,
    email: &str,
    user_id: i64,
    opening: Decimal,
) -> Result<Opened, tokio_postgres::Error> {
    let inserted = tx
        .execute(
            "INSERT INTO accounts (username, email, wallet, user_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (username) DO NOTHING",
            &[&username.as_str(), &email, &opening, &user_id],
        )
        .await?
        == 1;
    if inserted {
        record_deposit(tx, username.as_str(), opening).await?;
        return Ok(Opened::Created);
    }
    let owner = tx
        .query_opt(
            "SELECT user_id FROM accounts WHERE username = $1",
            &[&username.as_str()],
        )
        .await?
        .and_then(|row| row.get::<_, Option<i64>>(0));
    Ok(if owner == Some(user_id) {
        Opened::Existing
    } else {
        Opened::OtherOwner
    })
}

/// Closes `user_id`'s account of `username` if it was never used (no
/// reservation, no deposit but the opening one); `false` if there was
/// nothing of that user's to close.
pub async fn close_unused(
    tx: &Transaction<'_>,
    username: &Username,
    user_id: i64,
) -> Result<bool, tokio_postgres::Error> {
    let unused = tx
        .query_opt(
            "SELECT 1 FROM accounts a
             WHERE a.username = $1 AND a.user_id = $2
               AND NOT EXISTS (SELECT FROM reservations r WHERE r.username = a.username)
               AND (SELECT count(*) FROM deposits d WHERE d.username = a.username) <= 1
             FOR UPDATE",
            &[&username.as_str(), &user_id],
        )
        .await?;
    if unused.is_none() {
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM deposits WHERE username = $1",
        &[&username.as_str()],
    )
    .await?;
    tx.execute(
        "DELETE FROM accounts WHERE username = $1",
        &[&username.as_str()],
    )
    .await?;
    Ok(true)
}

/// What a deposit did.
#[derive(Debug)]
pub enum Deposited {
    /// Credited; the account as it is now.
    Credited(Account),
    /// The key was used before for this amount: nothing credited, the
    /// account as that deposit left it.
    Replayed(Account),
    /// The key was used before for another amount.
    KeyReused,
    /// The wallet plus the money held for unfinished orders would pass the
    /// ceiling: nothing credited.
    OverCeiling,
    NoAccount,
}

/// Adds `amount` to the owner's wallet, once per idempotency key, as long
/// as the wallet plus the money held for unfinished orders stays within
/// `ceiling`.
pub async fn deposit(
    tx: &Transaction<'_>,
    owner: &str,
    amount: Decimal,
    key: Option<&IdempotencyKey>,
    ceiling: Decimal,
) -> Result<Deposited, tokio_postgres::Error> {
    // The account's row lock orders deposits of one user, so a repeat of a
    // key waits for the first and then finds it; reserves and refunds take
    // it too, and they move money between wallet and held, not the sum.
    // The lock comes first and the sum in a statement of its own: a
    // statement that waited for the lock re-reads the locked row but reads
    // every other table from the snapshot it started with, so a reservation
    // committed meanwhile would have left the wallet and not yet be held.
    let locked = tx
        .query_opt(
            "SELECT 1 FROM accounts WHERE username = $1 FOR UPDATE",
            &[&owner],
        )
        .await?;
    if locked.is_none() {
        return Ok(Deposited::NoAccount);
    }
    let locked = tx
        .query_one(
            "SELECT a.wallet + coalesce(
                 (SELECT sum(r.amount) FROM reservations r
                  WHERE r.username = a.username AND r.state = 'granted'), 0)
             FROM accounts a WHERE a.username = $1",
            &[&owner],
        )
        .await?;
    let wallet_and_held: Decimal = locked.get(0);
    if let Some(key) = key {
        let earlier = tx
            .query_opt(
                "SELECT d.amount, a.username, a.email, d.wallet_after AS wallet
                 FROM deposits d JOIN accounts a USING (username)
                 WHERE d.username = $1 AND d.idempotency_key = $2",
                &[&owner, key],
            )
            .await?;
        if let Some(row) = earlier {
            if row.get::<_, Decimal>("amount") != amount {
                return Ok(Deposited::KeyReused);
            }
            return Ok(Deposited::Replayed(Account::from(row)));
        }
    }
    if wallet_and_held + amount > ceiling {
        return Ok(Deposited::OverCeiling);
    }
    let row = tx
        .query_one(
            "UPDATE accounts SET wallet = wallet + $2 WHERE username = $1
             RETURNING username, email, wallet",
            &[&owner, &amount],
        )
        .await?;
    let account = Account::from(row);
    tx.execute(
        "INSERT INTO deposits (username, amount, idempotency_key, wallet_after)
         VALUES ($1, $2, $3, $4)",
        &[&owner, &amount, &key, &account.wallet],
    )
    .await?;
    Ok(Deposited::Credited(account))
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
