//! The `Idempotency-Key` header that money-moving requests may carry: a
//! repeat with the same key is the same request, answered the same way.

use warp::{Filter, Rejection};

use super::error::ApiError;

/// A client's key: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &str) -> Result<Self, ApiError> {
        let visible = value.bytes().all(|b| b.is_ascii_graphic());
        if value.is_empty() || value.len() > 255 || !visible {
            return Err(ApiError::bad_request(
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

to_sql_as!(IdempotencyKey, &str, |key| key.0.as_str());

/// The request's `Idempotency-Key`, if it sent one; 400 if it is malformed.
pub fn idempotency_key(
) -> impl Filter<Extract = (Option<IdempotencyKey>,), Error = Rejection> + Clone {
    warp::header::optional::<String>("idempotency-key").and_then(|key: Option<String>| async move {
        key.map(|k| IdempotencyKey::parse(&k))
            .transpose()
            .map_err(Rejection::from)
    })
}
