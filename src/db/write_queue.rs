//! A queue from many requests to one background writer, which takes what
//! has queued up in batches.
//!
//! Both writers of the hot path use it: the refresh-token journal
//! (rotations, written behind the requests) and the group commit (writes a
//! request waits for). The queue is bounded, so a slow database makes
//! requests wait for room rather than grow memory; while no writer runs
//! (not started yet, or stopped), a push gives the item back and the
//! request writes it itself.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::mpsc;

pub struct WriteQueue<T> {
    sender: mpsc::Sender<T>,
    /// Taken by the one writer; `None` once it runs.
    receiver: Mutex<Option<mpsc::Receiver<T>>>,
}

impl<T> WriteQueue<T> {
    pub fn new(capacity: usize) -> Self {
        let (sender, receiver) = mpsc::channel(capacity);
        Self {
            sender,
            receiver: Mutex::new(Some(receiver)),
        }
    }

    /// Queues `item` for the writer, waiting for room when the queue is
    /// full; gives it back when no writer runs.
    pub async fn push(&self, item: T) -> Result<(), T> {
        let writer_started = self
            .receiver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_none();
        if !writer_started {
            return Err(item);
        }
        self.sender.send(item).await.map_err(|unsent| unsent.0)
    }

    /// Whether nothing waits in the queue (a batch the writer has taken
    /// may still be on its way).
    pub fn is_empty(&self) -> bool {
        self.sender.capacity() == self.sender.max_capacity()
    }

    /// The writer: hands `write` batches of at most `max` items, each
    /// whatever queued up while the previous one was written, until `stop`
    /// completes; then the rest. Runs once per queue (later calls return at
    /// once).
    pub async fn serve<W, F>(&self, max: usize, stop: impl Future<Output = ()>, mut write: W)
    where
        W: FnMut(Vec<T>) -> F,
        F: Future<Output = ()>,
    {
        let Some(mut receiver) = self
            .receiver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        else {
            return;
        };
        tokio::pin!(stop);
        let mut batch = Vec::new();
        loop {
            tokio::select! {
                count = receiver.recv_many(&mut batch, max) => {
                    if count == 0 {
                        break;
                    }
                    write(std::mem::take(&mut batch)).await;
                }
                () = &mut stop => break,
            }
        }
        receiver.close();
        while receiver.recv_many(&mut batch, max).await > 0 {
            write(std::mem::take(&mut batch)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn items_come_back_until_a_writer_runs_then_reach_it_in_batches_even_after_stop() {
        let queue = Arc::new(WriteQueue::new(16));
        assert_eq!(queue.push(1).await, Err(1), "no writer yet");

        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let writer = {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move {
                let mut batches = Vec::new();
                let mut released = Some(released);
                queue
                    .serve(
                        8,
                        async {
                            let _ = stopped.await;
                        },
                        |batch: Vec<i32>| {
                            batches.push(batch);
                            // The first batch waits, so what comes meanwhile queues up.
                            let hold = released.take();
                            async move {
                                if let Some(hold) = hold {
                                    let _ = hold.await;
                                }
                            }
                        },
                    )
                    .await;
                batches
            })
        };
        tokio::task::yield_now().await;
        assert_eq!(queue.push(1).await, Ok(()));
        tokio::task::yield_now().await;
        for item in 2..=11 {
            assert_eq!(queue.push(item).await, Ok(()));
        }
        stop.send(()).unwrap();
        release.send(()).unwrap();
        let batches = writer.await.unwrap();

        assert_eq!(
            batches,
            vec![vec![1], vec![2, 3, 4, 5, 6, 7, 8, 9], vec![10, 11]],
            "one item alone, then at most 8 at a time, the last after stop"
        );
        assert_eq!(queue.push(12).await, Err(12), "stopped: given back");
    }
}
