//! Shoppers placing orders through the gateway while servers die, each as
//! a careful client would: every order with an `Idempotency-Key`, retried
//! with that key on 503, 502, 504, 429 and on connection errors until it
//! gets its 201.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use shop_client::{Call, Method, NewOrder};
use system_tests::LocalStack;

/// One answer a shopper got (or the lack of one), and when.
pub struct Attempt {
    pub at: Instant,
    pub outcome: String,
}

/// An order that got its 201, under the key it was placed with.
pub struct Accepted {
    pub key: String,
    pub id: i64,
}

pub struct Shopper {
    pub name: String,
    pub token: String,
}

pub struct Load {
    pub accepted: Vec<Accepted>,
    pub attempts: Vec<Attempt>,
}

/// Signs `count` shoppers up and logs them in.
pub async fn shoppers(stack: &LocalStack, prefix: &str, count: usize) -> Vec<Shopper> {
    let gateway = LocalStack::shop(&stack.gateway);
    let mut shoppers = Vec::new();
    for n in 0..count {
        let name = format!("{prefix}{n}");
        let token = gateway
            .customer(&name, "correct horse battery")
            .await
            .unwrap_or_else(|err| panic!("shopper {name}: {err}"));
        shoppers.push(Shopper { name, token });
    }
    shoppers
}

/// Places orders until `stop`, one shopper per task, each pausing `pace`
/// between orders.
pub async fn run(
    gateway: String,
    shoppers: Vec<Shopper>,
    pace: Duration,
    stop: Arc<AtomicBool>,
) -> Load {
    let tasks: Vec<_> = shoppers
        .into_iter()
        .map(|shopper| tokio::spawn(shop(gateway.clone(), shopper, pace, stop.clone())))
        .collect();
    let mut load = Load {
        accepted: Vec::new(),
        attempts: Vec::new(),
    };
    for task in tasks {
        let (accepted, attempts) = task.await.expect("a shopper ran");
        load.accepted.extend(accepted);
        load.attempts.extend(attempts);
    }
    load
}

async fn shop(
    gateway: String,
    shopper: Shopper,
    pace: Duration,
    stop: Arc<AtomicBool>,
) -> (Vec<Accepted>, Vec<Attempt>) {
    let shop = LocalStack::shop(&gateway);
    let (mut accepted, mut attempts) = (Vec::new(), Vec::new());
    let mut n = 0u32;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let key = format!("{}-{n}", shopper.name);
        let slot = format!("{:02}:00", 8 + n % 11);
        let body = NewOrder {
            amount: json!(0.05),
            item: 1 + n % 10,
            slot: &slot,
        }
        .to_json();
        loop {
            let call = Call {
                token: Some(&shopper.token),
                key: Some(&key),
                json: Some(&body),
                ..Call::default()
            };
            let answer = shop.call(Method::POST, "/api/orders/", call).await;
            let at = Instant::now();
            let (outcome, wait) = match &answer {
                Ok(answer) if answer.status == 201 => {
                    let id = answer.body["id"].as_i64().expect("an order id");
                    accepted.push(Accepted {
                        key: key.clone(),
                        id,
                    });
                    attempts.push(Attempt {
                        at,
                        outcome: "201".into(),
                    });
                    break;
                }
                Ok(answer) if [429, 502, 503, 504].contains(&answer.status.as_u16()) => {
                    let after = answer
                        .headers
                        .get("retry-after")
                        .and_then(|value| value.to_str().ok()?.parse().ok())
                        .map(Duration::from_secs)
                        .unwrap_or(Duration::from_millis(200));
                    (
                        answer.status.as_u16().to_string(),
                        after.min(Duration::from_secs(2)),
                    )
                }
                Ok(answer) => {
                    // Anything else (a 500 above all) is a finding: kept,
                    // and the order given up.
                    attempts.push(Attempt {
                        at,
                        outcome: format!("{} {}", answer.status.as_u16(), answer.text),
                    });
                    break;
                }
                Err(_) => ("connection error".to_owned(), Duration::from_millis(200)),
            };
            attempts.push(Attempt { at, outcome });
            tokio::time::sleep(wait).await;
        }
        tokio::time::sleep(pace).await;
    }
    (accepted, attempts)
}
