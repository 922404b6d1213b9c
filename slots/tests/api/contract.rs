//! The ledger's contract (`ledger::contract`), with places in delivery
//! slots as the resource.

use common::config::Secret;
use common::http::Caller;
use common::testing::Reservations;
use ledger::contract::Participant;
use serde_json::{json, Value};

use crate::helpers::TestApp;

impl Participant for TestApp {
    async fn spawn(units: u32) -> Self {
        TestApp::spawn(units.try_into().expect("a capacity")).await
    }
    fn reservations(&self) -> &Reservations {
        &self.reservations
    }
    fn auth_credential(&self) -> &Secret {
        self.callers.credential(Caller::Auth)
    }
    fn first(&self) -> Value {
        json!({"slot": "10:00"})
    }
    fn second(&self) -> Value {
        json!({"slot": "11:00"})
    }
    fn unknown(&self) -> Value {
        json!({"slot": "19:00"})
    }
    fn malformed(&self) -> Vec<Value> {
        vec![
            json!({}),
            json!({"slot": "8:00"}),
            json!({"slot": "25:00"}),
            json!({"slot": 800}),
            json!({"slot": "10:00", "x": 1}),
        ]
    }
    async fn free(&self) -> i64 {
        self.places_left("10:00").await.into()
    }
}

ledger::contract_tests!(crate::helpers::TestApp);
