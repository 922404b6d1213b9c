//! Everything HTTP that the services share: the error type and the
//! rejection handler, JSON bodies, the authentication filters, the
//! operational routes and the server itself.

pub mod auth;
pub mod error;
pub mod idempotency;
pub mod json;
pub mod ops;
pub mod server;

pub use auth::{
    admin, bearer, require_owner, service_credential, Admin, Caller, Callers, SERVICE_TOKEN_HEADER,
};
pub use error::ApiError;
pub use idempotency::{idempotency_key, IdempotencyKey};
pub use json::{json_body, json_reply};
pub use server::{serve, Server};

use std::net::IpAddr;

use warp::reply::{Reply, Response};
use warp::Filter;

/// Hands a clone of `value` (a pool, a key, settings) to every request.
pub fn with<T: Clone + Send + Sync + 'static>(
    value: T,
) -> impl Filter<Extract = (T,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || value.clone())
}

/// The client's address: the last `X-Forwarded-For` entry, which the proxy
/// nearest to the service appended (entries before it are the client's own
/// word), else the connection's peer.
pub fn client_address() -> impl Filter<Extract = (IpAddr,), Error = std::convert::Infallible> + Clone
{
    warp::header::optional::<String>("x-forwarded-for")
        .or(warp::any().map(|| None))
        .unify()
        .and(warp::ext::optional::<server::PeerAddr>())
        .map(
            |forwarded: Option<String>, peer: Option<server::PeerAddr>| {
                forwarded
                    .as_deref()
                    .and_then(|list| list.rsplit(',').next())
                    .and_then(|last| last.trim().parse().ok())
                    .or(peer.map(|p| p.0.ip()))
                    .unwrap_or(IpAddr::from([0, 0, 0, 0]))
            },
        )
}

/// A handler's result as a response: the reply, or the error as JSON.
pub fn respond<T: Reply>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(reply) => reply.into_response(),
        Err(err) => err.into_response(),
    }
}
