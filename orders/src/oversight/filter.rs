//! Which sagas a list or a bulk retry selects: the filters, and the
//! status parsed into what it selects.

use time::OffsetDateTime;
use tokio_postgres::types::ToSql;

use super::SagaState;

/// Which sagas a list selects; every field narrows it.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<StatusFilter>,
    pub username: Option<String>,
    pub reason: Option<String>,
    /// Created at or after.
    pub since: Option<OffsetDateTime>,
    /// Created before.
    pub until: Option<OffsetDateTime>,
}

impl Filter {
    /// The parameters $1 to $5 of `filter_sql!`.
    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 5] {
        [
            &self.status,
            &self.username,
            &self.reason,
            &self.since,
            &self.until,
        ]
    }
}

/// What a list's `status` selects: the customer's `pending` (running,
/// compensating and parked together), or one saga state (`completed` and
/// `failed` are both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Pending,
    State(SagaState),
}

impl StatusFilter {
    /// `None` for a status nobody has.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(StatusFilter::Pending),
            other => SagaState::parse(other).map(StatusFilter::State),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Pending => "pending",
            StatusFilter::State(state) => state.as_str(),
        }
    }
}

/// Bound as the text `filter_sql!` compares with.
impl ToSql for StatusFilter {
    fn to_sql(
        &self,
        ty: &tokio_postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.as_str().to_sql(ty, out)
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        <&str as ToSql>::accepts(ty)
    }

    tokio_postgres::types::to_sql_checked!();
}
