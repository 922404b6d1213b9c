//! The query a list takes, which a bulk retry shares: the filters, `limit`
//! and (a list's alone) `before`.

use common::domain::OrderId;
use common::http::ApiError;
use orders::oversight::{Filter as SagaFilter, StatusFilter};
use serde::Deserialize;
use time::OffsetDateTime;

const MAX_LIMIT: i64 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SagaQuery {
    status: Option<String>,
    username: Option<String>,
    reason: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    since: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    until: Option<OffsetDateTime>,
    pub before: Option<OrderId>,
    limit: Option<i64>,
}

impl SagaQuery {
    /// The filters, the status parsed; 400 for a status nobody has.
    pub fn filter(&self) -> Result<SagaFilter, ApiError> {
        let status = match self.status.as_deref() {
            None => None,
            Some(text) => Some(StatusFilter::parse(text).ok_or_else(|| {
                ApiError::bad_request(
                    "status must be pending, completed, failed, running, compensating or parked",
                )
                .with_field("status")
            })?),
        };
        Ok(SagaFilter {
            status,
            username: self.username.clone(),
            reason: self.reason.clone(),
            since: self.since,
            until: self.until,
        })
    }

    /// `limit`, or `default` when absent; 400 outside 1 to 1000.
    pub fn limit(&self, default: i64) -> Result<i64, ApiError> {
        let limit = self.limit.unwrap_or(default);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(
                ApiError::bad_request(format!("limit must be 1 to {MAX_LIMIT}"))
                    .with_field("limit"),
            );
        }
        Ok(limit)
    }
}
