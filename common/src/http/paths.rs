//! The route templates that label each request's metrics and span. Each
//! route's module declares its own (`pub const PATH`), a service hands its
//! list to [`serve`](super::serve) in [`Routes`], and a path is labelled
//! with the first declared template it matches: a path no route declares is
//! `other`, so a client cannot add label values.

use std::sync::{PoisonError, RwLock};

use warp::filters::BoxedFilter;
use warp::reply::Response;

/// A service's routes and the templates of their paths, `{}` standing for
/// one segment, the more literal ones first (`/api/admin/sagas/stats`
/// before `/api/admin/sagas/{id}`).
pub struct Routes {
    pub filter: BoxedFilter<(Response,)>,
    pub paths: Vec<&'static str>,
}

/// The operational routes' templates (`ops`); `/metrics` is matched first.
pub(crate) const OPS: &[&str] = &["/health", "/ready"];

/// Every template declared in this process, in declaration order. Several
/// services may run in one process (the tests): their templates add up.
/// Written at start, read by every request: readers never wait for each
/// other.
static DECLARED: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());

/// Adds `paths` to the templates requests are labelled with.
pub fn declare(paths: &[&'static str]) {
    let mut declared = DECLARED.write().unwrap_or_else(PoisonError::into_inner);
    for path in paths {
        if !declared.contains(path) {
            declared.push(path);
        }
    }
}

/// The template `path` belongs to (`/metrics` included), or `other`.
pub fn route_label(path: &str) -> &'static str {
    if path == "/metrics" {
        return "/metrics";
    }
    let declared = DECLARED.read().unwrap_or_else(PoisonError::into_inner);
    declared
        .iter()
        .find(|template| matches(template, path))
        .copied()
        .unwrap_or("other")
}

fn matches(template: &str, path: &str) -> bool {
    // warp routes match with or without the trailing slash.
    let (template, path) = (template.trim_end_matches('/'), path.trim_end_matches('/'));
    let (mut want, mut got) = (template.split('/'), path.split('/'));
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') => {
                if g.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_gets_the_first_declared_template_it_matches() {
        declare(&[
            "/api/orders/",
            "/api/orders/{id}",
            "/api/accounts/{username}/deposit",
            "/internal/reservations/{order_id}",
            "/api/admin/sagas/stats",
            "/api/admin/sagas/{id}",
            "/api/admin/sagas/{id}/retry",
            "/console/{file}",
        ]);
        assert_eq!(route_label("/api/orders/42"), "/api/orders/{id}");
        assert_eq!(route_label("/api/orders/"), "/api/orders/");
        assert_eq!(route_label("/api/orders"), "/api/orders/");
        assert_eq!(
            route_label("/api/accounts/alice/deposit"),
            "/api/accounts/{username}/deposit"
        );
        assert_eq!(
            route_label("/internal/reservations/7"),
            "/internal/reservations/{order_id}"
        );
        assert_eq!(
            route_label("/api/admin/sagas/stats"),
            "/api/admin/sagas/stats"
        );
        assert_eq!(route_label("/api/admin/sagas/9"), "/api/admin/sagas/{id}");
        assert_eq!(
            route_label("/api/admin/sagas/9/retry"),
            "/api/admin/sagas/{id}/retry"
        );
        assert_eq!(route_label("/console/console.js"), "/console/{file}");
        assert_eq!(route_label("/api/orders/42/x"), "other");
        assert_eq!(route_label("/wp-admin/../../etc"), "other");
        assert_eq!(route_label("/metrics"), "/metrics");
    }
}
