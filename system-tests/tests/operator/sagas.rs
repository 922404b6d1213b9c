//! The drill's sagas as the admin API lists them, and waiting until they
//! reach the states the drill expects.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Drill;

/// A saga as the admin API lists it: its state and reason.
pub type States = BTreeMap<i64, (String, String)>;

impl Drill<'_> {
    /// The drill's sagas as the admin API lists them.
    pub async fn states(&self) -> States {
        let listed = self
            .admin
            .sagas(&format!("?username={}&limit=100", self.customer))
            .await
            .expect("the drill's sagas");
        listed["sagas"]
            .as_array()
            .expect("sagas")
            .iter()
            .filter_map(|s| Some((s["id"].as_i64()?, (text(&s["state"]), text(&s["reason"])))))
            .collect()
    }

    /// Until each saga is in its state: the states then.
    pub async fn wait_states(&self, patience: Duration, want: &[(i64, &str)]) -> States {
        let until = Instant::now() + patience;
        loop {
            let states = self.states().await;
            let reached = want
                .iter()
                .all(|(id, state)| states.get(id).is_some_and(|(s, _)| s == state));
            if reached {
                return states;
            }
            assert!(
                Instant::now() < until,
                "wanted {want:?} within {patience:?}; the admin API has {states:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The mediator parks after `COMPENSATION_ATTEMPTS` tries, waiting up to
    /// min(RETRY_MAX_MS, RETRY_BASE_MS * 2^n) between them: the worst
    /// case, and a margin.
    pub fn park_timeout(&self) -> Duration {
        let attempts = self.stack.mediator_setting("COMPENSATION_ATTEMPTS", 30);
        let base = self.stack.mediator_setting("RETRY_BASE_MS", 50);
        let max = self.stack.mediator_setting("RETRY_MAX_MS", 2000);
        let waits: u64 = (0..attempts.saturating_sub(1))
            .map(|n| max.min(base << n.min(20)))
            .sum();
        Duration::from_millis(waits) + Duration::from_secs(15)
    }
}

/// A JSON string as it is, anything else (null) as "".
pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}
