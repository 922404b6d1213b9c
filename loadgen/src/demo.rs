//! Demo data (`loadgen demo`, run by `scripts/stack demo`): four customers
//! place a realistic mix of orders through the gateway, so the console, the
//! admin API and the dashboard have something to show on a fresh stack.
//!
//! - demo_ana, demo_ben and demo_cleo: orders that complete, and one each
//!   refused for money, for the item (item 15) and for the slot ("19:00"),
//!   compensated as usual.
//! - demo_dev: one order parked through a real, temporary fault. A trigger in
//!   billing's database refuses every cancel of demo_dev's reservations (the
//!   same fault as the operator drill's), the order is refused for the slot,
//!   the money cancel keeps failing and the mediator parks the saga after
//!   `COMPENSATION_ATTEMPTS` tries. The fault is then lifted (also on an
//!   error or ctrl-c), and the saga waits for an operator to retry it.
//!
//! `--no-parked` leaves demo_dev's parked order and its fault out: every
//! order ends by itself (the dashboard's test uses it as its load).
//!
//! Safe to run again: the customers are signed up once and logged in
//! after, each wallet is topped back up to 100 first (so every run looks
//! the same), and each run places a fresh batch, every order with an
//! `Idempotency-Key` of its own. Each order's outcome is checked: a run whose
//! orders end otherwise than planned fails.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use rust_decimal::Decimal;
use serde_json::json;
use shop_client::{Method, StatusCode};

use crate::api::{Api, User};
use loadgen::conservation::connect;
use loadgen::fault::RefusedCancels;

const PASSWORD: &str = "demo password";

/// Each customer's wallet before a run.
const WALLET: i64 = 100;

/// The customer whose cancels the fault refuses.
const PARKED_USER: &str = "demo_dev";

/// The fault that refuses demo_dev's cancels.
const FAULT: RefusedCancels = RefusedCancels {
    name: "demo_refuse_cancel",
};

/// How long the mediator may take to park: `COMPENSATION_ATTEMPTS` (30)
/// tries with backoff capped at `RETRY_MAX_MS` (2 s), with a margin.
const PARK_TIMEOUT: Duration = Duration::from_secs(120);

/// What the demo wants from the gateway and the databases.
pub struct Demo {
    pub gateway: String,
    pub pg_url: String,
    /// Where to write the orders placed, as JSON (for the operator drill).
    pub json: Option<std::path::PathBuf>,
    /// With demo_dev's parked order and its fault (`--no-parked`: without,
    /// for a load whose every order ends by itself, as the dashboard's test
    /// wants).
    pub parked: bool,
}

/// How an order is meant to end.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Outcome {
    Completed,
    Refused(&'static str),
    Parked,
}

struct Planned {
    user: &'static str,
    amount: &'static str,
    item: u32,
    slot: &'static str,
    outcome: Outcome,
}

const MONEY: &str = "Not enough money";
const ITEM: &str = "Can not reserve the item";
const SLOT: &str = "Can not get the delivery slot";

/// The orders of one run. None is for item 4 or the slot "17:00": the
/// operator drill, which runs the demo in its midst, counts their stock and
/// bookings.
fn plan(parked: bool) -> Vec<Planned> {
    use Outcome::*;
    let order = |user, amount, item, slot, outcome| Planned {
        user,
        amount,
        item,
        slot,
        outcome,
    };
    vec![
        order("demo_ana", "12.50", 1, "09:00", Completed),
        order("demo_ana", "30", 2, "10:00", Completed),
        order("demo_ana", "500", 3, "11:00", Refused(MONEY)),
        order("demo_ben", "8", 5, "12:00", Completed),
        order("demo_ben", "5", 15, "12:00", Refused(ITEM)),
        order("demo_ben", "7", 6, "19:00", Refused(SLOT)),
        order("demo_cleo", "20", 6, "14:00", Completed),
        order("demo_cleo", "9.99", 7, "15:00", Completed),
        order("demo_cleo", "4.25", 8, "16:00", Completed),
        order(PARKED_USER, "3", 9, "08:00", Completed),
        order(PARKED_USER, "6", 10, "19:00", Parked),
    ]
    .into_iter()
    .filter(|order| parked || order.outcome != Parked)
    .collect()
}

pub async fn run(demo: &Demo) -> anyhow::Result<()> {
    let billing = connect(&format!("{}/billing", demo.pg_url)).await?;
    // A run killed with -9 may have left it.
    FAULT.lift(&billing).await?;
    let outcome = tokio::select! {
        outcome = place_and_watch(demo, &billing) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    let lifted = FAULT.lift(&billing).await;
    let placed = outcome?;
    lifted?;
    if demo.parked {
        println!("[demo] the fault is lifted; the parked saga waits for an operator");
    }
    if let Some(path) = &demo.json {
        let parked: Vec<i64> = placed
            .iter()
            .filter(|(_, planned)| planned.outcome == Outcome::Parked)
            .map(|(id, _)| *id)
            .collect();
        let ids: Vec<i64> = placed.iter().map(|(id, _)| *id).collect();
        std::fs::write(path, json!({"orders": ids, "parked": parked}).to_string())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "[demo] see them: the console at {}/console/, or shopctl sagas list; \
         shopctl sagas retry --status parked lifts the parked one",
        demo.gateway
    );
    Ok(())
}

/// Signs the customers in, tops them up, places the plan with the fault on
/// and waits until each order has ended as planned; the ids placed.
async fn place_and_watch(
    demo: &Demo,
    billing: &tokio_postgres::Client,
) -> anyhow::Result<Vec<(i64, Planned)>> {
    let api = Api::new(&demo.gateway)?;
    let run = format!("{:08x}", rand::random::<u32>());
    let mut users = HashMap::new();
    for planned in plan(demo.parked) {
        if !users.contains_key(planned.user) {
            let user = sign_in(&api, planned.user).await?;
            top_up(&api, planned.user, &user, &run).await?;
            users.insert(planned.user, user);
        }
    }
    if demo.parked {
        FAULT.inject(billing, PARKED_USER).await?;
        println!(
            "[demo] fault on: billing's database refuses to cancel {PARKED_USER}'s reservations"
        );
    }

    let mut placed = Vec::new();
    for (n, planned) in plan(demo.parked).into_iter().enumerate() {
        let key = format!("demo-{run}-{n}");
        let body = json!({
            "amount": planned.amount.parse::<serde_json::Number>()?,
            "details": {"item": planned.item, "slot": planned.slot},
        });
        let (status, answer) = api
            .send_with(
                Method::POST,
                "/api/orders/",
                Some(&users[planned.user].token),
                Some(&key),
                &body,
            )
            .await?;
        ensure!(
            status == StatusCode::CREATED,
            "an order of {}: {status} {answer}",
            planned.user
        );
        placed.push((
            answer["id"].as_i64().context("an order without an id")?,
            planned,
        ));
    }
    if demo.parked {
        println!(
            "[demo] {} orders placed; waiting for the mediator to park {PARKED_USER}'s \
             (it tries the money cancel COMPENSATION_ATTEMPTS times first: about half a minute)",
            placed.len()
        );
    }
    watch(demo, &placed).await?;
    Ok(placed)
}

/// Signs `name` up, or logs in when it exists; its access token.
async fn sign_in(api: &Api, name: &str) -> anyhow::Result<User> {
    let body =
        json!({"username": name, "password": PASSWORD, "email": format!("{name}@demo.example")});
    let (status, answer) = api
        .send(Method::POST, "/api/auth/users/", None, &body)
        .await?;
    ensure!(
        status == StatusCode::CREATED || status == StatusCode::CONFLICT,
        "sign-up of {name}: {status} {answer}"
    );
    let body = json!({"username": name, "password": PASSWORD});
    let (status, answer) = api.send(Method::POST, "/api/token/", None, &body).await?;
    if status == StatusCode::UNAUTHORIZED {
        bail!(
            "{name} exists with another password than the demo's: the demo uses its own customers"
        );
    }
    ensure!(
        status == StatusCode::OK,
        "login of {name}: {status} {answer}"
    );
    let token = answer["access"].as_str().context("no access token")?;
    Ok(User {
        token: token.to_owned(),
    })
}

/// Deposits what `name`'s wallet lacks of `WALLET`.
async fn top_up(api: &Api, name: &str, user: &User, run: &str) -> anyhow::Result<()> {
    let path = format!("/api/accounts/{name}");
    let (status, account) = api
        .send(Method::GET, &path, Some(&user.token), &json!(null))
        .await?;
    ensure!(
        status == StatusCode::OK,
        "account of {name}: {status} {account}"
    );
    let wallet: Decimal = account["wallet"]
        .to_string()
        .parse()
        .with_context(|| format!("the wallet of {name}: {account}"))?;
    let missing = Decimal::from(WALLET) - wallet;
    if missing <= Decimal::ZERO {
        return Ok(());
    }
    let body = json!({"amount": missing.to_string().parse::<serde_json::Number>()?});
    let key = format!("demo-{run}-top-up-{name}");
    let (status, answer) = api
        .send_with(
            Method::POST,
            &format!("{path}/deposit"),
            Some(&user.token),
            Some(&key),
            &body,
        )
        .await?;
    ensure!(
        status == StatusCode::OK,
        "deposit for {name}: {status} {answer}"
    );
    println!("[demo] {name}'s wallet topped up by {missing} to {WALLET}");
    Ok(())
}

/// Waits until every order has ended as planned, then prints them.
async fn watch(demo: &Demo, placed: &[(i64, Planned)]) -> anyhow::Result<()> {
    let orders = connect(&format!("{}/orders", demo.pg_url)).await?;
    let ids: Vec<i64> = placed.iter().map(|(id, _)| *id).collect();
    let deadline = Instant::now() + PARK_TIMEOUT;
    let ended = loop {
        let rows = orders
            .query(
                "SELECT id, status, reason, parked_at IS NOT NULL FROM orders WHERE id = ANY($1)",
                &[&ids],
            )
            .await
            .context("reading the demo's orders")?;
        let ended: HashMap<i64, (Outcome, String)> = rows
            .iter()
            .filter_map(|row| {
                let status: String = row.get(1);
                let reason: Option<String> = row.get(2);
                let outcome = match (status.as_str(), row.get::<_, bool>(3)) {
                    ("completed", _) => Outcome::Completed,
                    ("failed", _) => Outcome::Refused(match reason.as_deref() {
                        Some(MONEY) => MONEY,
                        Some(ITEM) => ITEM,
                        Some(SLOT) => SLOT,
                        _ => "another reason",
                    }),
                    (_, true) => Outcome::Parked,
                    _ => return None,
                };
                let shown = reason.map_or(status.clone(), |why| format!("{status}: {why}"));
                Some((row.get(0), (outcome, shown)))
            })
            .collect();
        if ended.len() == ids.len() {
            break ended;
        }
        ensure!(
            Instant::now() < deadline,
            "{} of the demo's orders have not ended after {} s",
            ids.len() - ended.len(),
            PARK_TIMEOUT.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let mut wrong = Vec::new();
    for (id, planned) in placed {
        let (outcome, shown) = &ended[id];
        let shown = match outcome {
            Outcome::Parked => "parked (pending to its customer)".to_owned(),
            _ => shown.clone(),
        };
        println!(
            "[demo] #{id:<8} {:<10} {:>6}  item {:<2} slot {}  {shown}",
            planned.user, planned.amount, planned.item, planned.slot
        );
        if *outcome != planned.outcome {
            wrong.push(format!("#{id}: {outcome:?}, planned {:?}", planned.outcome));
        }
    }
    ensure!(
        wrong.is_empty(),
        "orders that did not end as planned: {}",
        wrong.join(", ")
    );
    Ok(())
}
