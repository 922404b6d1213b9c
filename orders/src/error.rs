/// Why a statement on the orders database did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("orders database: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// A row holds what no order can: an unknown status, a bad slot, a
    /// history that is not one.
    #[error("order {id} is unreadable: {detail}")]
    Corrupt { id: i64, detail: String },
    #[error("a saga's history cannot be written as JSON")]
    History(#[source] serde_json::Error),
    #[error(transparent)]
    Miscounted(#[from] crate::batch::Miscounted),
}

impl StoreError {
    /// Whether trying again may succeed: the database was unreachable or
    /// the statement lost to a concurrent one.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Db(err) => common::db::is_transient(err),
            StoreError::Corrupt { .. } | StoreError::History(_) | StoreError::Miscounted(_) => {
                false
            }
        }
    }
}
