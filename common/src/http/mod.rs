//! Everything HTTP that the services share: the error type and the
//! rejection handler, JSON bodies, the authentication filters, the
//! operational routes, the route templates that label metrics and spans,
//! and the server itself.

pub mod auth;
pub mod error;
pub mod idempotency;
pub mod json;
pub mod ops;
pub mod paths;
pub mod proxies;
pub mod server;

pub use auth::{
    admin, bearer, require_owner, service_credential, Admin, Caller, Callers, CredentialDigest,
    SERVICE_TOKEN_HEADER,
};
pub use error::ApiError;
pub use idempotency::{idempotency_key, IdempotencyKey};
pub use json::{json_body, json_reply};
pub use paths::Routes;
pub use proxies::{client_address, TrustedProxies};
pub use server::{serve, Server};

use warp::reply::{Reply, Response};
use warp::Filter;

/// Hands a clone of `value` (a pool, a key, settings) to every request.
pub fn with<T: Clone + Send + Sync + 'static>(
    value: T,
) -> impl Filter<Extract = (T,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || value.clone())
}

/// A handler's result as a response: the reply, or the error as JSON.
pub fn respond<T: Reply>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(reply) => reply.into_response(),
        Err(err) => err.into_response(),
    }
}
