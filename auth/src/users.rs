//! The SQL for users.

use common::db::Transaction;
use common::domain::Username;
use tokio_postgres::GenericClient;

/// Inserts a user; `None` if the username is taken.
pub async fn insert(
    tx: &Transaction<'_>,
    username: &Username,
    email: &str,
    password_hash: &str,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "INSERT INTO users (username, email, password_hash) VALUES ($1, $2, $3)
             ON CONFLICT (username) DO NOTHING RETURNING id",
            &[username, &email, &password_hash],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// The user's id and password hash, `None` if there is no such user.
pub async fn credentials(
    db: &impl GenericClient,
    username: &str,
) -> Result<Option<(i64, String)>, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "SELECT id, password_hash FROM users WHERE username = $1",
            &[&username],
        )
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}
