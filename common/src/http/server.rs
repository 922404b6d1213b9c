//! Serving a service: its routes plus the operational ones, every rejection
//! turned into JSON, one log line, one metric and (with traces on) one span
//! per request, and a graceful shutdown: `/ready` turns 503 at once, the
//! server goes on accepting for `SHUTDOWN_DELAY_MS`, then lets the requests
//! in flight finish.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::future::BoxFuture;
use futures::FutureExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower_service::Service;
use tracing::Instrument;
use warp::http::{Request, StatusCode};
use warp::reply::{Reply, Response};
use warp::Filter;

use super::error::{recover, ApiError};
use super::ops::{self, ReadyCheck};
use super::paths::{self, Routes};
use crate::config::Listen;
use crate::{metrics, telemetry};

/// A bound server: `addr` is the real address (the port is known even when
/// 0 was asked for); awaiting `run` serves until the shutdown signal.
pub struct Server {
    pub addr: SocketAddr,
    pub run: BoxFuture<'static, ()>,
}

/// Binds `routes` (with the operational routes) where `listen` says, with
/// its header-read and request timeouts, their templates declared for the
/// metrics and spans. Must be called inside the runtime.
pub fn serve(
    listen: &Listen,
    routes: Routes,
    ready: ReadyCheck,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    paths::declare(&routes.paths);
    paths::declare(paths::OPS);
    let draining = Arc::new(AtomicBool::new(false));
    let app = routes
        .filter
        .or(ops::routes(unready_while_draining(ready, draining.clone())))
        .unify()
        .recover(recover)
        .unify()
        .with(warp::log::custom(log_request));
    let service = warp::service(app);
    let listener = std::net::TcpListener::bind(listen.addr)
        .and_then(|listener| {
            listener.set_nonblocking(true)?;
            TcpListener::from_std(listener)
        })
        .with_context(|| format!("binding {}", listen.addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(listen.header_timeout);
    let request_timeout = listen.request_timeout;
    let delay = listen.shutdown_delay;
    let stop = async move {
        shutdown.await;
        draining.store(true, Ordering::Relaxed);
        tracing::info!(
            delay_ms = delay.as_millis() as u64,
            "shutting down: /ready answers 503"
        );
        tokio::time::sleep(delay).await;
    };
    let run = async move {
        let connections = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(stop);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors, say: wait rather than spin.
                        tracing::warn!(error = %err, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            if let Err(err) = stream.set_nodelay(true) {
                tracing::debug!(error = %err, "TCP_NODELAY not set");
            }
            let service = service.clone();
            let answer = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(PeerAddr(peer));
                let span = telemetry::server_span(
                    request.method(),
                    request.uri().path(),
                    request.headers(),
                );
                let answer =
                    within(request_timeout, service.clone(), request).instrument(span.clone());
                async move {
                    let answer = answer.await;
                    if let Ok(response) = &answer {
                        telemetry::record_status(&span, response.status().as_u16());
                    }
                    answer
                }
            });
            let connection = connections.watch(http.serve_connection(TokioIo::new(stream), answer));
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
            });
        }
        // Stop accepting, let the requests in flight finish, close idle
        // connections.
        drop(listener);
        connections.shutdown().await;
    };
    Ok(Server {
        addr,
        run: run.boxed(),
    })
}

/// `ready`, except that once the server drains it answers "shutting down".
fn unready_while_draining(ready: ReadyCheck, draining: Arc<AtomicBool>) -> ReadyCheck {
    Arc::new(move || match draining.load(Ordering::Relaxed) {
        true => futures::future::ready(Err("shutting down".to_owned())).boxed(),
        false => ready(),
    })
}

/// The address of the connection's other end (a client, or a proxy in
/// front of the service), kept in each request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Answers `request` with `service`, or 408 once `timeout` has passed.
async fn within<S>(
    timeout: Duration,
    mut service: S,
    request: Request<Incoming>,
) -> Result<Response, Infallible>
where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible>,
{
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    match tokio::time::timeout(timeout, service.call(request)).await {
        Ok(answer) => answer,
        Err(_) => {
            metrics::http_request(&method, &path, 408, timeout.as_secs_f64());
            tracing::warn!(%method, path = %truncated(&path), "request timed out");
            let message = format!("the request took longer than {} s", timeout.as_secs());
            Ok(ApiError::new(StatusCode::REQUEST_TIMEOUT, message).into_response())
        }
    }
}

fn log_request(info: warp::log::Info<'_>) {
    let status = info.status().as_u16();
    let seconds = info.elapsed().as_secs_f64();
    metrics::http_request(info.method(), info.path(), status, seconds);
    if matches!(info.path(), "/health" | "/ready" | "/metrics") {
        return;
    }
    tracing::info!(
        method = %info.method(),
        path = %truncated(info.path()),
        status,
        elapsed_ms = seconds * 1000.0,
        "request"
    );
}

/// A client's path, cut to 200 bytes for a log line.
fn truncated(path: &str) -> &str {
    let mut end = path.len().min(200);
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;

    async fn spawn(listen: Listen) -> SocketAddr {
        spawn_until(listen, futures::future::pending()).await
    }

    async fn spawn_until(
        listen: Listen,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> SocketAddr {
        let routes = warp::path!("slow")
            .then(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                warp::reply().into_response()
            })
            .or(warp::path!("echo")
                .and(crate::http::json_body::<serde_json::Value>())
                .map(|v| crate::http::json_reply(&v, StatusCode::OK)))
            .unify()
            .boxed();
        let ready: ReadyCheck = std::sync::Arc::new(|| async { Ok(()) }.boxed());
        let routes = Routes {
            filter: routes,
            paths: vec!["/slow", "/echo"],
        };
        let server = serve(&listen, routes, ready, shutdown).expect("bound");
        tokio::spawn(server.run);
        server.addr
    }

    /// Writes `request`, then reads until the server closes (or 3 s pass).
    fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(addr).expect("connected");
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout set");
        stream.write_all(request).expect("written");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    }

    fn get(addr: SocketAddr, path: &'static str) -> tokio::task::JoinHandle<String> {
        tokio::task::spawn_blocking(move || {
            let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            exchange(addr, request.as_bytes())
        })
    }

    #[tokio::test]
    async fn on_shutdown_it_answers_unready_but_serves_through_the_delay_then_closes() {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let listen = Listen {
            shutdown_delay: Duration::from_millis(1500),
            ..Listen::ephemeral()
        };
        let addr = spawn_until(listen, async {
            let _ = stopped.await;
        })
        .await;
        assert!(get(addr, "/ready")
            .await
            .expect("joined")
            .starts_with("HTTP/1.1 200"));

        stop.send(()).expect("still serving");
        tokio::time::sleep(Duration::from_millis(200)).await;

        let ready = get(addr, "/ready").await.expect("joined");
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready:?}");
        assert!(ready.contains("shutting down"), "{ready:?}");
        let health = get(addr, "/health").await.expect("joined");
        assert!(health.starts_with("HTTP/1.1 200"), "{health:?}");
        tokio::time::sleep(Duration::from_millis(2000)).await;
        assert!(
            TcpStream::connect(addr).is_err(),
            "still accepting after the delay"
        );
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_headers_is_cut_off() {
        let addr = spawn(Listen {
            header_timeout: Duration::from_millis(300),
            ..Listen::ephemeral()
        })
        .await;

        let started = std::time::Instant::now();
        let answer = tokio::task::spawn_blocking(move || {
            exchange(addr, b"GET /health HTTP/1.1\r\nHost: x\r\n")
        })
        .await
        .expect("joined");

        // Closed by the server, long before the client's 3 s read timeout.
        assert!(started.elapsed() < Duration::from_secs(2), "{answer:?}");
        assert!(!answer.contains("200 OK"), "{answer:?}");
    }

    #[tokio::test]
    async fn a_request_past_the_timeout_is_408_and_closes() {
        let addr = spawn(Listen {
            request_timeout: Duration::from_millis(300),
            ..Listen::ephemeral()
        })
        .await;

        let answer = tokio::task::spawn_blocking(move || {
            exchange(addr, b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        })
        .await
        .expect("joined");

        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
        assert!(
            answer.to_lowercase().contains("connection: close"),
            "{answer:?}"
        );
        assert!(answer.contains("\"error\""), "{answer:?}");
    }

    #[tokio::test]
    async fn a_body_refused_as_too_large_closes_the_connection() {
        let addr = spawn(Listen::ephemeral()).await;
        let body = vec![b'x'; 200_000];
        let mut request = format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(&body);

        let answer = tokio::task::spawn_blocking(move || exchange(addr, &request))
            .await
            .expect("joined");

        assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
        assert!(
            answer.to_lowercase().contains("connection: close"),
            "{answer:?}"
        );
    }

    #[tokio::test]
    async fn made_up_methods_and_paths_add_no_series_to_the_metrics() {
        let addr = spawn(Listen::ephemeral()).await;
        let metrics = move || {
            let answer = exchange(
                addr,
                b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            );
            answer
                .lines()
                .filter(|line| line.starts_with("http_requests_total{"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };

        let answers = tokio::task::spawn_blocking(move || {
            let mut answers = Vec::new();
            for n in 0..20 {
                let request = format!(
                    "FROB{n} /made/up/{n} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                );
                answers.push(exchange(addr, request.as_bytes()));
            }
            answers
        })
        .await
        .expect("joined");
        let after = tokio::task::spawn_blocking(metrics).await.expect("joined");

        assert!(
            answers.iter().all(|a| a.starts_with("HTTP/1.1 4")),
            "{answers:?}"
        );
        let made_up: Vec<_> = after
            .iter()
            .filter(|line| line.contains("FROB") || line.contains("made/up"))
            .collect();
        assert!(made_up.is_empty(), "{made_up:?}");
        let counted = after
            .iter()
            .find(|line| line.contains("method=\"OTHER\"") && line.contains("route=\"other\""))
            .unwrap_or_else(|| panic!("no OTHER/other series in {after:?}"));
        let count: u64 = counted
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_default();
        assert!(count >= 20, "{counted}");
    }
}
