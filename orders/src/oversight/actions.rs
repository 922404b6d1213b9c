//! What an operator does to a saga: retry a parked one (or every parked
//! one a filter selects), cancel an unfinished one. Each is one UPDATE that
//! notes the operator in the history.

use common::domain::OrderId;
use tokio_postgres::types::ToSql;

use super::{Filter, HistoryEntry, SagaRow};
use crate::store::Answer;
use crate::{reasons, Action, Store, StoreError};

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
    async fn act(&self, id: OrderId, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Answer<Acted> {
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
    pub async fn retry(&self, id: OrderId, admin: &str) -> Answer<Acted> {
        let entry = entry_json(&HistoryEntry::operator(Action::Retry, admin))?;
        self.act(id, RETRY, &[&id, &entry]).await
    }

    /// Unparks every parked saga `filter` selects, at most `limit`, oldest
    /// first; their ids, for the caller to queue.
    pub async fn retry_all(
        &self,
        filter: &Filter,
        admin: &str,
        limit: i64,
    ) -> Answer<Vec<OrderId>> {
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
    pub async fn cancel(&self, id: OrderId, admin: &str) -> Answer<Acted> {
        let entry = entry_json(&HistoryEntry::operator(Action::Cancel, admin))?;
        let reason = reasons::CANCELLED_BY_OPERATOR;
        self.act(id, CANCEL, &[&id, &entry, &reason]).await
    }
}
