//! JSON in and out. Bodies are read with a size limit and parsed with the
//! path of the offending field, so a wrong type or a missing field answers 400
//! naming the field.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

use super::error::ApiError;

/// The largest request body any endpoint accepts.
pub const MAX_BODY_BYTES: u64 = 16 * 1024;

/// Extracts a JSON body of type `T`, or rejects with a 4xx naming the fault.
pub fn json_body<T>() -> impl Filter<Extract = (T,), Error = Rejection> + Clone
where
    T: DeserializeOwned + Send,
{
    warp::body::content_length_limit(MAX_BODY_BYTES)
        .and(warp::body::bytes())
        .and_then(|bytes: Bytes| async move { parse::<T>(&bytes).map_err(Rejection::from) })
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let error = ApiError::bad_request(format!("invalid JSON body: {inner}"));
        if path.is_empty() || path == "." {
            error
        } else {
            error.with_field(path)
        }
    })?;
    de.end()
        .map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))?;
    Ok(value)
}

/// A JSON response with a status.
pub fn json_reply<T: Serialize>(body: &T, status: StatusCode) -> Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}
