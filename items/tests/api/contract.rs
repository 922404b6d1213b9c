//! The ledger's contract (`ledger::contract`), with items as the resource.

use common::config::Secret;
use common::http::Caller;
use common::testing::Reservations;
use ledger::contract::Participant;
use serde_json::{json, Value};

use crate::helpers::TestApp;

impl Participant for TestApp {
    async fn spawn(units: u32) -> Self {
        TestApp::spawn(units.try_into().expect("a stock")).await
    }
    fn reservations(&self) -> &Reservations {
        &self.reservations
    }
    fn auth_credential(&self) -> &Secret {
        self.callers.credential(Caller::Auth)
    }
    fn first(&self) -> Value {
        json!({"item": 3})
    }
    fn second(&self) -> Value {
        json!({"item": 4})
    }
    fn unknown(&self) -> Value {
        json!({"item": 15})
    }
    fn malformed(&self) -> Vec<Value> {
        vec![
            json!({}),
            json!({"item": "3"}),
            json!({"item": 3.5}),
            json!({"item": 3, "x": 1}),
        ]
    }
    async fn free(&self) -> i64 {
        self.stock(3).await.into()
    }
}

ledger::contract_tests!(crate::helpers::TestApp);
