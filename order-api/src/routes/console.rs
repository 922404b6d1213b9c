//! `/console/`: the operators' web console, one static page (HTML, CSS and
//! JavaScript from `order-api/console/`, built into the binary) that speaks
//! the admin API from the same origin. The page itself is public; every
//! call it makes needs an administrator's token.

use warp::filters::BoxedFilter;
use warp::http::{header, HeaderValue, StatusCode};
use warp::path::FullPath;
use warp::reply::{Reply, Response};
use warp::Filter;

const INDEX: &str = include_str!("../../console/index.html");
const STYLE: &str = include_str!("../../console/console.css");
const SCRIPT: &str = include_str!("../../console/console.js");

/// Only this origin's files and calls; no framing, no inline code.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
                      base-uri 'none'; form-action 'self'";

/// The templates of the console's paths: the page, and each of its files.
pub const PATHS: [&str; 2] = ["/console/", "/console/{file}"];

pub fn route() -> BoxedFilter<(Response,)> {
    // The path first: a method filter in front would answer 405 to every
    // other service path's unmatched POST instead of its 404.
    warp::path("console")
        .and(warp::get())
        .and(warp::path::full())
        .and_then(|path: FullPath| async move {
            page(path.as_str()).ok_or_else(warp::reject::not_found)
        })
        .boxed()
}

fn page(path: &str) -> Option<Response> {
    let (body, content_type) = match path {
        "/console" => {
            let mut moved = StatusCode::MOVED_PERMANENTLY.into_response();
            let to = HeaderValue::from_static("/console/");
            moved.headers_mut().insert(header::LOCATION, to);
            return Some(moved);
        }
        "/console/" | "/console/index.html" => (INDEX, "text/html; charset=utf-8"),
        "/console/console.css" => (STYLE, "text/css; charset=utf-8"),
        "/console/console.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        _ => return None,
    };
    let mut reply = body.into_response();
    let headers = reply.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        // A new build's page is seen at the next load.
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    Some(reply)
}
