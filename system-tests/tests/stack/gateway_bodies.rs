//! The gateway under abusive bodies: a body over the services' 16 KiB
//! limit (`MAX_BODY_BYTES`, the chart's `ingress.maxBodySize`) is refused
//! by the gateway itself with the services' JSON 413, announced by
//! Content-Length or sent chunked, so it never reaches a service; and the
//! requests after it never get a 502 (a refused body left on an upstream
//! keep-alive connection once broke the next request sent down it). Headers
//! past its 8 KiB buffers are its JSON 400 as well.

use serde_json::json;
use shop_client::{Answer, Call, Method, Shop, StatusCode};
use system_tests::LocalStack;

const LIMIT: usize = 16 * 1024;

/// A JSON body `{"token":"xxx..."}` of exactly `bytes` bytes.
fn body_of(bytes: usize) -> Vec<u8> {
    let body = format!("{{\"token\":\"{}\"}}", "x".repeat(bytes - 12));
    assert_eq!(body.len(), bytes);
    body.into_bytes()
}

/// POSTs `body` whole (this client sends no `Expect: 100-continue`, which
/// would let the gateway refuse it before it is sent), announced by
/// Content-Length or, `chunked`, by Transfer-Encoding.
async fn post(shop: &Shop, path: &str, body: Vec<u8>, chunked: bool) -> Answer {
    let mut headers = vec![("content-type", "application/json")];
    if chunked {
        headers.push(("transfer-encoding", "chunked"));
    }
    let call = Call {
        raw: Some(body),
        headers: &headers,
        ..Call::default()
    };
    shop.call(Method::POST, path, call)
        .await
        .expect("an answer")
}

fn assert_too_large(answer: &Answer, what: &str) {
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{what}: {}",
        answer.text
    );
    assert_eq!(
        answer.body,
        json!({"error": "the body is too large"}),
        "{what}"
    );
    assert!(answer.is_json(), "{what}: {:?}", answer.headers);
}

#[tokio::test]
async fn twenty_oversized_bodies_are_refused_and_the_request_after_each_is_served() {
    let gateway = LocalStack::shop(&LocalStack::from_env().gateway);
    for round in 0..20 {
        let big = post(&gateway, "/api/token/verify/", body_of(200_000), false).await;
        let next = post(&gateway, "/api/token/verify/", body_of(20), false).await;

        assert_too_large(&big, &format!("round {round}, 200 KB"));
        assert_eq!(
            next.status,
            StatusCode::UNAUTHORIZED,
            "round {round}: {}",
            next.text
        );
    }
}

#[tokio::test]
async fn the_limit_holds_at_one_byte_over_announced_or_chunked() {
    let gateway = LocalStack::shop(&LocalStack::from_env().gateway);
    for chunked in [false, true] {
        let over = post(&gateway, "/api/token/verify/", body_of(LIMIT + 1), chunked).await;
        let at = post(&gateway, "/api/token/verify/", body_of(LIMIT), chunked).await;
        let big = post(&gateway, "/api/token/verify/", body_of(200_000), chunked).await;
        let next = post(&gateway, "/api/token/verify/", body_of(20), chunked).await;

        assert_too_large(&over, &format!("one byte over, chunked {chunked}"));
        assert_eq!(
            at.status,
            StatusCode::UNAUTHORIZED,
            "16 KiB reaches the service: {}",
            at.text
        );
        assert_too_large(&big, &format!("200 KB, chunked {chunked}"));
        assert_eq!(next.status, StatusCode::UNAUTHORIZED, "{}", next.text);
    }
}

#[tokio::test]
async fn every_public_prefix_has_the_limit_and_other_paths_stay_a_json_404() {
    let gateway = LocalStack::shop(&LocalStack::from_env().gateway);
    let public = [
        "/api/auth/users/",
        "/api/token/",
        "/api/token/refresh/",
        "/api/accounts/ann/deposit",
        "/api/orders/",
    ];
    for path in public {
        assert_too_large(&post(&gateway, path, body_of(200_000), false).await, path);
    }
    for (path, bytes) in [
        ("/api/profiles/", LIMIT + 1),
        ("/internal/reservations/1", 20),
    ] {
        let answer = post(&gateway, path, body_of(bytes), false).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            answer.text
        );
        assert_eq!(answer.body, json!({"error": "not found"}), "{path}");
    }
}

/// Headers past the gateway's 8 KiB buffers are its JSON 400, not nginx's
/// HTML page, and the next request is served.
#[tokio::test]
async fn headers_too_large_are_a_json_400() {
    let gateway = LocalStack::shop(&LocalStack::from_env().gateway);
    let big = "b".repeat(9000);
    let headers = [("x-big", big.as_str())];
    let call = Call {
        headers: &headers,
        ..Call::default()
    };
    let answer = gateway
        .call(Method::GET, "/api/orders/", call)
        .await
        .expect("an answer");
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    assert_eq!(answer.body, json!({"error": "request headers too large"}));
    assert!(answer.is_json(), "{:?}", answer.headers);
    let next = post(&gateway, "/api/token/verify/", body_of(20), false).await;
    assert_eq!(next.status, StatusCode::UNAUTHORIZED, "{}", next.text);
}
