//! Login throttling. Every password check is recorded as an attempt in
//! `login_failures` *before* bcrypt runs, in the same transaction that
//! counts the attempts already there, under advisory locks on the username
//! and the address: however many logins arrive at once, each one sees the
//! ones before it, so no burst passes a limit. A successful login forgets
//! its attempt; a failed one, or one whose process died half-way, stays
//! counted for the window.
//!
//! Within `window`:
//! - `per_username` attempts for one username from one client address:
//!   that address is refused for that name (its right password too);
//! - `per_address` attempts from one address, whatever the names: that
//!   address is refused (guessing across many names);
//! - `slowdown_after` attempts for one username from every address
//!   together (many addresses guessing one name): addresses that have been
//!   failing for it are refused, and the others are slowed (one check for
//!   the name at a time, see `gate`), never refused, so a stranger's
//!   failures cannot lock a user out.
//!
//! IPv6 clients are counted by their /64, which one client can rotate
//! through. The counts live in PostgreSQL, so every replica of auth sees
//! them.

use std::net::IpAddr;
use std::time::Duration;

use common::domain::Username;
use tokio_postgres::Transaction;

pub mod gate;

/// `LOGIN_FAILURES_PER_USERNAME` (default 10), `LOGIN_FAILURES_PER_ADDRESS`
/// (default 100), `LOGIN_SLOWDOWN_AFTER` (default 50) within
/// `LOGIN_WINDOW_SECS` (default 60); `LOGIN_CHECKS_IN_FLIGHT` (default 4).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_username: i64,
    pub per_address: i64,
    pub slowdown_after: i64,
    pub window: Duration,
    /// Password checks for one username at once, per replica.
    pub checks_in_flight: usize,
}

/// Whether a login may be tried now.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Recorded as attempt `attempt`; `slowed` when the name is under
    /// attack from many addresses.
    Admitted { attempt: i64, slowed: bool },
    /// Refused until `retry_after` has passed; nothing recorded.
    Throttled { retry_after: Duration },
}

/// The key a client is counted by: its address, or its /64 for IPv6.
pub fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

/// Counts the attempts for `username` from `address` against `limits` and,
/// if they allow one more, records it; commits nothing (the caller does).
pub async fn admit(
    tx: &Transaction<'_>,
    limits: &Limits,
    username: &Username,
    address: IpAddr,
) -> Result<Verdict, tokio_postgres::Error> {
    let key = client_key(address);
    // One at a time per name, then per address; always in this order, so
    // two logins cannot wait for each other.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('login name ' || $1, 0))",
        &[username],
    )
    .await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('login address ' || host($1::inet), 0))",
        &[&key],
    )
    .await?;
    // For each count: how many attempts in the window, and in how many
    // seconds the oldest of the last `limit` ones leaves it.
    let row = tx
        .query_one(
            "WITH recent AS (SELECT now() - make_interval(secs => $3) AS since),
             pair AS (
                 SELECT at FROM login_failures, recent
                 WHERE username = $1 AND address = $2 AND at > recent.since
                 ORDER BY at DESC LIMIT $4
             ),
             by_address AS (
                 SELECT at FROM login_failures, recent
                 WHERE address = $2 AND at > recent.since ORDER BY at DESC LIMIT $5
             ),
             by_name AS (
                 SELECT count(*) AS n FROM (
                     SELECT 1 FROM login_failures, recent
                     WHERE username = $1 AND at > recent.since LIMIT $6
                 ) capped
             )
             SELECT (SELECT count(*) FROM pair),
                    (SELECT EXTRACT(EPOCH FROM min(at) - (SELECT since FROM recent))::float8 FROM pair),
                    (SELECT EXTRACT(EPOCH FROM max(at) - (SELECT since FROM recent))::float8 FROM pair),
                    (SELECT count(*) FROM by_address),
                    (SELECT EXTRACT(EPOCH FROM min(at) - (SELECT since FROM recent))::float8 FROM by_address),
                    (SELECT n FROM by_name)",
            &[
                username,
                &key,
                &limits.window.as_secs_f64(),
                &limits.per_username,
                &limits.per_address,
                &limits.slowdown_after,
            ],
        )
        .await?;
    let (pair, pair_oldest, pair_newest): (i64, Option<f64>, Option<f64>) =
        (row.get(0), row.get(1), row.get(2));
    let (from_address, address_oldest): (i64, Option<f64>) = (row.get(3), row.get(4));
    let for_name: i64 = row.get(5);
    let leaves = |seconds: Option<f64>| Duration::from_secs_f64(seconds.unwrap_or(0.0).max(0.0));

    let mut waits = Vec::new();
    if pair >= limits.per_username {
        waits.push(leaves(pair_oldest));
    }
    if from_address >= limits.per_address {
        waits.push(leaves(address_oldest));
    }
    let under_attack = for_name >= limits.slowdown_after;
    if under_attack && pair > 0 {
        // Until this address's own failures for the name have left.
        waits.push(leaves(pair_newest));
    }
    if let Some(wait) = waits.into_iter().max() {
        return Ok(Verdict::Throttled {
            retry_after: wait.max(Duration::from_secs(1)),
        });
    }
    let attempt = tx
        .query_one(
            "INSERT INTO login_failures (username, address) VALUES ($1, $2) RETURNING id",
            &[username, &key],
        )
        .await?
        .get(0);
    Ok(Verdict::Admitted {
        attempt,
        slowed: under_attack,
    })
}

/// Deletes attempts older than `window`, which no count reads any more, at
/// most 1000; how many. Run on a timer (`upkeep`), off the login path.
pub async fn prune(
    db: &impl tokio_postgres::GenericClient,
    window: Duration,
) -> Result<u64, tokio_postgres::Error> {
    db.execute(
        "DELETE FROM login_failures WHERE id IN (
             SELECT id FROM login_failures
             WHERE at < now() - make_interval(secs => $1) LIMIT 1000
         )",
        &[&window.as_secs_f64()],
    )
    .await
}

/// Forgets a successful login's attempt.
pub async fn forget(
    db: &impl tokio_postgres::GenericClient,
    attempt: i64,
) -> Result<(), tokio_postgres::Error> {
    db.execute("DELETE FROM login_failures WHERE id = $1", &[&attempt])
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_ipv4_by_the_address() {
        let key = |s: &str| client_key(s.parse().unwrap()).to_string();
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("198.51.100.7"), "198.51.100.7");
    }
}
