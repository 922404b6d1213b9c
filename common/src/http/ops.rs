//! The operational routes every service serves (not routed by the ingress):
//! `GET /health` (the process answers, and with which version), `GET /ready` (its dependencies
//! answer) and `GET /metrics` (Prometheus text format).

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::json;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::Filter;

use super::json::json_reply;
use crate::metrics;

/// Checks a service's dependencies; `Err` names the one that does not answer.
pub type ReadyCheck = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

pub fn routes(ready: ReadyCheck) -> BoxedFilter<(Response,)> {
    let health = warp::path!("health").and(warp::get()).map(|| {
        let version = crate::version::VERSION;
        json_reply(&json!({"status": "ok", "version": version}), StatusCode::OK)
    });
    let ready = warp::path!("ready").and(warp::get()).then(move || {
        let check = ready.clone();
        async move {
            match check().await {
                Ok(()) => json_reply(&json!({"status": "ready"}), StatusCode::OK),
                Err(reason) => json_reply(
                    &json!({"status": "not ready", "error": reason}),
                    StatusCode::SERVICE_UNAVAILABLE,
                ),
            }
        }
    });
    let metrics = warp::path!("metrics").and(warp::get()).map(|| {
        warp::reply::with_header(
            metrics::render(),
            "content-type",
            "text/plain; version=0.0.4",
        )
        .into_response()
    });
    health.or(ready).unify().or(metrics).unify().boxed()
}

/// Ready when every one of `checks` is, asked in turn; `Err` names the
/// first that is not.
pub fn all(checks: Vec<ReadyCheck>) -> ReadyCheck {
    use futures::FutureExt;
    Arc::new(move || {
        let checks = checks.clone();
        async move {
            for check in checks {
                check().await?;
            }
            Ok(())
        }
        .boxed()
    })
}
