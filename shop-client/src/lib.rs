//! The shop's API as its clients call it: `Shop` is one connection pool to
//! a base URL (the gateway, or a service's own port), over HTTP or HTTPS;
//! `public` holds what a customer does (sign up, log in, pay in, order),
//! `admin` what an administrator does. Every call answers an `Answer`
//! (status, headers, JSON body) or, through the typed calls, the value
//! itself and a `ShopError` that names the URL and the API's error.
#![forbid(unsafe_code)]

mod admin;
mod http;
mod public;

pub use admin::Admin;
pub use http::{Answer, Call, Shop, ShopError};
pub use hyper::{Method, StatusCode};
pub use public::{NewOrder, Order, Tokens};
