//! The SQL for users. A user is inserted `pending`, before billing is asked
//! for the wallet, and made `active` once billing has it; no transaction is
//! held across that call.

use common::domain::Username;
use time::OffsetDateTime;
use tokio_postgres::GenericClient;

/// What the table holds for a username.
pub enum Existing {
    Active,
    /// A sign-up that has not finished, or failed half-way.
    Pending {
        id: i64,
        since: OffsetDateTime,
    },
}

/// The state of `username`'s row, `None` if there is none.
pub async fn find(
    db: &impl GenericClient,
    username: &Username,
) -> Result<Option<Existing>, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "SELECT id, state, created_at FROM users WHERE username = $1",
            &[username],
        )
        .await?;
    Ok(row.map(|row| match row.get::<_, &str>(1) {
        "active" => Existing::Active,
        _ => Existing::Pending {
            id: row.get(0),
            since: row.get(2),
        },
    }))
}

/// Inserts a pending user; `None` if the username is taken.
pub async fn insert_pending(
    db: &impl GenericClient,
    username: &Username,
    email: &str,
    password_hash: &str,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "INSERT INTO users (username, email, password_hash, state)
             VALUES ($1, $2, $3, 'pending')
             ON CONFLICT (username) DO NOTHING RETURNING id",
            &[username, &email, &password_hash],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Makes the pending user `id` active.
pub async fn activate(db: &impl GenericClient, id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "UPDATE users SET state = 'active' WHERE id = $1 AND state = 'pending'",
        &[&id],
    )
    .await
    .map(|_| ())
}

/// Removes the pending user `id` (never an active one).
pub async fn remove_pending(db: &impl GenericClient, id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "DELETE FROM users WHERE id = $1 AND state = 'pending'",
        &[&id],
    )
    .await
    .map(|_| ())
}

/// The active user's id and password hash, `None` if there is no such user.
pub async fn credentials(
    db: &impl GenericClient,
    username: &Username,
) -> Result<Option<(i64, String)>, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "SELECT id, password_hash FROM users WHERE username = $1 AND state = 'active'",
            &[username],
        )
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}
