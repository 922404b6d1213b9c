//! Opportunistic batching. A few batches run at once; callers that arrive
//! while all of them are running share the next one. So under load one
//! statement (one round trip, one commit) serves many callers, and with
//! little load a call runs at once, alone, and waits for no other.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot, Semaphore};

/// The call's batch panicked, or the batcher is gone: it has no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the batch gave no answer")]
pub struct Gone;

type Call<Req, Resp> = (Req, oneshot::Sender<Resp>);

/// A handle to a task that runs requests in batches.
pub struct Batcher<Req, Resp> {
    calls: mpsc::UnboundedSender<Call<Req, Resp>>,
}

impl<Req, Resp> Clone for Batcher<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            calls: self.calls.clone(),
        }
    }
}

impl<Req, Resp> Batcher<Req, Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
{
    /// Starts the task. While fewer than `concurrency` batches run, it takes
    /// the first request waiting and every other one already waiting (at
    /// most `max` in all) and starts `run` on them, which returns one
    /// response per request, in the same order. The task ends when every
    /// handle is dropped.
    pub fn start<F, Fut>(max: usize, concurrency: usize, run: F) -> Self
    where
        F: Fn(Vec<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Resp>> + Send + 'static,
    {
        let max = max.max(1);
        let slots = Arc::new(Semaphore::new(concurrency.max(1)));
        // Unbounded, because every caller waits for its answer: there are
        // never more calls queued than callers.
        let (calls, mut waiting) = mpsc::unbounded_channel::<Call<Req, Resp>>();
        tokio::spawn(async move {
            loop {
                // A free slot before taking requests: while every slot is
                // busy, callers queue up and the next batch takes them all.
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let mut batch = Vec::with_capacity(max);
                if waiting.recv_many(&mut batch, max).await == 0 {
                    return;
                }
                let (requests, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                let running = run(requests);
                tokio::spawn(async move {
                    let responses = running.await;
                    debug_assert_eq!(responses.len(), replies.len());
                    for (reply, response) in replies.into_iter().zip(responses) {
                        // A caller that stopped waiting (shutdown) needs no answer.
                        let _ = reply.send(response);
                    }
                    drop(slot);
                });
            }
        });
        Self { calls }
    }

    /// Runs `request` in the next batch and returns its response.
    pub async fn call(&self, request: Req) -> Result<Resp, Gone> {
        let (reply, response) = oneshot::channel();
        self.calls.send((request, reply)).map_err(|_| Gone)?;
        response.await.map_err(|_| Gone)
    }
}

/// Answers a batch with one statement for all its requests and, if the
/// database refuses that (`refused`: an error a retry would repeat, which
/// may be one request's fault), with one statement per request, so that the
/// request it refuses fails alone. `run` answers one response per request,
/// in order, with `with` (a connection or a pool). Any other error, or a
/// refused batch of one, is the whole batch's: `Err`.
pub async fn together_or_alone<With: ?Sized, Req, Resp: Default, E>(
    with: &With,
    requests: &[Req],
    refused: impl Fn(&E) -> bool,
    run: impl for<'a> Fn(&'a With, &'a [Req]) -> BoxFuture<'a, Result<Vec<Resp>, E>>,
) -> Result<Vec<Result<Resp, E>>, E> {
    match run(with, requests).await {
        Ok(answers) => return Ok(answers.into_iter().map(Ok).collect()),
        Err(err) if requests.len() > 1 && refused(&err) => {}
        Err(err) => return Err(err),
    }
    let mut answers = Vec::with_capacity(requests.len());
    for request in requests {
        let alone = run(with, std::slice::from_ref(request)).await;
        answers.push(alone.map(|mut one| {
            debug_assert_eq!(one.len(), 1);
            one.pop().unwrap_or_default()
        }));
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures::FutureExt;

    use super::*;

    #[tokio::test]
    async fn answers_each_caller_with_its_own_response() {
        let batcher = Batcher::start(8, 2, |requests: Vec<u32>| async move {
            requests.into_iter().map(|r| r * 10).collect()
        });
        assert_eq!(batcher.call(4).await, Ok(40));
        assert_eq!(batcher.call(7).await, Ok(70));
    }

    #[tokio::test]
    async fn callers_waiting_together_share_a_batch() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Batcher::start(3, 1, move |requests: Vec<u32>| {
            seen.lock().expect("not poisoned").push(requests.len());
            async move { requests }
        });
        // Seven calls queued before the task first runs: batches of at most 3.
        let calls: Vec<_> = (0..7).map(|n| batcher.call(n)).collect();
        let answers = futures::future::join_all(calls).await;
        assert_eq!(answers, (0..7).map(Ok).collect::<Vec<_>>());
        assert_eq!(*sizes.lock().expect("not poisoned"), vec![3, 3, 1]);
    }

    #[tokio::test]
    async fn a_batch_that_waits_does_not_hold_up_the_next() {
        let released = Arc::new(tokio::sync::Notify::new());
        let release = released.clone();
        let batcher = Batcher::start(1, 2, move |requests: Vec<u32>| {
            let (released, release) = (released.clone(), release.clone());
            async move {
                // The first waits until the second has run.
                match requests[0] {
                    1 => released.notified().await,
                    _ => release.notify_one(),
                }
                requests
            }
        });
        let both = futures::future::join(batcher.call(1), batcher.call(2));
        let answers = tokio::time::timeout(std::time::Duration::from_secs(10), both)
            .await
            .expect("the second batch ran while the first waited");
        assert_eq!(answers, (Ok(1), Ok(2)));
    }

    #[tokio::test]
    async fn a_refused_batch_is_answered_one_request_at_a_time() {
        // Refuses any statement that holds a zero.
        fn run<'a>(
            _: &'a (),
            requests: &'a [u32],
        ) -> BoxFuture<'a, Result<Vec<u32>, &'static str>> {
            let answer = match requests.contains(&0) {
                true => Err("refused"),
                false => Ok(requests.iter().map(|r| r * 10).collect()),
            };
            futures::future::ready(answer).boxed()
        }
        let answers = together_or_alone(&(), &[1, 0, 2], |_| true, run).await;
        assert_eq!(answers, Ok(vec![Ok(10), Err("refused"), Ok(20)]));
        let unrefused = together_or_alone(&(), &[1, 0], |_| false, run).await;
        assert_eq!(unrefused, Err("refused"));
    }

    #[tokio::test]
    async fn a_batch_that_panicked_answers_gone() {
        fn fails(_: Vec<u32>) -> Vec<u32> {
            panic!("the batch failed")
        }
        let batcher = Batcher::start(2, 1, |requests| async move { fails(requests) });
        assert_eq!(batcher.call(1).await, Err(Gone));
        assert_eq!(batcher.call(2).await, Err(Gone));
    }
}
