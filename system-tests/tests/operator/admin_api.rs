//! Step 3's first half: the admin API shows the parked sagas as they are
//! (listed by state and customer, counted, each with its stuck cancel in
//! its history) while the customer sees them pending and the stuck cancels
//! hold the money; a completed saga is not retried.

use serde_json::json;
use shop_client::StatusCode;

use crate::sagas::text;
use crate::{Drill, SLOT_REASON};

impl Drill<'_> {
    pub async fn admin_api_shows_them(&self, token: &str, completed: i64, parked: &[i64]) {
        let listed = self
            .admin
            .sagas(&format!("?status=parked&username={}", self.customer))
            .await
            .expect("the parked sagas");
        let sagas = listed["sagas"].as_array().expect("sagas");
        let mut ids: Vec<i64> = sagas.iter().filter_map(|s| s["id"].as_i64()).collect();
        ids.sort_unstable();
        assert_eq!(ids, parked, "?status=parked&username= lists exactly them");
        for saga in sagas {
            assert_eq!(saga["status"], "pending", "pending to the customer: {saga}");
            assert_eq!(
                saga["reason"], SLOT_REASON,
                "the slot's reason kept: {saga}"
            );
            let why = saga["parked_reason"].as_str().unwrap_or_default();
            assert!(
                why.starts_with("money cancel failed"),
                "parked_reason names the money cancel: {saga}"
            );
            assert!(saga["parked_at"].is_string(), "{saga}");
        }
        let stats = self.admin.stats().await.expect("the stats");
        assert!(
            stats["by_state"]["parked"].as_i64() >= Some(3),
            "the stats count them: {stats}"
        );

        let saga = self.admin.saga(parked[0]).await.expect("a parked saga");
        let steps: Vec<String> = saga["history"]
            .as_array()
            .expect("a history")
            .iter()
            .map(|h| {
                format!(
                    "{}:{}:{}",
                    text(&h["step"]),
                    text(&h["action"]),
                    text(&h["outcome"])
                )
            })
            .filter(|s| {
                ["slot:reserve:", "item:cancel:", "money:cancel:"]
                    .iter()
                    .any(|p| s.starts_with(p))
            })
            .collect();
        assert_eq!(
            steps,
            [
                "slot:reserve:refused",
                "item:cancel:released",
                "money:cancel:stuck"
            ],
            "a parked saga's history"
        );
        let order = self.shop.order(token, parked[0]).await.expect("the order");
        assert_eq!(
            order.status, "pending",
            "the customer sees a parked order as pending"
        );
        assert_eq!(
            self.wallet(token).await,
            json!(72),
            "the stuck cancels hold their money (100 - 10 - 18)"
        );
        let refused = self
            .admin
            .retry(completed)
            .await
            .expect_err("a retry of a completed saga");
        assert_eq!(refused.status(), Some(StatusCode::CONFLICT), "{refused}");
        println!("[drill] the admin API shows them parked, with the money cancel stuck");
    }
}
