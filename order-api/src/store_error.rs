use common::ApiError;
use orders::StoreError;

/// The answer to a client whose request met `err`: 503 while the database
/// is unreachable, 400 for what it refuses to store, 500 for the rest.
pub(crate) fn answer(err: StoreError) -> ApiError {
    match err {
        StoreError::Db(err) => err.into(),
        other => ApiError::internal(other.into()),
    }
}
