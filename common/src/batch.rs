//! Opportunistic batching. Callers that arrive while a batch is running
//! share the next one, so under load one statement (one round trip, one
//! commit) serves many callers, and with no load a batch is a single call
//! that waits for nothing.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

/// The batching task stopped (it panicked); no further call can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the batching task is gone")]
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
    /// Starts the task: it waits for a first request, takes every other one
    /// already waiting (at most `max` in all) and hands them to `run`, which
    /// returns one response per request, in the same order. One batch runs
    /// at a time; the task ends when every handle is dropped.
    pub fn start<F, Fut>(max: usize, mut run: F) -> Self
    where
        F: FnMut(Vec<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Resp>> + Send,
    {
        let max = max.max(1);
        // Unbounded, because every caller waits for its answer: there are
        // never more calls queued than callers.
        let (calls, mut waiting) = mpsc::unbounded_channel::<Call<Req, Resp>>();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(max);
            while waiting.recv_many(&mut batch, max).await > 0 {
                let (requests, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                let responses = run(requests).await;
                debug_assert_eq!(responses.len(), replies.len());
                for (reply, response) in replies.into_iter().zip(responses) {
                    // A caller that stopped waiting (shutdown) needs no answer.
                    let _ = reply.send(response);
                }
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[tokio::test]
    async fn answers_each_caller_with_its_own_response() {
        let batcher = Batcher::start(8, |requests: Vec<u32>| async move {
            requests.into_iter().map(|r| r * 10).collect()
        });
        assert_eq!(batcher.call(4).await, Ok(40));
        assert_eq!(batcher.call(7).await, Ok(70));
    }

    #[tokio::test]
    async fn callers_waiting_together_share_a_batch() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Batcher::start(3, move |requests: Vec<u32>| {
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
    async fn a_task_that_died_answers_gone() {
        fn fails(_: Vec<u32>) -> Vec<u32> {
            panic!("the batch failed")
        }
        let batcher = Batcher::start(2, |requests| async move { fails(requests) });
        assert_eq!(batcher.call(1).await, Err(Gone));
        assert_eq!(batcher.call(2).await, Err(Gone));
    }
}
