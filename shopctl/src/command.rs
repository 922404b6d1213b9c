//! The commands and their options, and what each asks of the API.

use anyhow::{bail, Context};
use serde_json::Value;

use crate::{admin, show};

pub const USAGE: &str = "usage:
  shopctl sagas list [--status S] [--username U] [--reason R] [--since T] [--until T]
                     [--before ID] [--limit N] [--json]
  shopctl sagas show ID [--json]
  shopctl sagas stats [--json]
  shopctl sagas retry ID [--json]
  shopctl sagas retry --status parked [--username U] [--reason R] [--since T] [--until T] [--json]
  shopctl sagas cancel ID [--json]
  shopctl workers [--json]
  shopctl admin create NAME        (the password on standard input; a new one ends its sessions)
  shopctl admin revoke NAME        (ends every session of NAME)
  shopctl admin demote NAME        (the administrator NAME becomes a customer; its sessions end)
                                   (the admin commands run auth's own, on DATABASE_URL)
  shopctl version [--json]         (this program's version and the server's)
  shopctl --version                (this program's version alone)

S: pending, completed, failed, running, compensating or parked. T: an RFC 3339 time.
SHOP_URL (default http://127.0.0.1:8080), SHOP_USER (default admin),
SHOP_PASSWORD (default the local stack's .stack/admin-password).";

pub enum Command {
    List(Vec<(String, String)>),
    Show(i64),
    Stats,
    Retry(i64),
    RetryAll(Vec<(String, String)>),
    Cancel(i64),
    Workers,
    /// `auth admin ACTION NAME`: create, revoke or demote.
    Admin(String, String),
    /// Only this program's version: no server is asked.
    OwnVersion,
    Version,
}

/// What to run, and whether to print JSON.
pub struct Parsed {
    command: Command,
    json: bool,
}

const FILTERS: [&str; 5] = ["status", "username", "reason", "since", "until"];

pub fn parse(args: &[String]) -> anyhow::Result<Parsed> {
    let json = args.iter().any(|arg| arg == "--json");
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|arg| *arg != "--json")
        .collect();
    let command = match args.as_slice() {
        ["sagas", "list", options @ ..] => Command::List(options_of(
            options,
            &[&FILTERS[..], &["before", "limit"]].concat(),
        )?),
        ["sagas", "show", id] => Command::Show(id_of(id)?),
        ["sagas", "stats"] => Command::Stats,
        ["sagas", "retry", id] if !id.starts_with("--") => Command::Retry(id_of(id)?),
        ["sagas", "retry", options @ ..] => {
            let filters = options_of(options, &FILTERS)?;
            if !filters
                .iter()
                .any(|(key, value)| key == "status" && value == "parked")
            {
                bail!("a bulk retry needs --status parked (and may narrow it further)");
            }
            Command::RetryAll(filters)
        }
        ["sagas", "cancel", id] => Command::Cancel(id_of(id)?),
        ["workers"] => Command::Workers,
        ["admin", action @ ("create" | "revoke" | "demote"), name] => {
            Command::Admin((*action).to_owned(), (*name).to_owned())
        }
        ["--version" | "-V"] => Command::OwnVersion,
        ["version"] => Command::Version,
        [] => bail!("no command"),
        _ => bail!("unknown command: {}", args.join(" ")),
    };
    Ok(Parsed { command, json })
}

fn id_of(text: &str) -> anyhow::Result<i64> {
    text.parse()
        .with_context(|| format!("{text:?} is not a saga id"))
}

/// `--key value` pairs, each key one of `allowed`.
fn options_of(options: &[&str], allowed: &[&str]) -> anyhow::Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut rest = options.iter();
    while let Some(option) = rest.next() {
        let Some(key) = option
            .strip_prefix("--")
            .filter(|key| allowed.contains(key))
        else {
            bail!("unknown option {option}");
        };
        let Some(value) = rest.next() else {
            bail!("{option} needs a value");
        };
        pairs.push((key.to_owned(), (*value).to_owned()));
    }
    Ok(pairs)
}

/// A query string of `pairs`, percent-encoding what a URL cannot carry.
fn query(pairs: &[(String, String)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", encode(value)))
        .collect();
    if encoded.is_empty() {
        String::new()
    } else {
        format!("?{}", encoded.join("&"))
    }
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

pub async fn run(parsed: Parsed) -> anyhow::Result<()> {
    match &parsed.command {
        Command::Admin(action, name) => return admin::run(action, name),
        Command::OwnVersion => {
            println!("shopctl {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        _ => {}
    }
    let api = crate::api::login().await?;
    let (answer, print): (Value, fn(&Value)) = match parsed.command {
        Command::List(filters) => (api.sagas(&query(&filters)).await?, show::list),
        Command::Show(id) => (api.saga(id).await?, show::one),
        Command::Stats => (api.stats().await?, show::stats),
        Command::Retry(id) => (api.retry(id).await?, show::acted),
        Command::RetryAll(filters) => (api.retry_all(&query(&filters)).await?, show::retried),
        Command::Cancel(id) => (api.cancel(id).await?, show::acted),
        Command::Workers => (api.workers().await?, show::workers),
        // The admin API's stats carry the version order-api runs.
        Command::Version => (api.stats().await?, show::version),
        Command::Admin(..) | Command::OwnVersion => unreachable!("handled above"),
    };
    if parsed.json {
        println!("{answer}");
    } else {
        print(&answer);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn a_bulk_retry_needs_the_parked_status() {
        assert!(parse(&args("sagas retry --username ann")).is_err());
        assert!(parse(&args("sagas retry --status parked --username ann")).is_ok());
        assert!(matches!(
            parse(&args("sagas retry 42")).map(|p| p.command),
            Ok(Command::Retry(42))
        ));
    }

    #[test]
    fn unknown_options_and_missing_values_are_refused() {
        assert!(parse(&args("sagas list --colour red")).is_err());
        assert!(parse(&args("sagas list --status")).is_err());
        assert!(parse(&args("sagas show forty-two")).is_err());
    }

    #[test]
    fn values_are_percent_encoded() {
        let pairs = vec![("reason".to_owned(), "Not enough money".to_owned())];
        assert_eq!(query(&pairs), "?reason=Not%20enough%20money");
    }
}
