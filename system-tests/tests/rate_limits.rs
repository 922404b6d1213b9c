//! The gateway's rate limits, against a gateway of their own that
//! `scripts/gateway-ratelimit` renders from the chart with low limits and
//! starts on a spare port (`RATE_LIMITED_URL`), in front of the running
//! stack's services: `RATE` requests a second and a burst of `BURST` for
//! the sign-in paths, and the same, in a zone of their own, for orders.
//!
//! A burst of logins, then sign-up, refresh, verify and logout (one
//! allowance for them all), gets exactly burst + 1 answers from auth and
//! then the gateway's JSON 429 with `Retry-After`. A burst of orders from
//! the same address, the login allowance spent, gets burst + 1 of
//! order-api's answers (an allowance of its own), then the same 429.
//! `GET /api/accounts/`, a path of another Ingress, sent after each, is
//! never limited. After `Retry-After`, a login and an order get through.
//!
//! The counts do not depend on timing but for one bound: nginx lets at
//! most burst + 1 + rate x (the seconds the burst took) through. So that
//! they count what the chart rendered, the gateway's config
//! (`RATE_LIMITED_CONF`) must hold those limits: logins and orders each in
//! a zone of its own at `RATE`/s with a burst of `BURST`.

use std::time::{Duration, Instant};

use serde_json::json;
use shop_client::{Answer, Call, Method, Shop, StatusCode};

/// Requests past an allowance: enough to be refused even if the burst took
/// seconds.
const EXTRA: usize = 14;

struct Limits {
    rate: usize,
    burst: usize,
}

impl Limits {
    /// The `limit_req` zone of `location PATH {` in the rendered config,
    /// which must limit it at these limits.
    fn zone_of<'a>(&self, conf: &'a str, path: &str) -> &'a str {
        let location = format!("location {path} {{");
        let zone = conf
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with(&location))
            .find_map(|line| line.split_once("limit_req zone="))
            .and_then(|(_, rest)| rest.split_once(' '))
            .filter(|(_, rest)| rest.starts_with(&format!("burst={} nodelay;", self.burst)))
            .map(|(zone, _)| zone)
            .unwrap_or_else(|| {
                panic!(
                    "the gateway's config does not limit {path} with burst={}",
                    self.burst
                )
            });
        let rate = format!("limit_req_zone $binary_remote_addr zone={zone}:");
        assert!(
            conf.lines()
                .map(str::trim)
                .any(|line| line.starts_with(&rate)
                    && line.ends_with(&format!(" rate={}r/s;", self.rate))),
            "the gateway's zone {zone} (for {path}) is not at rate={}r/s",
            self.rate
        );
        zone
    }
}

fn setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: scripts/gateway-ratelimit starts the gateway and runs this test")
    })
}

/// One request of a burst: the path and the status its service answers.
struct Request {
    path: &'static str,
    service_answers: StatusCode,
}

/// What a burst got, and how long it took.
struct Burst {
    answers: Vec<(Request, Answer)>,
    took: Duration,
}

async fn send(shop: &Shop, method: Method, path: &str) -> Answer {
    let body = json!({});
    let call = Call {
        json: (method == Method::POST).then_some(&body),
        ..Call::default()
    };
    shop.call(method, path, call)
        .await
        .unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// Sends `requests` one after another, each followed by a GET of another
/// Ingress's path, which must get billing's own JSON 401.
async fn burst_of(shop: &Shop, requests: Vec<Request>) -> Burst {
    let began = Instant::now();
    let mut answers = Vec::new();
    for request in requests {
        let answer = send(shop, Method::POST, request.path).await;
        answers.push((request, answer));
        let other = send(shop, Method::GET, "/api/accounts/nobody/").await;
        assert_eq!(
            other.status,
            StatusCode::UNAUTHORIZED,
            "a path of another Ingress is never limited: {}",
            other.text
        );
        assert!(other.body["error"].is_string(), "{}", other.text);
    }
    Burst {
        answers,
        took: began.elapsed(),
    }
}

/// The first burst + 1 reach `service`, the rest get the gateway's 429.
fn assert_limited(burst: &Burst, limits: &Limits, service: &str) {
    let head = &burst.answers[..=limits.burst];
    for (request, answer) in head {
        assert_eq!(
            answer.status, request.service_answers,
            "the first burst + 1 reach {service}: {} got {}",
            request.path, answer.text
        );
        assert!(answer.is_json(), "{}: {:?}", request.path, answer.headers);
    }
    let refused: Vec<_> = burst
        .answers
        .iter()
        .filter(|(_, answer)| answer.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    for (request, answer) in &burst.answers {
        assert!(
            answer.status == request.service_answers
                || answer.status == StatusCode::TOO_MANY_REQUESTS,
            "{}: {service}'s answer or the gateway's 429, got {}",
            request.path,
            answer.status
        );
    }
    let admitted = burst.answers.len() - refused.len();
    let bound = limits.burst + 1 + (limits.rate as f64 * burst.took.as_secs_f64()) as usize;
    assert!(
        admitted <= bound,
        "at most burst + 1 + rate x {:.2} s = {bound} reach {service}, {admitted} did",
        burst.took.as_secs_f64()
    );
    assert!(
        !refused.is_empty(),
        "none of {} refused in {:.1} s: the gateway has no limit",
        burst.answers.len(),
        burst.took.as_secs_f64()
    );
    for (request, answer) in refused {
        assert_eq!(
            answer.body,
            json!({"error": "too many requests"}),
            "{}",
            request.path
        );
        assert!(answer.is_json(), "{}: {:?}", request.path, answer.headers);
        let retry_after = answer
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok());
        assert_eq!(retry_after, Some("1"), "{}", request.path);
    }
    eprintln!(
        "{service}: {admitted} of {} reached it in {:.2} s, the rest got 429",
        burst.answers.len(),
        burst.took.as_secs_f64()
    );
}

#[tokio::test]
async fn logins_and_orders_each_get_burst_plus_one_then_the_gateways_json_429() {
    let limits = Limits {
        rate: setting("RATE").parse().expect("RATE: a whole number"),
        burst: setting("BURST").parse().expect("BURST: a whole number"),
    };
    let conf = std::fs::read_to_string(setting("RATE_LIMITED_CONF")).expect("the gateway's config");
    let (login_zone, orders_zone) = (
        limits.zone_of(&conf, "/api/token/"),
        limits.zone_of(&conf, "/api/orders/"),
    );
    assert_ne!(login_zone, orders_zone, "logins and orders share a zone");
    // Requests auth refuses as bad input (400), or for want of a token
    // (logout, 401): no side effects, and no failed login for its throttle.
    let shop = Shop::new(&setting("RATE_LIMITED_URL")).expect("a client");
    let login = || Request {
        path: "/api/token/",
        service_answers: StatusCode::BAD_REQUEST,
    };
    let mut logins: Vec<Request> = (0..=limits.burst + EXTRA).map(|_| login()).collect();
    for (path, status) in [
        ("/api/auth/users/", StatusCode::BAD_REQUEST),
        ("/api/token/refresh/", StatusCode::BAD_REQUEST),
        ("/api/token/verify/", StatusCode::BAD_REQUEST),
        ("/api/token/logout/", StatusCode::UNAUTHORIZED),
    ] {
        logins.push(Request {
            path,
            service_answers: status,
        });
    }
    let logins = burst_of(&shop, logins).await;
    assert_limited(&logins, &limits, "auth");

    // Orders, from the same address with the logins' allowance spent:
    // order-api refuses them for want of a token before placing anything.
    let orders = (0..=limits.burst + EXTRA)
        .map(|_| Request {
            path: "/api/orders/",
            service_answers: StatusCode::UNAUTHORIZED,
        })
        .collect();
    let orders = burst_of(&shop, orders).await;
    assert_limited(&orders, &limits, "order-api");

    // Retry-After tells the truth: one more request fits after a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let login = send(&shop, Method::POST, "/api/token/").await;
    let order = send(&shop, Method::POST, "/api/orders/").await;
    assert_eq!(login.status, StatusCode::BAD_REQUEST, "{}", login.text);
    assert_eq!(order.status, StatusCode::UNAUTHORIZED, "{}", order.text);
}
