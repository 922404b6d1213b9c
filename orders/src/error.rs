//! The one error of the orders store. A batched statement's error is every
//! caller's in the batch, so the causes are shared (`Arc`), not copied.

use std::sync::Arc;

use common::domain::OrderId;
use common::ApiError;
use deadpool_postgres::PoolError;

use crate::batch::{Gone, Miscounted};

/// Why the orders store gave no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had: worth retrying.
    #[error("orders database unavailable: {0}")]
    Pool(#[source] Arc<PoolError>),
    #[error("orders database: {0}")]
    Db(#[source] Arc<tokio_postgres::Error>),
    /// A row holds what no order can: an unknown status, a bad slot, a
    /// history that is not one.
    #[error("order {id} is unreadable: {detail}")]
    Corrupt { id: OrderId, detail: String },
    /// The database answered what its constraints rule out.
    #[error("the orders database answered what cannot be: {0}")]
    Inconsistent(String),
    #[error("a saga's history cannot be written as JSON")]
    History(#[source] Arc<serde_json::Error>),
    #[error(transparent)]
    Miscounted(#[from] Miscounted),
    #[error(transparent)]
    Gone(#[from] Gone),
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(err: tokio_postgres::Error) -> Self {
        StoreError::Db(Arc::new(err))
    }
}

impl From<PoolError> for StoreError {
    fn from(err: PoolError) -> Self {
        StoreError::Pool(Arc::new(err))
    }
}

impl StoreError {
    /// Whether trying again may succeed: the database was unreachable or
    /// the statement lost to a concurrent one.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Pool(_) => true,
            StoreError::Db(err) => common::db::is_transient(err),
            _ => false,
        }
    }

    pub(crate) fn history(err: serde_json::Error) -> Self {
        StoreError::History(Arc::new(err))
    }
}

/// The answer to a client whose request met the error: 503 while the
/// database is unreachable, 400 for a value it refuses to store, an opaque
/// 500 (the cause logged) for the rest.
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        let answer = match &err {
            StoreError::Pool(_) => Some(common::db::unavailable(&err)),
            StoreError::Db(db) => common::db::answer(db),
            _ => None,
        };
        answer.unwrap_or_else(|| ApiError::internal(anyhow::Error::new(err)))
    }
}
