//! Login throttling. Failed logins are counted over a sliding window, per
//! username and per client address: past `per_username` failures for one
//! name, that name is refused (its right password too) until the window
//! has passed; past the higher `per_address` failures from one address,
//! that address is refused for every name, so guessing across many names
//! is slowed too without locking out the others behind the same address.
//! The counts live in PostgreSQL, so every replica of auth sees them.
//!
//! The check comes before the password is hashed and the failure is
//! recorded after, so a burst of concurrent attempts may pass the limit by
//! the number of attempts in flight; no more.

use std::net::IpAddr;
use std::time::Duration;

use common::domain::Username;
use tokio_postgres::GenericClient;

/// `LOGIN_FAILURES_PER_USERNAME` (default 10), `LOGIN_FAILURES_PER_ADDRESS`
/// (default 100) within `LOGIN_WINDOW_SECS` (default 60).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_username: i64,
    pub per_address: i64,
    pub window: Duration,
}

/// Whether a login may be tried now.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Refused until `retry_after` has passed.
    Throttled {
        retry_after: Duration,
    },
}

/// Checks `username` and `address` against `limits`.
pub async fn check(
    db: &impl GenericClient,
    limits: &Limits,
    username: &Username,
    address: IpAddr,
) -> Result<Verdict, tokio_postgres::Error> {
    // For each key: how many failures in the window, and in how many
    // seconds the oldest of the last `limit` ones leaves it.
    let row = db
        .query_one(
            "WITH recent AS (SELECT now() - make_interval(secs => $3) AS since),
             by_name AS (
                 SELECT at FROM login_failures, recent
                 WHERE username = $1 AND at > recent.since ORDER BY at DESC LIMIT $4
             ),
             by_address AS (
                 SELECT at FROM login_failures, recent
                 WHERE address = $2 AND at > recent.since ORDER BY at DESC LIMIT $5
             )
             SELECT (SELECT count(*) FROM by_name),
                    (SELECT EXTRACT(EPOCH FROM min(at) - (SELECT since FROM recent))::float8 FROM by_name),
                    (SELECT count(*) FROM by_address),
                    (SELECT EXTRACT(EPOCH FROM min(at) - (SELECT since FROM recent))::float8 FROM by_address)",
            &[
                username,
                &address,
                &limits.window.as_secs_f64(),
                &limits.per_username,
                &limits.per_address,
            ],
        )
        .await?;
    let throttled = |count: i64, limit: i64, leaves_in: Option<f64>| {
        (count >= limit).then(|| Duration::from_secs_f64(leaves_in.unwrap_or(0.0).max(0.0)))
    };
    let by_name = throttled(row.get(0), limits.per_username, row.get(1));
    let by_address = throttled(row.get(2), limits.per_address, row.get(3));
    Ok(match by_name.into_iter().chain(by_address).max() {
        Some(wait) => Verdict::Throttled {
            retry_after: wait.max(Duration::from_secs(1)),
        },
        None => Verdict::Allowed,
    })
}

/// Records a failed login, and prunes what has left the window.
pub async fn record_failure(
    db: &impl GenericClient,
    limits: &Limits,
    username: &Username,
    address: IpAddr,
) -> Result<(), tokio_postgres::Error> {
    db.execute(
        "INSERT INTO login_failures (username, address) VALUES ($1, $2)",
        &[username, &address],
    )
    .await?;
    // Bounded work per failure keeps the table bounded by the failure rate.
    db.execute(
        "DELETE FROM login_failures WHERE id IN (
             SELECT id FROM login_failures
             WHERE at < now() - make_interval(secs => $1) LIMIT 100
         )",
        &[&limits.window.as_secs_f64()],
    )
    .await
    .map(|_| ())
}
