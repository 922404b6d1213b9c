//! At most `checks_in_flight` password checks for one username at once in
//! this replica: bcrypt is the costly part of a login, and a crowd of
//! addresses guessing one name must not take every core. A slowed login
//! (the name is under attack, see `throttle`) takes the whole gate and
//! holds it for at least `SLOWED_CHECK`, so such a name gets about one
//! check a second per replica. Waiting costs a task, not a check; the
//! server's request timeout bounds the wait.
//!
//! One semaphore per name being checked right now, dropped with the last
//! pass that uses it, so the map holds only names in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How long a slowed check holds its name's gate, at least.
pub const SLOWED_CHECK: Duration = Duration::from_secs(1);

pub struct Gates {
    per_name: u32,
    open: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// The right to check one password for `name`; leaves the gate when dropped.
pub struct Pass<'a> {
    gates: &'a Gates,
    name: String,
    permit: Option<OwnedSemaphorePermit>,
    hold_until: Option<Instant>,
}

impl Gates {
    pub fn new(per_name: usize) -> Self {
        Self {
            per_name: u32::try_from(per_name.max(1)).unwrap_or(u32::MAX),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a place at `name`'s gate, the whole gate when `slowed`.
    pub async fn enter(&self, name: &str, slowed: bool) -> Pass<'_> {
        let semaphore = self
            .lock()
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_name as usize)))
            .clone();
        let wanted = if slowed { self.per_name } else { 1 };
        // The semaphore is never closed: acquiring only waits.
        let permit = semaphore.acquire_many_owned(wanted).await.ok();
        Pass {
            gates: self,
            name: name.to_owned(),
            permit,
            hold_until: slowed.then(|| Instant::now() + SLOWED_CHECK),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Semaphore>>> {
        // The map stays consistent whatever panicked while holding it.
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Pass<'_> {
    /// Leaves the gate, once a slowed check has held it long enough.
    pub async fn leave(self) {
        if let Some(until) = self.hold_until {
            tokio::time::sleep_until(until).await;
        }
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut open = self.gates.lock();
        // Only the map holds it: nobody is checking or waiting for the name.
        if open
            .get(&self.name)
            .is_some_and(|semaphore| Arc::strong_count(semaphore) == 1)
        {
            open.remove(&self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in_flight(gates: &Gates) -> usize {
        gates.lock().len()
    }

    #[tokio::test]
    async fn a_name_admits_its_limit_at_once_and_is_forgotten_after() {
        let gates = Gates::new(2);
        let first = gates.enter("ann", false).await;
        let second = gates.enter("ann", false).await;
        let other = gates.enter("bob", false).await;
        let third = tokio::time::timeout(Duration::from_millis(50), gates.enter("ann", false));
        assert!(third.await.is_err(), "a third check for ann waits");
        drop((first, second, other));
        assert_eq!(names_in_flight(&gates), 0);
        let again = gates.enter("ann", false).await;
        assert_eq!(names_in_flight(&gates), 1);
        drop(again);
        assert_eq!(names_in_flight(&gates), 0);
    }

    #[tokio::test]
    async fn a_slowed_check_takes_the_whole_gate_for_a_second() {
        let gates = Gates::new(4);
        let began = Instant::now();
        let slowed = gates.enter("ann", true).await;
        let waiting = tokio::time::timeout(Duration::from_millis(10), gates.enter("ann", false));
        assert!(
            waiting.await.is_err(),
            "nobody checks beside a slowed check"
        );
        slowed.leave().await;
        assert!(began.elapsed() >= SLOWED_CHECK);
        let _after = gates.enter("ann", false).await;
    }
}
