//! Replies lost on the network: iptables drops what a participant sends on
//! the loopback, for less and for more than the saga deadline.

use std::process::Command;
use std::time::Duration;

use super::{all_final, failed_with, parked, start};
use crate::{assert_conservation, begin};

/// The deadline of these drills' sagas (`SAGA_DEADLINE_MS`): short, so
/// that a fault outlasts it within seconds.
const DEADLINE: Duration = Duration::from_secs(5);

/// An iptables rule that drops every packet `port` sends on the loopback:
/// requests reach the service and are applied, the answers never arrive.
/// Removed when dropped (a panic included); a rule left by a killed run is
/// removed by the next one (they carry the comment `RULE_COMMENT`).
struct LostReplies {
    port: u16,
}

const RULE_COMMENT: &str = "shop-crash-drill";

impl LostReplies {
    fn rule(port: u16) -> Vec<String> {
        [
            "OUTPUT",
            "-o",
            "lo",
            "-p",
            "tcp",
            "--sport",
            &port.to_string(),
            "-m",
            "comment",
            "--comment",
            RULE_COMMENT,
            "-j",
            "DROP",
        ]
        .map(String::from)
        .to_vec()
    }

    fn start(port: u16) -> Self {
        iptables(&[&["-I".to_owned()], &Self::rule(port)[..]].concat());
        Self { port }
    }

    /// Removes the rules earlier runs left behind.
    fn clear_leftovers() {
        let listed = Command::new("iptables")
            .args(["-w", "-S", "OUTPUT"])
            .output()
            .expect("iptables -S (as root, iptables installed: scripts/test installs it)");
        for line in String::from_utf8_lossy(&listed.stdout).lines() {
            if let Some(spec) = line
                .strip_prefix("-A ")
                .filter(|l| l.contains(RULE_COMMENT))
            {
                let args: Vec<String> = std::iter::once("-D".to_owned())
                    .chain(
                        spec.split_whitespace()
                            .map(|a| a.trim_matches('"').to_owned()),
                    )
                    .collect();
                iptables(&args);
            }
        }
    }
}

impl Drop for LostReplies {
    fn drop(&mut self) {
        iptables(&[&["-D".to_owned()], &Self::rule(self.port)[..]].concat());
    }
}

fn iptables(args: &[String]) {
    let status = Command::new("iptables")
        .arg("-w")
        .args(args)
        .status()
        .expect("running iptables (as root; scripts/test installs it)");
    assert!(status.success(), "iptables {}: {status}", args.join(" "));
}

/// Replies of one participant lost: for less than the saga deadline (every
/// order ends as usual), then for longer (the orders caught fail with
/// `Service unavailable: <participant>` and are compensated exactly).
async fn lose_replies(participant: &str) {
    let (_alone, drill) = begin().await;
    LostReplies::clear_leftovers();
    let running = start(&drill, 10).await;
    let deadline_ms = DEADLINE.as_millis().to_string();
    // Compensations retried for longer than the fault, so none parks.
    let mediator = running
        .mediator(
            &drill,
            "mediator",
            &[
                ("SAGA_DEADLINE_MS", &deadline_ms),
                ("COMPENSATION_ATTEMPTS", "1000"),
            ],
        )
        .await;
    let port = match participant {
        "billing" => running.services.billing.port,
        "items" => running.services.items.port,
        other => panic!("no participant {other}"),
    };
    let unavailable = format!("Service unavailable: {participant}");

    // Shorter than the deadline: late answers, retried, nothing else.
    let placing = running.place(4);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let short = LostReplies::start(port);
    tokio::time::sleep(DEADLINE / 3).await;
    drop(short);
    let mut accepted = placing.await.expect("placing orders");
    all_final(&drill, Duration::from_secs(60), &[&mediator]).await;
    assert_eq!(
        failed_with(&drill, &unavailable).await,
        0,
        "a fault shorter than the deadline fails nothing"
    );

    // Longer than the deadline: what was caught fails, compensated.
    let long = LostReplies::start(port);
    let placing = running.place(2);
    tokio::time::sleep(DEADLINE * 2).await;
    drop(long);
    accepted.extend(placing.await.expect("placing orders"));
    all_final(&drill, Duration::from_secs(90), &[&mediator]).await;
    let failed = failed_with(&drill, &unavailable).await;
    eprintln!(
        "{participant}'s replies lost: {} orders, {failed} failed with \"{unavailable}\"",
        accepted.len()
    );
    assert!(failed > 0, "no order outlasted the deadline");
    assert_eq!(parked(&drill).await, 0, "nothing parked");
    assert_conservation(&drill, &running.users, &accepted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn billing_replies_lost_delay_or_fail_orders_and_lose_no_money() {
    lose_replies("billing").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn items_replies_lost_delay_or_fail_orders_and_lose_no_stock() {
    lose_replies("items").await;
}
