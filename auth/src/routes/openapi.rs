//! `GET /api/openapi.yaml`: the OpenAPI 3.1 description of the public API
//! (`openapi.yaml` at the repository's root, built into the binary so the
//! description served is the one of the code that serves it).

use warp::filters::BoxedFilter;
use warp::reply::{Reply, Response};
use warp::Filter;

const DESCRIPTION: &str = include_str!("../../../openapi.yaml");

/// The template of this route's path, which labels its metrics and spans.
pub const PATH: &str = "/api/openapi.yaml";

pub fn route() -> BoxedFilter<(Response,)> {
    warp::path!("api" / "openapi.yaml")
        .and(warp::get())
        .map(|| {
            warp::reply::with_header(DESCRIPTION, "content-type", "application/yaml")
                .into_response()
        })
        .boxed()
}
