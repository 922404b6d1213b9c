//! What the admin API asks of the orders database: every saga of the shop,
//! where each stands and the counts an operator reads first; and the two
//! actions an operator takes, retry and cancel, which change the row and
//! note the operator in its history.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;

use crate::order::columns;
use crate::store::Answer;
use crate::{reasons, Action, Order, Status, Step, StepRecord, Store, StoreError};

/// Where a saga stands. The customer sees `pending` for the first three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SagaState {
    /// Pending, and no run has begun failing it: queued or in a worker.
    Running,
    /// Pending with a reason: a run decided it fails and is undoing steps.
    Compensating,
    /// Stopped until an operator retries it.
    Parked,
    Completed,
    Failed,
}

/// What `SagaRow::from_row` reads: the order's columns, why it is parked, and
/// how many runs it has had (one, and one more per operator's retry).
macro_rules! saga_columns {
    () => {
        concat!(
            columns!(),
            ", parked_reason, parked_at,
             1 + (SELECT count(*) FROM jsonb_array_elements(history) AS entry
                  WHERE entry->>'step' = 'operator' AND entry->>'action' = 'retry') AS attempts"
        )
    };
}

/// The state of a row, in SQL, from the same columns as `SagaState::of`.
macro_rules! state_sql {
    () => {
        "CASE WHEN status <> 'pending' THEN status
              WHEN parked_at IS NOT NULL THEN 'parked'
              WHEN reason IS NOT NULL THEN 'compensating'
              ELSE 'running' END"
    };
}

impl SagaState {
    pub const ALL: [SagaState; 5] = [
        SagaState::Running,
        SagaState::Compensating,
        SagaState::Parked,
        SagaState::Completed,
        SagaState::Failed,
    ];

    pub fn of(order: &Order) -> Self {
        match order.status {
            Status::Completed => SagaState::Completed,
            Status::Failed => SagaState::Failed,
            Status::Pending if order.parked => SagaState::Parked,
            Status::Pending if order.reason.is_some() => SagaState::Compensating,
            Status::Pending => SagaState::Running,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SagaState::Running => "running",
            SagaState::Compensating => "compensating",
            SagaState::Parked => "parked",
            SagaState::Completed => "completed",
            SagaState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    pub fn is_final(self) -> bool {
        matches!(self, SagaState::Completed | SagaState::Failed)
    }
}

/// One saga as its row holds it: its order and why it is parked, if it is
/// (the mediator's runner is `mediator::SagaRunner`).
#[derive(Debug, Clone)]
pub struct SagaRow {
    pub order: Order,
    pub state: SagaState,
    pub parked_reason: Option<String>,
    pub parked_at: Option<OffsetDateTime>,
    /// Runs started: the first, and one per operator's retry.
    pub attempts: i64,
}

impl SagaRow {
    fn from_row(row: &tokio_postgres::Row) -> Result<Self, StoreError> {
        let order = Order::from_row(row)?;
        Ok(Self {
            state: SagaState::of(&order),
            parked_reason: row.try_get("parked_reason")?,
            parked_at: row.try_get("parked_at")?,
            attempts: row.try_get("attempts")?,
            order,
        })
    }
}

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

/// What a `Filter` selects, its fields bound to $1 to $5 (`Filter::params`).
macro_rules! filter_sql {
    () => {
        concat!(
            "($1::text IS NULL OR $1 = ",
            state_sql!(),
            " OR ($1 = 'pending' AND status = 'pending'))
             AND ($2::text IS NULL OR username = $2)
             AND ($3::text IS NULL OR reason = $3)
             AND ($4::timestamptz IS NULL OR created_at >= $4)
             AND ($5::timestamptz IS NULL OR created_at < $5)"
        )
    };
}

impl Filter {
    /// The parameters $1 to $5 of `filter_sql!`.
    fn params(&self) -> [&(dyn ToSql + Sync); 5] {
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

impl Store {
    /// The sagas `filter` selects with ids below `before`, newest first, at
    /// most `limit`.
    pub async fn list(
        &self,
        filter: &Filter,
        before: Option<i64>,
        limit: i64,
    ) -> Answer<Vec<SagaRow>> {
        let sql = concat!(
            "SELECT ",
            saga_columns!(),
            " FROM orders WHERE ",
            filter_sql!(),
            " AND ($6::bigint IS NULL OR id < $6)
         ORDER BY id DESC LIMIT $7"
        );
        let [status, username, reason, since, until] = filter.params();
        let params: [&(dyn ToSql + Sync); 7] =
            [status, username, reason, since, until, &before, &limit];
        let db = self.db().await?;
        let rows = db.query(&db.prepare_cached(sql).await?, &params).await?;
        rows.iter().map(SagaRow::from_row).collect()
    }
}

/// One entry of a saga's history as an operator reads it: a step of a run,
/// or an operator's action (step `operator`, with the administrator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(flatten)]
    pub record: StepRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
}

impl HistoryEntry {
    fn operator(action: Action, admin: &str) -> Self {
        Self {
            record: StepRecord {
                step: Step::Operator,
                action,
                outcome: "done".into(),
                at: OffsetDateTime::now_utc(),
            },
            admin: Some(admin.into()),
        }
    }

    pub fn is_retry(&self) -> bool {
        self.record.step == Step::Operator && self.record.action == Action::Retry
    }
}

impl Store {
    /// Saga `id` with its history; `None` if there is none.
    pub async fn find(&self, id: i64) -> Answer<Option<(SagaRow, Vec<HistoryEntry>)>> {
        let sql = concat!(
            "SELECT ",
            saga_columns!(),
            ", history::text FROM orders WHERE id = $1"
        );
        let db = self.db().await?;
        let Some(row) = db.query_opt(&db.prepare_cached(sql).await?, &[&id]).await? else {
            return Ok(None);
        };
        let history =
            serde_json::from_str(row.try_get("history")?).map_err(|err| StoreError::Corrupt {
                id,
                detail: format!("history: {err}"),
            })?;
        Ok(Some((SagaRow::from_row(&row)?, history)))
    }
}

/// What the stats show of the orders table.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Every state, zero included: the unfinished ones all, the finished
    /// ones created since the time asked.
    pub by_state: Vec<(SagaState, i64)>,
    /// Failed sagas by reason, created since the time asked.
    pub by_reason: Vec<(String, i64)>,
    /// When the oldest unfinished saga's order was created.
    pub oldest_unfinished: Option<OffsetDateTime>,
}

impl Store {
    /// Counts by state and by reason, and the oldest unfinished saga. The
    /// unfinished sagas are few and indexed, so all are counted; the finished
    /// ones only from `since` on, since the table only grows.
    pub async fn counts(&self, since: OffsetDateTime) -> Answer<Counts> {
        let sql = "SELECT state, reason, count(*), min(created_at) FROM (
            SELECT CASE WHEN reason IS NULL THEN 'running' ELSE 'compensating' END AS state,
                   NULL::text AS reason, created_at
            FROM orders WHERE status = 'pending' AND parked_at IS NULL
          UNION ALL
            SELECT 'parked', NULL, created_at FROM orders WHERE parked_at IS NOT NULL
          UNION ALL
            SELECT status, reason, created_at FROM orders
            WHERE created_at >= $1 AND status <> 'pending'
        ) AS sagas GROUP BY 1, 2";
        let db = self.db().await?;
        let rows = db.query(&db.prepare_cached(sql).await?, &[&since]).await?;
        let mut counts = Counts {
            by_state: SagaState::ALL.iter().map(|state| (*state, 0)).collect(),
            ..Counts::default()
        };
        for row in rows {
            let state: &str = row.try_get(0)?;
            let reason: Option<String> = row.try_get(1)?;
            let count: i64 = row.try_get(2)?;
            let oldest: OffsetDateTime = row.try_get(3)?;
            let Some(state) = SagaState::parse(state) else {
                return Err(StoreError::Corrupt {
                    id: 0,
                    detail: format!("a saga state {state:?}"),
                });
            };
            if let Some((_, n)) = counts.by_state.iter_mut().find(|(s, _)| *s == state) {
                *n += count;
            }
            if state == SagaState::Failed {
                counts.by_reason.push((reason.unwrap_or_default(), count));
            }
            if !state.is_final() {
                counts.oldest_unfinished = Some(match counts.oldest_unfinished {
                    Some(known) => known.min(oldest),
                    None => oldest,
                });
            }
        }
        counts
            .by_reason
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(counts)
    }
}

/// The columns of a changed row that `SagaRow::from_row` reads.
macro_rules! returning {
    () => {
        concat!(" RETURNING ", saga_columns!())
    };
}

/// What became of an operator's action on one saga.
#[derive(Debug)]
pub enum Acted {
    Done(SagaRow),
    /// Not in a state the action applies to: the saga as it is.
    Refused(SagaRow),
    Missing,
}

impl Store {
    /// Runs an operator's UPDATE of saga `id` (`sql`, returning the saga's
    /// columns): `Done` with the changed saga; if it matched nothing, the
    /// saga as it is (`Refused`), or `Missing`.
    async fn act(&self, id: i64, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Answer<Acted> {
        let changed = {
            let db = self.db().await?;
            db.query_opt(&db.prepare_cached(sql).await?, params).await?
        };
        if let Some(row) = changed {
            return Ok(Acted::Done(SagaRow::from_row(&row)?));
        }
        Ok(match self.find(id).await? {
            Some((saga, _)) => Acted::Refused(saga),
            None => Acted::Missing,
        })
    }
}

fn entry_json(entry: &HistoryEntry) -> Answer<String> {
    serde_json::to_string(&[entry]).map_err(StoreError::history)
}

const RETRY: &str = concat!(
    "UPDATE orders SET parked_at = NULL, parked_reason = NULL, updated_at = now(),
         history = history || $2::text::jsonb
     WHERE id = $1 AND parked_at IS NOT NULL",
    returning!()
);

impl Store {
    /// Unparks saga `id`, `admin`'s retry noted in its history; the caller
    /// queues it. A run takes it up where it stopped: every step is idempotent
    /// by order id, and a failing saga resumes compensating.
    pub async fn retry(&self, id: i64, admin: &str) -> Answer<Acted> {
        let entry = entry_json(&HistoryEntry::operator(Action::Retry, admin))?;
        self.act(id, RETRY, &[&id, &entry]).await
    }

    /// Unparks every parked saga `filter` selects, at most `limit`, oldest
    /// first; their ids, for the caller to queue.
    pub async fn retry_all(&self, filter: &Filter, admin: &str, limit: i64) -> Answer<Vec<i64>> {
        let sql = concat!(
            "UPDATE orders SET parked_at = NULL, parked_reason = NULL, updated_at = now(),
             history = history || $7::text::jsonb
         WHERE id IN (
             SELECT id FROM orders WHERE parked_at IS NOT NULL AND ",
            filter_sql!(),
            " ORDER BY id LIMIT $6
         ) AND parked_at IS NOT NULL
         RETURNING id"
        );
        let entry = entry_json(&HistoryEntry::operator(Action::Retry, admin))?;
        let [status, username, reason, since, until] = filter.params();
        let params: [&(dyn ToSql + Sync); 7] =
            [status, username, reason, since, until, &limit, &entry];
        let db = self.db().await?;
        let rows = db.query(&db.prepare_cached(sql).await?, &params).await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}

const CANCEL: &str = concat!(
    "UPDATE orders SET reason = $3, parked_at = NULL, parked_reason = NULL, updated_at = now(),
         history = history || $2::text::jsonb
     WHERE id = $1 AND status = 'pending' AND reason IS NULL",
    returning!()
);

impl Store {
    /// Marks the unfinished saga `id` failing with `Cancelled by operator`,
    /// `admin`'s cancel noted in its history; the caller queues it. The row
    /// decides, as between two runs: a run that was reserving cannot complete
    /// it any more (a completion needs no reason set), so it compensates. A
    /// saga already failing keeps its reason and is refused.
    pub async fn cancel(&self, id: i64, admin: &str) -> Answer<Acted> {
        let entry = entry_json(&HistoryEntry::operator(Action::Cancel, admin))?;
        let reason = reasons::CANCELLED_BY_OPERATOR;
        self.act(id, CANCEL, &[&id, &entry, &reason]).await
    }
}
