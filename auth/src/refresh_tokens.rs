//! The SQL for refresh tokens: each issued token is a row keyed by its
//! `jti`, in a family that starts at login. Refreshing spends a live token
//! and issues the next one of its family; a spent token presented again is
//! taken as stolen and revokes the family; logout revokes it too.

use std::time::Duration;

use tokio_postgres::GenericClient;

/// Records a new live token of `family` (a login's first token is its own family).
pub async fn insert(
    db: &impl GenericClient,
    jti: &str,
    family: &str,
    user_id: i64,
    ttl: Duration,
) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "INSERT INTO refresh_tokens (jti, family, user_id, state, expires_at)
         VALUES ($1, $2, $3, 'live', now() + make_interval(secs => $4))",
        &[&jti, &family, &user_id, &ttl.as_secs_f64()],
    )
    .await
    .map(|_| ())
}

/// What spending a token found.
#[derive(Debug, PartialEq, Eq)]
pub enum Spent {
    /// It was live and is spent now: issue the next one of `family`.
    Now { family: String },
    /// It had been spent before: a replay, and its family is now revoked.
    Replayed,
    /// Revoked, expired or never issued.
    Invalid,
}

/// Spends the live token `jti`; a replay of a spent one revokes its family.
pub async fn spend(db: &impl GenericClient, jti: &str) -> Result<Spent, tokio_postgres::Error> {
    let spent = db
        .query_opt(
            "UPDATE refresh_tokens SET state = 'spent'
             WHERE jti = $1 AND state = 'live' AND expires_at > now()
             RETURNING family",
            &[&jti],
        )
        .await?;
    if let Some(row) = spent {
        return Ok(Spent::Now { family: row.get(0) });
    }
    let replayed = db
        .query_opt(
            "SELECT family FROM refresh_tokens WHERE jti = $1 AND state = 'spent'",
            &[&jti],
        )
        .await?;
    match replayed {
        Some(row) => {
            revoke_family(db, row.get(0)).await?;
            Ok(Spent::Replayed)
        }
        None => Ok(Spent::Invalid),
    }
}

/// Revokes the family that `jti` belongs to, if `jti` is `user_id`'s;
/// `false` if it is not (or no such token was issued).
pub async fn revoke_family_of(
    db: &impl GenericClient,
    jti: &str,
    user_id: i64,
) -> Result<bool, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "SELECT family FROM refresh_tokens WHERE jti = $1 AND user_id = $2",
            &[&jti, &user_id],
        )
        .await?;
    match row {
        Some(row) => revoke_family(db, row.get(0)).await.map(|()| true),
        None => Ok(false),
    }
}

async fn revoke_family(db: &impl GenericClient, family: &str) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "UPDATE refresh_tokens SET state = 'revoked' WHERE family = $1 AND state <> 'revoked'",
        &[&family],
    )
    .await
    .map(|_| ())
}

/// Revokes every token of `user_id`: each of its sessions ends at its next
/// refresh (an access token lives on until it expires); how many it revoked.
pub async fn revoke_all(
    db: &impl GenericClient,
    user_id: i64,
) -> Result<u64, tokio_postgres::Error> {
    db.execute(
        "UPDATE refresh_tokens SET state = 'revoked'
         WHERE user_id = $1 AND state <> 'revoked' AND expires_at > now()",
        &[&user_id],
    )
    .await
}

/// Whether `jti` is a live token (for verify).
pub async fn is_live(db: &impl GenericClient, jti: &str) -> Result<bool, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "SELECT 1 FROM refresh_tokens WHERE jti = $1 AND state = 'live' AND expires_at > now()",
            &[&jti],
        )
        .await?;
    Ok(row.is_some())
}

/// Deletes tokens that expired a day ago or more, a bounded number a call.
pub async fn prune(db: &impl GenericClient) -> Result<u64, tokio_postgres::Error> {
    db.execute(
        "DELETE FROM refresh_tokens WHERE jti IN (
             SELECT jti FROM refresh_tokens WHERE expires_at < now() - interval '1 day' LIMIT 1000
         )",
        &[],
    )
    .await
}
