//! The ledger's contract (`ledger::contract`), with money as the resource:
//! one unit is a 100th of the wallet of 100 an account opens with, times
//! the units asked for, so that the wallet pays for exactly that many.

use common::config::Secret;
use common::http::Caller;
use common::testing::{unique_name, Reservations};
use ledger::contract::Participant;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::helpers::TestApp;

pub struct Wallet {
    app: TestApp,
    reservations: Reservations,
    owner: String,
    unit: u32,
}

impl Participant for Wallet {
    async fn spawn(units: u32) -> Self {
        assert_eq!(100 % units, 0, "a wallet of 100 in whole units");
        let app = TestApp::spawn().await;
        let owner = unique_name("ledger");
        app.user(&owner).await;
        Self {
            reservations: app.reservations(),
            unit: 100 / units,
            owner,
            app,
        }
    }
    fn reservations(&self) -> &Reservations {
        &self.reservations
    }
    fn auth_credential(&self) -> &Secret {
        self.app.callers.credential(Caller::Auth)
    }
    fn first(&self) -> Value {
        json!({"username": self.owner, "amount": self.unit})
    }
    fn second(&self) -> Value {
        json!({"username": self.owner, "amount": 2 * self.unit})
    }
    fn unknown(&self) -> Value {
        json!({"username": "nobody_here", "amount": self.unit})
    }
    fn malformed(&self) -> Vec<Value> {
        let name = &self.owner;
        vec![
            json!({"username": name, "amount": -1}),
            json!({"username": name, "amount": 0.001}),
            json!({"username": name}),
            json!({"amount": 1}),
            json!({"username": 5, "amount": 1}),
            // Fields a participant does not know are refused, as items and
            // slots refuse them: a caller's mistake is not silently dropped.
            json!({"username": name, "amount": 1, "currency": "EUR"}),
        ]
    }
    async fn free(&self) -> i64 {
        let db = self.app.db.client().await;
        let wallet: Decimal = db
            .query_one(
                "SELECT wallet FROM accounts WHERE username = $1",
                &[&self.owner],
            )
            .await
            .expect("the wallet")
            .get(0);
        (wallet / Decimal::from(self.unit))
            .floor()
            .to_i64()
            .expect("a whole number of units")
    }
}

ledger::contract_tests!(crate::contract::Wallet);
