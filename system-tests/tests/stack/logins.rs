//! Logins under parallel attack: counted before bcrypt, a stranger locks
//! out only themselves, a forged X-Forwarded-For picks no address.

use futures::future::join_all;
use system_tests::{unique_name, LocalStack};

/// What `auth_password_checks_total` counts.
const CHECKS: &str = "auth_password_checks_total";

#[tokio::test]
async fn two_hundred_parallel_wrong_logins_through_the_gateway_reach_bcrypt_ten_times() {
    let stack = LocalStack::from_env();
    let name = unique_name("burst");
    stack.sign_up(&name, "correct horse battery").await;
    let checks_before = stack.auth_counter(CHECKS).await;

    let guesses: Vec<String> = (0..200).map(|i| format!("wrong horse {i}")).collect();
    let answers = join_all(
        guesses
            .iter()
            .map(|guess| stack.login_from("127.0.0.2", &name, guess)),
    )
    .await;

    let checked = answers.iter().filter(|a| a.status == 401).count();
    let throttled: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(checked + throttled.len(), 200, "only 401 and 429");
    // LOGIN_FAILURES_PER_USERNAME (10), with no attempt in flight beyond it:
    // each is counted before its password is checked.
    assert_eq!(checked, 10);
    for answer in throttled {
        assert!(answer.body["error"].is_string(), "{}", answer.text);
        assert!(
            answer.headers.contains_key("retry-after"),
            "{:?}",
            answer.headers
        );
    }
    // Other logins may run beside this test, so the counter may move more;
    // it must have moved by these ten at least, and not by the throttled.
    let checks = stack.auth_counter(CHECKS).await - checks_before;
    assert!(checks >= 10.0, "{checks} password checks");
}

#[tokio::test]
async fn a_stranger_failing_for_a_name_through_the_gateway_never_locks_its_owner_out() {
    let stack = LocalStack::from_env();
    let name = unique_name("owner");
    stack.sign_up(&name, "correct horse battery").await;

    let mut statuses = Vec::new();
    for attempt in 0..15 {
        let guess = stack
            .login_from("127.0.0.3", &name, &format!("wrong {attempt}"))
            .await;
        statuses.push(guess.status.as_u16());
    }
    let stranger = stack
        .login_from("127.0.0.3", &name, "correct horse battery")
        .await;
    let owner = stack
        .login_from("127.0.0.4", &name, "correct horse battery")
        .await;

    assert_eq!(statuses[..10], [401; 10]);
    assert_eq!(statuses[10..], [429; 5]);
    assert_eq!(stranger.status, 429, "{}", stranger.text);
    assert_eq!(owner.status, 200, "{}", owner.text);
}

#[tokio::test]
async fn a_forged_x_forwarded_for_straight_to_auth_is_counted_as_the_peer() {
    let stack = LocalStack::from_env();
    let name = unique_name("forged");
    stack.sign_up(&name, "correct horse battery").await;

    let mut statuses = Vec::new();
    for i in 0..12 {
        let forged = format!("198.51.100.{i}");
        let guess = stack
            .login_direct("127.0.0.5", &forged, &name, "wrong horse")
            .await;
        statuses.push(guess.status.as_u16());
    }

    assert_eq!(statuses[..10], [401; 10], "one address: 127.0.0.5");
    assert_eq!(statuses[10..], [429; 2]);
}
