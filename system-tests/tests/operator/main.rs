//! The operator drill, against the running local stack (scripts/stack up;
//! scripts/operator-drill installs the browser and runs this): a real fault
//! parks sagas, and an operator sees and fixes them through the admin API,
//! `shopctl` and the web console.
//!
//! 1. A fresh customer places an order that completes and one that fails on
//!    the item (item 15).
//! 2. The fault (loadgen::fault): billing refuses every cancel of that
//!    customer's money. Three orders for the slot "19:00": money and item
//!    are reserved, slots refuses, the item is given back, the money cancel
//!    keeps failing, and after `COMPENSATION_ATTEMPTS` tries the mediator
//!    parks them.
//! 3. The admin API and `shopctl` show them parked; `shopctl admin` makes,
//!    uses and demotes a second administrator.
//! 4. `scripts/stack demo` adds its mix of orders (one parked by a fault of
//!    its own); the fault is lifted, and in the console (console.rs) one
//!    saga is retried and a new order cancelled.
//! 5. `shopctl sagas retry --status parked` retries the rest. Every order of
//!    the drill is then final, the wallet 100 minus the completed order, and
//!    stock and slot bookings moved by the completed order only.
//!
//! Whatever happens, the fault is lifted and the mediator left running; a
//! drill stopped half-way retries its parked sagas. Run it on a quiet stack:
//! it compares stock and bookings before and after.

mod admin_api;
mod books;
mod console;
mod sagas;
mod shopctl;
mod stack;

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::FutureExt;
use loadgen::fault::RefusedCancels;
use serde_json::{json, Value};
use shop_client::{Admin, NewOrder, Shop, StatusCode};
use system_tests::unique_name;

use sagas::States;
use stack::{scalar, Stack};

const FAULT: RefusedCancels = RefusedCancels {
    name: "operator_drill_refuse_cancel",
};
const PASSWORD: &str = "drill password";
/// Neither is ordered by the demo, which runs in the drill's midst.
const ITEM: u32 = 4;
const SLOT: &str = "17:00";
/// No such slot: slots refuses it.
const BAD_SLOT: &str = "19:00";

const ITEM_REASON: &str = "Can not reserve the item";
const SLOT_REASON: &str = "Can not get the delivery slot";
const CANCELLED: &str = "Cancelled by operator";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sees_and_fixes_parked_sagas() {
    let stack = Stack::from_env();
    let shop = stack.shop();
    let console = shop
        .call(shop_client::Method::GET, "/console/", Default::default())
        .await;
    assert!(
        matches!(&console, Ok(answer) if answer.status == StatusCode::OK),
        "the gateway does not serve the console at {}/console/: run scripts/stack up",
        stack.gateway
    );
    assert!(
        stack.mediator_is_ready().await,
        "the mediator is not ready: run scripts/stack up"
    );
    let admin_password = stack.home.admin_password();
    let admin = Admin::login(stack.shop(), "admin", &admin_password)
        .await
        .expect("the administrator's login");
    let billing = stack.home.database("billing").await;
    let customer = unique_name("drill");
    println!(
        "[drill] customer {customer}; item {ITEM}, slots {SLOT} and {BAD_SLOT}; gateway {}",
        stack.gateway
    );

    let drill = Drill {
        stack: &stack,
        shop,
        admin,
        admin_password: &admin_password,
        billing: &billing,
        customer: &customer,
    };
    let outcome = AssertUnwindSafe(drill.run()).catch_unwind().await;
    drill.clean_up(outcome.is_err()).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

struct Drill<'a> {
    stack: &'a Stack,
    shop: Shop,
    admin: Admin,
    admin_password: &'a str,
    billing: &'a tokio_postgres::Client,
    customer: &'a str,
}

impl Drill<'_> {
    async fn run(&self) {
        let (items, slots) = (
            self.stack.home.database("items").await,
            self.stack.home.database("slots").await,
        );
        // A run killed with -9 may have left it.
        FAULT
            .lift(self.billing)
            .await
            .expect("lifting a leftover fault");
        let token = self
            .shop
            .customer(self.customer, PASSWORD)
            .await
            .expect("the drill's customer");
        let stock_before: i32 = scalar(
            &items,
            "SELECT stock FROM items WHERE id = $1",
            &[&(ITEM as i32)],
        )
        .await;
        let booked_before: i32 =
            scalar(&slots, "SELECT booked FROM slots WHERE slot = $1", &[&SLOT]).await;

        // 1. Before the fault.
        let completed = self.place(&token, 10, ITEM, SLOT).await;
        let item_refused = self.place(&token, 3, 15, SLOT).await;
        self.wait_states(
            Duration::from_secs(15),
            &[(completed, "completed"), (item_refused, "failed")],
        )
        .await;
        println!(
            "[drill] before the fault: #{completed} completed, #{item_refused} failed (item 15)"
        );

        // 2. The fault parks three sagas.
        FAULT
            .inject(self.billing, self.customer)
            .await
            .expect("the fault");
        assert!(FAULT
            .is_present(self.billing)
            .await
            .expect("billing's triggers"));
        let mut parked = Vec::new();
        for amount in [5, 6, 7] {
            parked.push(self.place(&token, amount, ITEM, BAD_SLOT).await);
        }
        let patience = self.park_timeout();
        println!("[drill] orders {parked:?} for slot {BAD_SLOT}: waiting up to {patience:?} for them to park");
        let started = Instant::now();
        let want: Vec<_> = parked.iter().map(|&id| (id, "parked")).collect();
        self.wait_states(patience, &want).await;
        println!(
            "[drill] parked after {:.1} s",
            started.elapsed().as_secs_f64()
        );

        // 3. The admin API and shopctl show them.
        self.admin_api_shows_them(&token, completed, &parked).await;
        self.shopctl_shows_them(&parked);
        self.shopctl_makes_and_demotes_an_administrator();

        // 4. The demo's data, then the console.
        let demo_parked = self.demo();
        FAULT.lift(self.billing).await.expect("lifting the fault");
        assert!(!FAULT
            .is_present(self.billing)
            .await
            .expect("billing's triggers"));
        let done = console::run(
            self.stack,
            &console::Scenario {
                customer: self.customer,
                customer_token: &token,
                admin_password: self.admin_password,
                completed,
                failed: item_refused,
                parked: &parked,
                demo_parked,
                item: ITEM,
                slot: SLOT,
            },
        );
        assert!(
            self.stack.mediator_is_ready().await,
            "the mediator is not running after the console's part"
        );
        assert_eq!(
            done.retried,
            Some(parked[0]),
            "the console retried the first parked saga"
        );
        let cancelled = done.cancelled.expect("the console cancelled an order");

        // 5. shopctl retries the rest; everything is final and adds up.
        let retry = self.shopctl(&[
            "sagas",
            "retry",
            "--status",
            "parked",
            "--username",
            self.customer,
        ]);
        let remaining = parked.len() - 1;
        assert!(
            retry
                .split_whitespace()
                .any(|word| word == remaining.to_string()),
            "shopctl sagas retry --status parked --username says how many ({remaining}): {retry}"
        );
        let mut finals = vec![
            (completed, "completed", ""),
            (item_refused, "failed", ITEM_REASON),
            (cancelled, "failed", CANCELLED),
        ];
        finals.extend(parked.iter().map(|&id| (id, "failed", SLOT_REASON)));
        let want: Vec<_> = finals.iter().map(|&(id, state, _)| (id, state)).collect();
        let states = self.wait_states(Duration::from_secs(30), &want).await;
        let expected: States = finals
            .iter()
            .map(|&(id, state, reason)| (id, (state.to_owned(), reason.to_owned())))
            .collect();
        assert_eq!(
            states, expected,
            "the drill's sagas, their outcomes and reasons"
        );
        println!("[drill] every order of the drill is final");

        let orders = self
            .shop
            .expect(
                shop_client::Method::GET,
                "/api/orders/",
                shop_client::Call::with_token(&token),
            )
            .await
            .expect("the customer's orders");
        let orders = orders.as_array().expect("a list");
        assert_eq!(
            orders.len(),
            finals.len(),
            "the customer's orders: {orders:?}"
        );
        assert!(
            orders.iter().all(|o| o["status"] != "pending"),
            "{orders:?}"
        );

        self.everything_adds_up(
            &token,
            &finals,
            (&items, stock_before),
            (&slots, booked_before),
        )
        .await;
    }

    /// `scripts/stack demo`: the demo's orders, newest in the console, one
    /// parked by a fault of its own that it lifts; that saga's id.
    fn demo(&self) -> i64 {
        let file = self.stack.home.dir.join("operator-drill/demo.json");
        std::fs::create_dir_all(file.parent().expect("a folder")).expect("the drill's folder");
        self.stack
            .stack(&["demo", "--json", &file.to_string_lossy()]);
        let demo: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("the demo's orders"))
                .expect("the demo's JSON");
        println!(
            "[drill] scripts/stack demo: {} orders ended as planned",
            demo["orders"].as_array().map_or(0, Vec::len)
        );
        demo["parked"][0].as_i64().expect("the demo's parked saga")
    }

    async fn place(&self, token: &str, amount: i64, item: u32, slot: &str) -> i64 {
        let order = NewOrder {
            amount: json!(amount),
            item,
            slot,
        };
        let placed = self.shop.place(token, &order, None).await;
        placed
            .unwrap_or_else(|err| panic!("an order ({amount}, item {item}, slot {slot}): {err}"))
            .id
    }

    /// The customer's wallet as the customer reads it.
    async fn wallet(&self, token: &str) -> Value {
        let account = self.shop.account(token, self.customer).await;
        account.expect("the customer's account")["wallet"].clone()
    }

    /// The fault lifted and the mediator running, whatever happened; a
    /// drill stopped half-way leaves none of its sagas parked.
    async fn clean_up(&self, stopped: bool) {
        if let Err(err) = FAULT.lift(self.billing).await {
            println!("[drill] could not lift the fault: {err:#}");
        }
        if !self.stack.mediator_is_ready().await {
            println!("[drill] the mediator is not running: restarting it");
            self.stack.stack(&["restart", "mediator"]);
        }
        if stopped {
            let query = format!("?status=parked&username={}", self.customer);
            match self.admin.retry_all(&query).await {
                Ok(answer) => println!(
                    "[drill] retried the drill's parked sagas: {}",
                    answer["retried"]
                ),
                Err(err) => println!("[drill] could not retry the drill's parked sagas: {err}"),
            }
        }
    }
}
