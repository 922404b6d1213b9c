//! The SQL for users. A user is inserted `pending`, before billing is asked
//! for the wallet, and made `active` once billing has it; no transaction is
//! held across that call.

use common::domain::Username;
use common::jwt::Role;
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

/// What login needs of an active user.
pub struct Credentials {
    pub id: i64,
    pub password_hash: String,
    pub role: Role,
}

/// The active user's credentials, `None` if there is no such user.
pub async fn credentials(
    db: &impl GenericClient,
    username: &Username,
) -> Result<Option<Credentials>, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "SELECT id, password_hash, role FROM users WHERE username = $1 AND state = 'active'",
            &[username],
        )
        .await?;
    Ok(row.map(|r| Credentials {
        id: r.get(0),
        password_hash: r.get(1),
        role: role_of(r.get(2)),
    }))
}

/// The role of the active user `id` now; `None` if there is none.
pub async fn role(db: &impl GenericClient, id: i64) -> Result<Option<Role>, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "SELECT role FROM users WHERE id = $1 AND state = 'active'",
            &[&id],
        )
        .await?;
    Ok(row.map(|r| role_of(r.get(0))))
}

/// The table's CHECK admits only the two names; anything else would get
/// the lesser role.
fn role_of(name: &str) -> Role {
    Role::parse(name).unwrap_or(Role::Customer)
}

/// What `make_admin` did.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminMade {
    Created,
    /// An administrator of that name existed: its password is the new one,
    /// and the sessions it had are ended.
    PasswordChanged {
        sessions_ended: u64,
    },
    /// An administrator of that name already has this password: nothing
    /// changed, its sessions go on.
    Unchanged,
    /// A customer has that name: nothing changed, since promoting them
    /// would give their orders and wallet to whoever holds the password.
    NameTakenByCustomer,
}

/// Makes `username` an active administrator with this password hash.
pub async fn make_admin(
    db: &impl GenericClient,
    username: &Username,
    email: &str,
    password_hash: &str,
) -> Result<AdminMade, tokio_postgres::Error> {
    // xmax is 0 on a row this statement inserted, not on one it updated.
    let row = db
        .query_opt(
            "INSERT INTO users (username, email, password_hash, state, role)
             VALUES ($1, $2, $3, 'active', 'admin')
             ON CONFLICT (username) DO UPDATE
                 SET password_hash = EXCLUDED.password_hash, state = 'active'
                 WHERE users.role = 'admin'
             RETURNING xmax = 0, id",
            &[username, &email, &password_hash],
        )
        .await?;
    Ok(match row {
        Some(row) if row.get::<_, bool>(0) => AdminMade::Created,
        Some(row) => AdminMade::PasswordChanged {
            sessions_ended: crate::refresh_tokens::revoke_all(db, row.get(1)).await?,
        },
        None => AdminMade::NameTakenByCustomer,
    })
}

/// Turns the administrator `username` into a customer; its id, or `None`
/// if there is no administrator of that name.
pub async fn demote(
    db: &impl GenericClient,
    username: &Username,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "UPDATE users SET role = 'customer' WHERE username = $1 AND role = 'admin' RETURNING id",
            &[username],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// The id of the user `username`, whatever its state.
pub async fn id_of(
    db: &impl GenericClient,
    username: &Username,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let row = db
        .query_opt("SELECT id FROM users WHERE username = $1", &[username])
        .await?;
    Ok(row.map(|r| r.get(0)))
}
