//! One error type that knows its HTTP status, and the `recover` function that
//! turns every rejection, ours or warp's, into a JSON body
//! `{"error": "...", "field": "..."}`. Internal errors are logged with their
//! cause chain and answered with an opaque message.

use std::convert::Infallible;

use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::Rejection;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    field: Option<String>,
    cause: Option<anyhow::Error>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            field: None,
            cause: None,
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no credentials, or credentials that do not hold.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403: authenticated, but the resource is someone else's.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 503: a dependency (database, another service) does not answer.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 500: a bug or an unexpected state; the cause is logged, not sent.
    pub fn internal(cause: anyhow::Error) -> Self {
        Self {
            cause: Some(cause),
            ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }

    /// Names the request field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl warp::reject::Reject for ApiError {}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        self.to_response()
    }
}

impl ApiError {
    fn to_response(&self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(error = %format!("{cause:#}"), "internal error");
        }
        let body = Body {
            error: &self.message,
            field: self.field.as_deref(),
        };
        let mut response =
            warp::reply::with_status(warp::reply::json(&body), self.status).into_response();
        // A body refused unread, or a request cut short, leaves bytes on the
        // connection: it must not be reused. Saying so lets a proxy (nginx)
        // drop it instead of sending the next client's request down it.
        // Unavailable is a moment (a failover, a restart): a client that
        // honours Retry-After comes back once it may have passed.
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                warp::http::header::RETRY_AFTER,
                warp::http::HeaderValue::from_static("2"),
            );
        }
        if matches!(
            self.status,
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT
        ) {
            response.headers_mut().insert(
                warp::http::header::CONNECTION,
                warp::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

/// Turns any rejection into a JSON error with the right status.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    if let Some(err) = rejection.find::<ApiError>() {
        return Ok(err.to_response());
    }
    Ok(classify(&rejection).to_response())
}

fn classify(rejection: &Rejection) -> ApiError {
    use warp::reject;
    if rejection.is_not_found() {
        return ApiError::not_found("not found");
    }
    if let Some(err) = rejection.find::<warp::filters::body::BodyDeserializeError>() {
        return ApiError::bad_request(format!("invalid JSON body: {err}"));
    }
    if rejection.find::<reject::PayloadTooLarge>().is_some() {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large");
    }
    if rejection.find::<reject::LengthRequired>().is_some() {
        return ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            "a Content-Length header is required",
        );
    }
    if rejection.find::<reject::UnsupportedMediaType>().is_some() {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/json",
        );
    }
    if let Some(err) = rejection.find::<reject::InvalidQuery>() {
        return ApiError::bad_request(format!("invalid query string: {err}"));
    }
    if let Some(err) = rejection.find::<reject::InvalidHeader>() {
        return ApiError::bad_request(err.to_string());
    }
    if let Some(err) = rejection.find::<reject::MissingHeader>() {
        return ApiError::bad_request(err.to_string());
    }
    if rejection.find::<reject::MethodNotAllowed>().is_some() {
        return ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    ApiError::internal(anyhow::anyhow!("unhandled rejection: {rejection:?}"))
}
