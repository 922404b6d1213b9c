//! The two ways of placing orders: an open loop, where each order leaves
//! at its planned moment whatever happened to the others, and a closed
//! loop, where each client places its next order once the last is answered.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hdrhistogram::Histogram;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::api::{Api, User};

const SLOTS: [&str; 11] = [
    "08:00", "09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00", "17:00",
    "18:00",
];

/// What a load loop hands back: accept latencies and the accepted ids.
pub struct Placed {
    pub latency: Histogram<u64>,
    /// Open loop: how late each order left the load generator.
    pub late: Option<Histogram<u64>>,
    pub ids: Vec<i64>,
    pub errors: u64,
    pub seconds: f64,
}

impl Placed {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            latency: Histogram::new(3)?,
            late: None,
            ids: Vec::new(),
            errors: 0,
            seconds: 0.0,
        })
    }

    fn record(&mut self, latency: Duration, result: anyhow::Result<i64>) -> anyhow::Result<()> {
        match result {
            Ok(id) => {
                self.ids.push(id);
                self.latency.record((latency.as_micros() as u64).max(1))?;
            }
            Err(err) => {
                if self.errors == 0 {
                    eprintln!("first error: {err:#}");
                }
                self.errors += 1;
            }
        }
        Ok(())
    }
}

/// Order number `i`: its user, item and slot follow from the number.
async fn place(api: &Api, users: &[User], i: usize) -> anyhow::Result<i64> {
    let user = &users[i % users.len()];
    api.place(user, (i % 10 + 1) as u32, SLOTS[i % SLOTS.len()])
        .await
}

/// `rate` orders a second for `duration`, each sent at its planned moment
/// whatever happened to the others; latency counts from that moment.
///
/// A thread of its own keeps the plan: tokio's timers tick in whole
/// milliseconds and would send each order up to two milliseconds late,
/// which the latency would then charge to the system under test.
pub async fn open_loop(
    api: &Api,
    users: &Arc<Vec<User>>,
    rate: u32,
    duration: Duration,
) -> anyhow::Result<Placed> {
    let total = (rate as f64 * duration.as_secs_f64()) as usize;
    let start = Instant::now() + Duration::from_millis(50);
    let (due, mut sends) = tokio::sync::mpsc::unbounded_channel();
    let first = start.into_std();
    let pacer = std::thread::spawn(move || {
        for i in 0..total {
            let intended = first + Duration::from_secs_f64(i as f64 / rate as f64);
            std::thread::sleep(intended.saturating_duration_since(std::time::Instant::now()));
            if due.send((i, Instant::from_std(intended))).is_err() {
                return;
            }
        }
    });
    let mut calls = JoinSet::new();
    let mut late = Histogram::<u64>::new(3)?;
    while let Some((i, intended)) = sends.recv().await {
        late.record((intended.elapsed().as_micros() as u64).max(1))?;
        let (api, users) = (api.clone(), users.clone());
        calls.spawn(async move {
            let result = place(&api, &users, i).await;
            (intended.elapsed(), result)
        });
    }
    if pacer.join().is_err() {
        anyhow::bail!("the pacing thread panicked");
    }
    let mut placed = Placed::new()?;
    while let Some(call) = calls.join_next().await {
        let (latency, result) = call.context("a load task panicked")?;
        placed.record(latency, result)?;
    }
    placed.seconds = start.elapsed().as_secs_f64();
    placed.late = Some(late);
    Ok(placed)
}

/// `concurrency` users placing orders back to back for `duration`.
pub async fn closed_loop(
    api: &Api,
    users: &Arc<Vec<User>>,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Placed> {
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = JoinSet::new();
    for w in 0..concurrency {
        let (api, users) = (api.clone(), users.clone());
        workers.spawn(async move {
            let mut done = Vec::new();
            let mut i = w;
            while Instant::now() < deadline {
                let sent = Instant::now();
                let result = place(&api, &users, i).await;
                done.push((sent.elapsed(), result));
                i += concurrency;
            }
            done
        });
    }
    let mut placed = Placed::new()?;
    while let Some(done) = workers.join_next().await {
        for (latency, result) in done.context("a load worker panicked")? {
            placed.record(latency, result)?;
        }
    }
    placed.seconds = start.elapsed().as_secs_f64();
    Ok(placed)
}
