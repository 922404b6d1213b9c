//! The SQL for sessions. A login starts a session (a family of refresh
//! tokens) and each refresh replaces its token with the next one, so the
//! table holds one row per session, whatever the number of refreshes: its
//! current token's `jti`, its `family` id (the first token's `jti`, also
//! carried in every token of the family as the `fam` claim), its owner and
//! its expiry. A token of a live session that is not its current one was
//! spent before: it is taken as stolen and revokes the session, as does a
//! logout. A user keeps at most `max_sessions` live sessions, the oldest
//! revoked first; revoked and expired rows are pruned on a timer (`upkeep`).
//!
//! The table's name, and its `spent` state, come from when it kept a row
//! per token; rows left `spent` by then are read as before.

use std::time::Duration;

use tokio_postgres::GenericClient;

/// Starts the session whose first token is `jti`, and revokes `user_id`'s
/// oldest live sessions past `max_sessions`.
pub async fn start(
    db: &impl GenericClient,
    jti: &str,
    user_id: i64,
    ttl: Duration,
    max_sessions: i64,
) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "INSERT INTO refresh_tokens (jti, family, user_id, state, expires_at)
         VALUES ($1, $1, $2, 'live', now() + make_interval(secs => $3))",
        &[&jti, &user_id, &ttl.as_secs_f64()],
    )
    .await?;
    db.execute(
        "UPDATE refresh_tokens SET state = 'revoked'
         WHERE family IN (
             SELECT family FROM refresh_tokens
             WHERE user_id = $1 AND state = 'live' AND expires_at > now()
             ORDER BY created_at DESC, jti OFFSET $2
         )",
        &[&user_id, &max_sessions],
    )
    .await
    .map(|_| ())
}

/// What presenting a refresh token found.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotated {
    /// It was its session's current token; `next` is now, in `family`.
    Now { family: String },
    /// It had been replaced before: a replay, and its session is revoked.
    Replayed,
    /// Revoked, expired or never issued.
    Invalid,
}

/// Replaces the current token `jti` of a live session with `next`, for
/// another `ttl`. `family` is the presented token's `fam` claim.
pub async fn rotate(
    db: &impl GenericClient,
    jti: &str,
    family: Option<&str>,
    next: &str,
    ttl: Duration,
) -> Result<Rotated, tokio_postgres::Error> {
    let rotated = db
        .query_opt(
            "UPDATE refresh_tokens SET jti = $2, expires_at = now() + make_interval(secs => $3)
             WHERE jti = $1 AND state = 'live' AND expires_at > now()
             RETURNING family",
            &[&jti, &next, &ttl.as_secs_f64()],
        )
        .await?;
    if let Some(row) = rotated {
        return Ok(Rotated::Now { family: row.get(0) });
    }
    // Not the current token. Of a session we know (by its claim, or by a
    // row an older release left `spent`): a replay.
    let replayed_family: Option<String> = match family {
        Some(family) => Some(family.to_owned()),
        None => db
            .query_opt(
                "SELECT family FROM refresh_tokens WHERE jti = $1 AND state = 'spent'",
                &[&jti],
            )
            .await?
            .map(|row| row.get(0)),
    };
    match replayed_family {
        Some(family) if revoke_family(db, &family).await? > 0 => Ok(Rotated::Replayed),
        _ => Ok(Rotated::Invalid),
    }
}

/// Revokes `user_id`'s session that the token `jti` (of `family`, when its
/// claim says) belongs to; `false` if there is no such session of theirs.
pub async fn revoke_session(
    db: &impl GenericClient,
    jti: &str,
    family: Option<&str>,
    user_id: i64,
) -> Result<bool, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "SELECT family FROM refresh_tokens
             WHERE (jti = $1 OR family = $2) AND user_id = $3 LIMIT 1",
            &[&jti, &family, &user_id],
        )
        .await?;
    match row {
        Some(row) => revoke_family(db, row.get(0)).await.map(|_| true),
        None => Ok(false),
    }
}

/// Revokes a session; how many of its rows were not revoked yet.
async fn revoke_family(
    db: &impl GenericClient,
    family: &str,
) -> Result<u64, tokio_postgres::Error> {
    db.execute(
        "UPDATE refresh_tokens SET state = 'revoked' WHERE family = $1 AND state <> 'revoked'",
        &[&family],
    )
    .await
}

/// Revokes every session of `user_id`: each ends at its next refresh (an
/// access token lives on until it expires); how many sessions it ended.
pub async fn revoke_all(
    db: &impl GenericClient,
    user_id: i64,
) -> Result<u64, tokio_postgres::Error> {
    db.execute(
        "UPDATE refresh_tokens SET state = 'revoked'
         WHERE user_id = $1 AND state = 'live' AND expires_at > now()",
        &[&user_id],
    )
    .await
}

/// Whether `jti` is a live session's current token (for verify).
pub async fn is_live(db: &impl GenericClient, jti: &str) -> Result<bool, tokio_postgres::Error> {
    let row = db
        .query_opt(
            "SELECT 1 FROM refresh_tokens WHERE jti = $1 AND state = 'live' AND expires_at > now()",
            &[&jti],
        )
        .await?;
    Ok(row.is_some())
}

/// Deletes revoked sessions and expired rows, at most 1000; how many.
pub async fn prune(db: &impl GenericClient) -> Result<u64, tokio_postgres::Error> {
    db.execute(
        "DELETE FROM refresh_tokens WHERE jti IN (
             SELECT jti FROM refresh_tokens
             WHERE state = 'revoked' OR expires_at < now() LIMIT 1000
         )",
        &[],
    )
    .await
}
