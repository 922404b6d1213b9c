//! Capped exponential backoff with full jitter: the n-th wait is uniform in
//! [0, min(max, base * 2^n)], so retrying workers do not move in lockstep.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            attempt: 0,
        }
    }

    /// The next wait.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.max);
        self.attempt += 1;
        let ms = rand::thread_rng().gen_range(0..=ceiling.as_millis() as u64);
        Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_under_the_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(100));
        for attempt in 0..20 {
            let ceiling = (10u64 << attempt.min(20)).min(100);
            assert!(backoff.next_delay() <= Duration::from_millis(ceiling));
        }
    }
}
