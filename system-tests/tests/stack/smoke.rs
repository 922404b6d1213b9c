//! A customer's first steps, through each service's own port and then
//! through the gateway: sign-up, login, one's own wallet and no one
//! else's, and an order's saga to its end.

use std::time::Duration;

use serde_json::json;
use shop_client::{Call, Method, NewOrder, StatusCode};
use system_tests::{unique_name, LocalStack};

const PASSWORD: &str = "correct horse";

#[tokio::test]
async fn a_customer_signs_up_logs_in_reads_their_wallet_and_only_theirs() {
    let stack = LocalStack::from_env();
    let (auth, billing) = (
        LocalStack::shop(&stack.auth),
        LocalStack::shop(&stack.billing),
    );
    let (alice, bob) = (unique_name("smoke"), unique_name("smoke"));

    auth.sign_up(&alice, PASSWORD).await.expect("sign-up");
    auth.sign_up(&bob, PASSWORD)
        .await
        .expect("a second sign-up");
    let taken = auth.sign_up(&alice, PASSWORD).await.expect_err("taken");
    let token = auth.login(&alice, PASSWORD).await.expect("login").access;
    let wrong = auth.login(&alice, "wrong horse").await.expect_err("wrong");
    let account = billing.account(&token, &alice).await.expect("own account");
    let others = billing.account(&token, &bob).await.expect_err("another's");
    let anonymous = billing
        .call(
            Method::GET,
            &format!("/api/accounts/{alice}"),
            Call::default(),
        )
        .await
        .expect("an answer");

    assert_eq!(taken.status(), Some(StatusCode::CONFLICT), "{taken}");
    assert_eq!(wrong.status(), Some(StatusCode::UNAUTHORIZED), "{wrong}");
    assert_eq!(account["wallet"], json!(100), "exactly the number 100");
    assert_eq!(account["email"], json!(format!("{alice}@example.com")));
    assert_eq!(others.status(), Some(StatusCode::FORBIDDEN), "{others}");
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous.body["error"].is_string(), "{}", anonymous.text);
}

#[tokio::test]
async fn an_order_placed_at_order_api_completes_and_is_paid_for() {
    let stack = LocalStack::from_env();
    let name = unique_name("smoke");
    let token = LocalStack::shop(&stack.auth)
        .customer(&name, PASSWORD)
        .await
        .expect("a customer");
    let orders = LocalStack::shop(&stack.orders);
    let order = NewOrder {
        amount: json!(10),
        item: 1,
        slot: "10:00",
    };

    let placed = orders.place(&token, &order, None).await.expect("201");
    let done = orders
        .wait_final(&token, placed.id, Duration::from_secs(10))
        .await
        .expect("read");

    assert_eq!(done.status, "completed", "{done:?}");
    let account = LocalStack::shop(&stack.billing)
        .account(&token, &name)
        .await
        .expect("account");
    assert_eq!(account["wallet"], json!(90));
}

#[tokio::test]
async fn the_gateway_routes_the_public_paths_and_hides_the_rest() {
    let stack = LocalStack::from_env();
    let gateway = LocalStack::shop(&stack.gateway);
    let name = unique_name("smoke");
    let token = gateway.customer(&name, PASSWORD).await.expect("a customer");

    gateway
        .account(&token, &name)
        .await
        .expect("a public path is routed");
    let hidden = [
        (Method::POST, "/api/profiles/"),
        (Method::DELETE, "/internal/reservations/1"),
        (Method::POST, "/internal/settlements"),
        (Method::GET, "/health"),
        (Method::GET, "/metrics"),
    ];
    for (method, path) in hidden {
        let body = json!({"username": name, "email": "x@example.com"});
        let answer = gateway
            .call(method, path, Call::with_json(&body))
            .await
            .expect("an answer");
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            answer.text
        );
        assert!(answer.body["error"].is_string(), "{path}: {}", answer.text);
    }
}
