//! A real, temporary fault that parks sagas, for the demo and the operator
//! drill: a trigger in billing's database makes the release (granted ->
//! released) of one customer's reservations raise, so billing answers every
//! cancel of that customer's money with 500. The mediator retries the
//! cancel `COMPENSATION_ATTEMPTS` times and parks the saga. Reserves (an
//! INSERT), settlements (granted -> settled) and every other customer are
//! untouched.
//!
//! The trigger and its function share a name, so a leftover of a run killed
//! with -9 is recognised and dropped by the next.

use anyhow::Context;
use tokio_postgres::Client;

/// The fault, by the name of its trigger.
pub struct RefusedCancels {
    pub name: &'static str,
}

impl RefusedCancels {
    /// From now on, billing refuses to release `customer`'s reservations.
    pub async fn inject(&self, billing: &Client, customer: &str) -> anyhow::Result<()> {
        let name = self.name;
        // A literal, not a parameter: a trigger's WHEN clause takes none.
        let customer = customer.replace('\'', "''");
        billing
            .batch_execute(&format!(
                "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                   RAISE EXCEPTION '{name}: billing refuses to cancel order %', OLD.order_id;
                 END $$;
                 CREATE TRIGGER {name} BEFORE UPDATE ON reservations FOR EACH ROW
                   WHEN (OLD.state = 'granted' AND NEW.state = 'released'
                         AND OLD.username = '{customer}')
                   EXECUTE FUNCTION {name}();"
            ))
            .await
            .with_context(|| format!("creating the trigger {name} in billing's database"))
    }

    pub async fn lift(&self, billing: &Client) -> anyhow::Result<()> {
        let name = self.name;
        billing
            .batch_execute(&format!(
                "SET client_min_messages = warning;
                 DROP TRIGGER IF EXISTS {name} ON reservations;
                 DROP FUNCTION IF EXISTS {name}();"
            ))
            .await
            .with_context(|| {
                format!("dropping the trigger {name}: DROP TRIGGER {name} ON reservations; in billing's database")
            })
    }

    pub async fn is_present(&self, billing: &Client) -> anyhow::Result<bool> {
        let row = billing
            .query_one(
                "SELECT count(*) FROM pg_trigger WHERE tgname = $1",
                &[&self.name],
            )
            .await
            .context("reading billing's triggers")?;
        Ok(row.get::<_, i64>(0) > 0)
    }
}
