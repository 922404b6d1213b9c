//! What an operator reads: a page of sagas, one saga with its history,
//! and the counts of the stats.

use common::domain::OrderId;
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;

use super::{Filter, HistoryEntry, SagaRow, SagaState};
use crate::store::Answer;
use crate::{Store, StoreError};

impl Store {
    /// The sagas `filter` selects with ids below `before`, newest first, at
    /// most `limit`.
    pub async fn list(
        &self,
        filter: &Filter,
        before: Option<OrderId>,
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

impl Store {
    /// Saga `id` with its history; `None` if there is none.
    pub async fn find(&self, id: OrderId) -> Answer<Option<(SagaRow, Vec<HistoryEntry>)>> {
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
                return Err(StoreError::Inconsistent(format!("a saga state {state:?}")));
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
