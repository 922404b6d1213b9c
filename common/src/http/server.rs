//! Serving a service: its routes plus the operational ones, every rejection
//! turned into JSON, one log line and one metric per request, and a graceful
//! shutdown that lets requests in flight finish.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use futures::future::BoxFuture;
use futures::FutureExt;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use super::error::recover;
use super::ops::{self, ReadyCheck};
use crate::metrics;

/// A bound server: `addr` is the real address (the port is known even when
/// 0 was asked for); awaiting `run` serves until the shutdown signal.
pub struct Server {
    pub addr: SocketAddr,
    pub run: BoxFuture<'static, ()>,
}

/// Binds `routes` (with the operational routes) on `addr`.
pub fn serve(
    addr: SocketAddr,
    routes: BoxedFilter<(Response,)>,
    ready: ReadyCheck,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    let app = routes
        .or(ops::routes(ready))
        .unify()
        .recover(recover)
        .unify()
        .with(warp::log::custom(log_request));
    let (addr, run) = warp::serve(app)
        .try_bind_with_graceful_shutdown(addr, shutdown)
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(%addr, "listening");
    Ok(Server {
        addr,
        run: run.boxed(),
    })
}

fn log_request(info: warp::log::Info<'_>) {
    let status = info.status().as_u16();
    let seconds = info.elapsed().as_secs_f64();
    metrics::http_request(info.method().as_str(), status, seconds);
    if matches!(info.path(), "/health" | "/ready" | "/metrics") {
        return;
    }
    tracing::info!(
        method = %info.method(),
        path = info.path(),
        status,
        elapsed_ms = seconds * 1000.0,
        "request"
    );
}
