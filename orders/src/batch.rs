//! Opportunistic batching, the store's own (see `store` for why): a few
//! batches run at once; callers that arrive while all of them are running
//! share the next one, and with little load a call runs at once, alone.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot, Semaphore};

/// The call's batch panicked or answered a different number of responses
/// than it was given requests, or the batcher is gone: it has no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the batch gave no answer")]
pub struct Gone;

/// A statement answered `got` responses for `sent` requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a batch answered {got} responses for {sent} requests")]
pub struct Miscounted {
    pub sent: usize,
    pub got: usize,
}

type Call<Req, Resp> = (Req, oneshot::Sender<Resp>);

/// A handle to a task that runs requests in batches.
pub(crate) struct Batcher<Req, Resp> {
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
    /// most `max` in all) and starts `run` on them, with a clone of `with`
    /// (a pool, say); `run` returns one response per request, in the same
    /// order. The task ends when every handle is dropped.
    pub fn start<W, F, Fut>(max: usize, concurrency: usize, with: W, run: F) -> Self
    where
        W: Clone + Send + 'static,
        F: Fn(W, Vec<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Resp>> + Send + 'static,
    {
        let max = max.max(1);
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        // Unbounded, because every caller waits for its answer: there are
        // never more calls queued than callers.
        let (calls, mut waiting) = mpsc::unbounded_channel::<Call<Req, Resp>>();
        tokio::spawn(async move {
            loop {
                // A permit before taking requests: while every batch allowed
                // is running, callers queue up and the next batch takes them all.
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let mut batch = Vec::with_capacity(max);
                if waiting.recv_many(&mut batch, max).await == 0 {
                    return;
                }
                let (requests, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                let running = run(with.clone(), requests);
                tokio::spawn(async move {
                    let responses = running.await;
                    if responses.len() != replies.len() {
                        // No caller can tell which answer is its own: every
                        // one gets `Gone` as its reply is dropped.
                        let (sent, got) = (replies.len(), responses.len());
                        tracing::error!(error = %Miscounted { sent, got }, "a batch broke its contract");
                        return;
                    }
                    for (reply, response) in replies.into_iter().zip(responses) {
                        // A caller that stopped waiting (shutdown) needs no answer.
                        let _ = reply.send(response);
                    }
                    drop(permit);
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
/// in order, with `with` (a connection or a pool); a `run` that answers
/// another number is an error (`Miscounted`). Any other error, or a
/// refused batch of one, is the whole batch's: `Err`.
pub(crate) async fn together_or_alone<With: ?Sized, Req, Resp, E: From<Miscounted>>(
    with: &With,
    requests: &[Req],
    refused: impl Fn(&E) -> bool,
    run: impl for<'a> Fn(&'a With, &'a [Req]) -> BoxFuture<'a, Result<Vec<Resp>, E>>,
) -> Result<Vec<Result<Resp, E>>, E> {
    match counted(run(with, requests).await, requests.len()) {
        Ok(answers) => return Ok(answers.into_iter().map(Ok).collect()),
        Err(err) if requests.len() > 1 && refused(&err) => {}
        Err(err) => return Err(err),
    }
    let mut answers = Vec::with_capacity(requests.len());
    for request in requests {
        let alone = counted(run(with, std::slice::from_ref(request)).await, 1);
        answers.push(alone.and_then(|one| {
            one.into_iter()
                .next()
                .ok_or_else(|| E::from(Miscounted { sent: 1, got: 0 }))
        }));
    }
    Ok(answers)
}

/// `answers` if there are `sent` of them.
fn counted<Resp, E: From<Miscounted>>(
    answers: Result<Vec<Resp>, E>,
    sent: usize,
) -> Result<Vec<Resp>, E> {
    let answers = answers?;
    match answers.len() {
        got if got == sent => Ok(answers),
        got => Err(Miscounted { sent, got }.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures::FutureExt;

    use super::*;

    #[tokio::test]
    async fn answers_each_caller_with_its_own_response() {
        let batcher = Batcher::start(8, 2, (), |(), requests: Vec<u32>| async move {
            requests.into_iter().map(|r| r * 10).collect()
        });
        assert_eq!(batcher.call(4).await, Ok(40));
        assert_eq!(batcher.call(7).await, Ok(70));
    }

    #[tokio::test]
    async fn callers_waiting_together_share_a_batch() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Batcher::start(3, 1, (), move |(), requests: Vec<u32>| {
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
        let batcher = Batcher::start(1, 2, (), move |(), requests: Vec<u32>| {
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

    #[derive(Debug, PartialEq)]
    enum TestError {
        Refused,
        Miscounted(Miscounted),
    }

    impl From<Miscounted> for TestError {
        fn from(err: Miscounted) -> Self {
            TestError::Miscounted(err)
        }
    }

    #[tokio::test]
    async fn a_refused_batch_is_answered_one_request_at_a_time() {
        // Refuses any statement that holds a zero.
        fn run<'a>(_: &'a (), requests: &'a [u32]) -> BoxFuture<'a, Result<Vec<u32>, TestError>> {
            let answer = match requests.contains(&0) {
                true => Err(TestError::Refused),
                false => Ok(requests.iter().map(|r| r * 10).collect()),
            };
            futures::future::ready(answer).boxed()
        }
        let answers = together_or_alone(&(), &[1, 0, 2], |_| true, run).await;
        assert_eq!(answers, Ok(vec![Ok(10), Err(TestError::Refused), Ok(20)]));
        let unrefused = together_or_alone(&(), &[1, 0], |_| false, run).await;
        assert_eq!(unrefused, Err(TestError::Refused));
    }

    #[tokio::test]
    async fn a_statement_that_answers_too_few_is_an_error_not_an_invented_answer() {
        // Answers nothing for a request of 7.
        fn run<'a>(_: &'a (), requests: &'a [u32]) -> BoxFuture<'a, Result<Vec<u32>, TestError>> {
            let answer = requests.iter().filter(|r| **r != 7).copied().collect();
            futures::future::ready(Ok(answer)).boxed()
        }
        let short = Miscounted { sent: 2, got: 1 };
        let answers = together_or_alone(&(), &[1, 7], |_| false, run).await;
        assert_eq!(answers, Err(TestError::Miscounted(short)));
        let alone = Miscounted { sent: 1, got: 0 };
        let answers = together_or_alone(&(), &[1, 7], |_| true, run).await;
        assert_eq!(answers, Ok(vec![Ok(1), Err(TestError::Miscounted(alone))]));
    }

    #[tokio::test]
    async fn a_batch_that_answers_too_few_answers_gone() {
        let batcher = Batcher::start(2, 1, (), |(), requests: Vec<u32>| async move {
            requests.into_iter().skip(1).collect::<Vec<_>>()
        });
        assert_eq!(batcher.call(1).await, Err(Gone));
    }

    #[tokio::test]
    async fn a_batch_that_panicked_answers_gone() {
        fn fails(_: Vec<u32>) -> Vec<u32> {
            panic!("the batch failed")
        }
        let batcher = Batcher::start(2, 1, (), |(), requests| async move { fails(requests) });
        assert_eq!(batcher.call(1).await, Err(Gone));
        assert_eq!(batcher.call(2).await, Err(Gone));
    }
}
