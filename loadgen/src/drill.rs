//! The upgrade drill's load and its verdict (`loadgen upgrade-drill`,
//! started by `scripts/upgrade-drill`, which builds the releases): users
//! place orders without pause, each with an `Idempotency-Key` and each
//! failed request retried with the same key, while every service is
//! replaced by the other release's binary, one at a time, through
//! `scripts/stack restart`. Afterwards every order that got a 201 must be
//! final, no key may have made two orders, conservation must hold, and no
//! client may have seen a 500. A 502 or 503 while a process restarts is
//! allowed, and counted.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::json;
use shop_client::{Method, StatusCode};

use crate::api::{Api, User};
use loadgen::conservation::{self, connect, Databases};

use crate::load::wait_final;

/// The services in the order a rolling upgrade replaces them: the callees
/// first, the mediator last.
const SERVICES: [&str; 6] = ["billing", "items", "slots", "auth", "order-api", "mediator"];

/// How long one order is retried with its key before the user gives up.
const PATIENCE: Duration = Duration::from_secs(60);

/// A user's pause between two orders: 40 users offer about 160 orders a
/// second, which the stack keeps up with while a service restarts.
const PACE: Duration = Duration::from_millis(250);

/// What the drill runs.
pub struct Drill {
    pub gateway: String,
    pub pg_url: String,
    pub users: usize,
    /// The release the stack runs at the start, and the one it moves to.
    pub from_bin: PathBuf,
    pub to_bin: PathBuf,
    /// `scripts/stack`, which restarts one service on the binaries asked for.
    pub stack: PathBuf,
    /// Skip the rollback (a `from` release that refuses a newer schema).
    pub upgrade_only: bool,
    /// The load that runs between two restarts.
    pub between: Duration,
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    /// Answers by status; connection errors as 0.
    statuses: BTreeMap<u16, u64>,
    /// Each key that got a 201, with every order id its answers named.
    accepted: HashMap<String, Vec<i64>>,
    /// Keys given up on after `PATIENCE` without a 201.
    abandoned: u64,
}

pub async fn run(drill: &Drill) -> anyhow::Result<()> {
    let api = Api::new(&drill.gateway)?;
    let run_id = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let mut users = Vec::new();
    for n in 0..drill.users {
        let name = format!("upg{run_id}u{n}");
        users.push((name.clone(), api.new_user(&name, 10_000).await?));
    }
    println!(
        "[drill] {} users signed up on the starting release",
        users.len()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let clients: Vec<_> = users
        .iter()
        .map(|(name, user)| {
            let (api, stop, seen) = (api.clone(), stop.clone(), seen.clone());
            tokio::spawn(place_until(api, name.clone(), user.clone(), stop, seen))
        })
        .collect();

    let started = Instant::now();
    let mut phases = vec![("upgrade", &drill.to_bin)];
    if !drill.upgrade_only {
        phases.push(("rollback", &drill.from_bin));
        phases.push(("upgrade again", &drill.to_bin));
    }
    tokio::time::sleep(drill.between).await;
    for (phase, bin) in phases {
        for service in SERVICES {
            restart(drill, service, bin).await?;
            println!(
                "[drill] {phase}: {service} now runs {} ({:.0} s in)",
                bin.display(),
                started.elapsed().as_secs_f64()
            );
            tokio::time::sleep(drill.between).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.context("a client task")?;
    }

    let seen = std::mem::take(&mut *seen.lock().expect("not poisoned"));
    verdict(drill, &run_id, &seen).await
}

/// What a client does after an answer.
enum Next {
    Done,
    /// Send the same order with the same key again at once.
    Repeat,
    /// Send it again after a pause.
    Retry,
}

impl Seen {
    /// Counts the answer to the `n`th order of a user, with `key`.
    fn note(
        &mut self,
        key: &str,
        status: u16,
        id: Option<i64>,
        n: usize,
        waited: Duration,
    ) -> Next {
        *self.statuses.entry(status).or_default() += 1;
        if status == StatusCode::CREATED.as_u16() {
            let ids = self.accepted.entry(key.to_owned()).or_default();
            ids.extend(id);
            // A repeat of the key now and then: it must name the same order.
            return match n.is_multiple_of(10) && ids.len() < 2 {
                true => Next::Repeat,
                false => Next::Done,
            };
        }
        if waited > PATIENCE {
            self.abandoned += 1;
            return Next::Done;
        }
        Next::Retry
    }
}

/// One user's orders, one after another, until `stop`; each retried with
/// its key until it is accepted (or `PATIENCE` runs out).
async fn place_until(
    api: Api,
    name: String,
    user: User,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let key = format!("{name}-{n}");
        let body = json!({"amount": 1, "details": {"item": 1 + n % 10, "slot": format!("{:02}:00", 8 + n % 11)}});
        let began = Instant::now();
        loop {
            let answer = api
                .send_with(
                    Method::POST,
                    "/api/orders/",
                    Some(&user.token),
                    Some(&key),
                    &body,
                )
                .await;
            let (status, id) = match &answer {
                Ok((status, order)) => (status.as_u16(), order["id"].as_i64()),
                Err(_) => (0, None),
            };
            let next =
                seen.lock()
                    .expect("not poisoned")
                    .note(&key, status, id, n, began.elapsed());
            match next {
                Next::Done => break,
                Next::Repeat => continue,
                Next::Retry => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        tokio::time::sleep(PACE).await;
    }
}

/// Replaces `service` by the binary in `bin` (SIGTERM, drain, start).
async fn restart(drill: &Drill, service: &str, bin: &PathBuf) -> anyhow::Result<()> {
    let mut command = std::process::Command::new(&drill.stack);
    command
        .arg("restart")
        .arg(service)
        .env("STACK_BIN_DIR", bin)
        .env("STACK_NO_BUILD", "1");
    let status = tokio::task::spawn_blocking(move || command.status())
        .await
        .context("the restart's task")?
        .with_context(|| format!("running {} restart {service}", drill.stack.display()))?;
    if !status.success() {
        bail!("restarting {service} on {} failed: {status}", bin.display());
    }
    Ok(())
}

async fn verdict(drill: &Drill, run_id: &str, seen: &Seen) -> anyhow::Result<()> {
    let orders = connect(&format!("{}/orders", drill.pg_url)).await?;
    let prefix = format!("upg{run_id}u%");
    let accepted: Vec<i64> = seen.accepted.values().flatten().copied().collect();
    let still_pending = wait_final(&orders, &accepted).await.err();
    let rows = orders
        .query(
            "SELECT idempotency_key, count(*), min(id) FROM orders WHERE username LIKE $1 GROUP BY 1",
            &[&prefix],
        )
        .await?;
    let stored: HashMap<Option<String>, (i64, i64)> = rows
        .iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2))))
        .collect();

    let mut problems: Vec<String> = still_pending.iter().map(|err| format!("{err:#}")).collect();
    let doubled: Vec<_> = stored.iter().filter(|(_, (count, _))| *count > 1).collect();
    if !doubled.is_empty() {
        problems.push(format!("keys that made more than one order: {doubled:?}"));
    }
    let mut repeats = 0;
    for (key, ids) in &seen.accepted {
        repeats += ids.len() - 1;
        let row = stored.get(&Some(key.clone()));
        if ids
            .iter()
            .any(|id| Some(*id) != row.map(|(_, first)| *first))
        {
            problems.push(format!("key {key} answered {ids:?}, stored {row:?}"));
        }
    }
    let server_errors: u64 = seen
        .statuses
        .iter()
        .filter(|(status, _)| **status == 500)
        .map(|(_, n)| n)
        .sum();
    if server_errors > 0 {
        problems.push(format!("clients saw {server_errors} answers of 500"));
    }
    let conservation = conservation::check(&Databases::on(&drill.pg_url, "")).await?;
    problems.extend(conservation.problems.iter().cloned());

    let statuses: Vec<String> = seen
        .statuses
        .iter()
        .map(|(status, n)| match status {
            0 => format!("no answer: {n}"),
            status => format!("{status}: {n}"),
        })
        .collect();
    println!(
        "[drill] {} orders accepted ({} repeats of a key named the same order), {} keys given up; answers: {}",
        seen.accepted.len(),
        repeats,
        seen.abandoned,
        statuses.join(", ")
    );
    println!(
        "[drill] conservation: {} completed, {} parked, wallets {} + held {} = deposited {}",
        conservation.orders_completed,
        conservation.orders_parked,
        conservation.wallets,
        conservation.money_held,
        conservation.deposited
    );
    if !problems.is_empty() {
        bail!("the drill failed:\n  {}", problems.join("\n  "));
    }
    if seen.accepted.is_empty() {
        bail!("no order was accepted");
    }
    println!("[drill] every accepted order is final, none doubled, conservation holds, no 500");
    Ok(())
}
