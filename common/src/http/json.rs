//! JSON in and out. Bodies are read with a size limit and parsed with the
//! path of the offending field, so a wrong type or a missing field answers 400
//! naming the field.

use bytes::Buf;
use futures::StreamExt;
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
    warp::header::optional::<u64>("content-length")
        .and(warp::body::stream())
        .and_then(|declared: Option<u64>, body| async move {
            let bytes = read_limited(declared, body).await?;
            parse::<T>(&bytes).map_err(Rejection::from)
        })
}

/// Reads the whole body, refusing more than `MAX_BODY_BYTES` whether it
/// was announced by `Content-Length` or sent chunked.
async fn read_limited<S, B>(declared: Option<u64>, body: S) -> Result<Vec<u8>, ApiError>
where
    S: futures::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let too_large = || ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large");
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    futures::pin_mut!(body);
    while let Some(chunk) = body.next().await {
        let mut chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        if bytes.len() + chunk.remaining() > MAX_BODY_BYTES as usize {
            return Err(too_large());
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            bytes.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(bytes)
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
