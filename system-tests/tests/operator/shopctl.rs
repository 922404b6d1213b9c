//! The drill's `shopctl` part: the parked sagas as shopctl lists them, the
//! release on both sides, and a second administrator made, used and
//! demoted by `shopctl admin`.

use serde_json::Value;
use system_tests::unique_name;

use crate::stack::{said, succeeded};
use crate::Drill;

impl Drill<'_> {
    pub(crate) fn shopctl_shows_them(&self, parked: &[i64]) {
        let parked_of_the_drill = [
            "sagas",
            "list",
            "--status",
            "parked",
            "--username",
            self.customer,
        ];
        let list = self.shopctl(&parked_of_the_drill);
        for id in parked {
            assert!(
                list.split_whitespace().any(|word| word == id.to_string()),
                "shopctl sagas list --status parked lists #{id}: {list}"
            );
        }
        let json = self.shopctl(&[&parked_of_the_drill[..], &["--json"]].concat());
        let listed: Value = serde_json::from_str(&json).expect("shopctl's JSON");
        let mut ids: Vec<i64> = listed["sagas"]
            .as_array()
            .expect("sagas")
            .iter()
            .filter_map(|s| s["id"].as_i64())
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, parked, "shopctl sagas list --json: {json}");
        assert!(
            listed.get("next_before").is_some(),
            "the API's {{sagas, next_before}}: {json}"
        );

        // The release built here, on both sides.
        let release = env!("CARGO_PKG_VERSION");
        let version = self.shopctl(&["version"]);
        let words: Vec<&str> = version.split_whitespace().collect();
        assert_eq!(
            words,
            ["shopctl", release, "server", release],
            "shopctl version"
        );
        println!("[drill] shopctl lists them, and speaks to release {release}");
    }

    /// A second administrator, made by `shopctl admin create` (auth's own
    /// command, against auth's database), reads the workers; demoted, it is
    /// refused; a customer's name is never promoted.
    pub(crate) fn shopctl_makes_and_demotes_an_administrator(&self) {
        let ops = unique_name("ops");
        let password = format!("{ops} password");
        let made = self
            .stack
            .shopctl_admin(&["create", &ops], Some(&format!("{password}\n")));
        let made = succeeded(&format!("shopctl admin create {ops}"), made);
        assert!(
            made.contains(&format!("created the administrator {ops}")),
            "{made}"
        );
        let workers = self.stack.shopctl_as(&ops, &password, &["workers"]);
        let workers = succeeded(&format!("shopctl workers as {ops}"), workers);
        assert!(workers.contains("WORKER"), "{workers}");

        let demoted = succeeded(
            "shopctl admin demote",
            self.stack.shopctl_admin(&["demote", &ops], None),
        );
        assert!(demoted.contains("is a customer now"), "{demoted}");
        let refused = self.stack.shopctl_as(&ops, &password, &["workers"]);
        assert!(
            !refused.status.success() && said(&refused).contains("403"),
            "a demoted administrator reads the workers: {}",
            said(&refused)
        );

        let customer = self
            .stack
            .shopctl_admin(&["create", self.customer], Some(&format!("{password}\n")));
        assert!(
            !customer.status.success() && said(&customer).contains("customer's username"),
            "shopctl admin create promoted the customer {}: {}",
            self.customer,
            said(&customer)
        );
        println!(
            "[drill] shopctl admin create and demote: an administrator made, used and demoted"
        );
    }

    pub(crate) fn shopctl(&self, args: &[&str]) -> String {
        let output = self.stack.shopctl_as("admin", self.admin_password, args);
        succeeded(&format!("shopctl {}", args.join(" ")), output)
    }
}
