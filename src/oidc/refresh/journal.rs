//! The write-behind journal: rotations decided in the store, written to the
//! database in batches.
//!
//! One background writer ([`Journal::run`]) takes whatever rotations have
//! queued up and records them in one transaction of a few multi-row
//! statements ([`crate::db::refresh_tokens::record_rotations`]). When idle it writes a
//! rotation as soon as it arrives; after a batch that was not full it
//! lingers a moment ([`LINGER`]), so under load one transaction carries
//! hundreds, which is what makes a rotation cheap. Measured on the 2-core
//! benchmark machine, 32 chains rotating: without the pause the writer took
//! ~115–175 rotations a transaction, and ~25 once time-ordered token keys
//! ([`super::new_token`]) made each transaction quicker; with it, ~320–350,
//! and a rotation costs a quarter less CPU than without either.
//!
//! Once a batch is in the database, the store forgets its spent markers (the
//! database recognises a replay from then on), so the store holds markers
//! only for rotations on their way, however many rotations pass.
//!
//! Nothing is dropped on the way: a full queue (the database is slow or
//! away) makes refreshes wait for room, so memory stays bounded; a failed
//! batch is retried until the database takes it, one rotation at a time if
//! a family was deleted meanwhile (expired, or its user removed), whose
//! rotations are the only ones given up; a graceful shutdown writes what is
//! left before the process exits. What a
//! crash can lose is the queue of the moment: those clients then hold a
//! token the database does not know yet and must sign in again.

use std::time::Duration;

use crate::db::refresh_tokens::{Rotation, record_rotations};
use crate::db::write_queue::WriteQueue;
use crate::db::{Db, DbError};
use crate::store::{SharedStore, Store};

/// Rotations waiting at most; past this a request waits for room.
const QUEUE: usize = 8_192;
/// Rotations per transaction at most.
const BATCH: usize = 512;
/// After a batch that was not full, the writer waits this long before it
/// takes the next: rotations keep coming meanwhile, and the next
/// transaction carries them all. Each transaction has a price of its own
/// (its begin and commit, each statement's round trip to the database, the
/// write-ahead log's frames), so fewer and larger ones cost less per
/// rotation; nobody waits for the journal, and a crash could lose at most
/// this much more of the queue.
const LINGER: Duration = Duration::from_millis(10);
/// Pause before retrying when the database failed for another reason.
const RETRY_AFTER: Duration = Duration::from_secs(1);

pub struct Journal {
    queue: WriteQueue<Rotation>,
}

impl Default for Journal {
    fn default() -> Self {
        Self {
            queue: WriteQueue::new(QUEUE),
        }
    }
}

impl Journal {
    /// Queues `rotation` for the writer. A full queue makes the request wait
    /// for room (the database sets the pace, and memory stays bounded); when
    /// no writer runs (not started, or stopped), the request writes its
    /// rotation itself.
    pub async fn record(&self, db: &Db, store: &dyn Store, rotation: Rotation) {
        if let Err(rotation) = self.queue.push(rotation).await {
            write(db, store, vec![rotation]).await;
        }
    }

    /// The writer: records queued rotations until `stop` completes, then
    /// what is still queued. Call once per journal (later calls return at
    /// once).
    pub async fn run(
        &self,
        db: Db,
        store: SharedStore,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let (db, store) = (&db, store.as_ref());
        self.queue
            .serve(BATCH, stop, |batch| async move {
                let full = batch.len() >= BATCH;
                write(db, store, batch).await;
                if !full {
                    tokio::time::sleep(LINGER).await;
                }
            })
            .await;
    }
}

/// Writes `batch`, retrying until it is written or given up (see the module
/// docs); then the store forgets the spent markers, which the database now
/// answers for.
async fn write(db: &Db, store: &dyn Store, batch: Vec<Rotation>) {
    let count = u32::try_from(batch.len()).unwrap_or(u32::MAX);
    metrics::histogram!("refresh_journal_batch_size").record(f64::from(count));
    let markers: Vec<String> = batch
        .iter()
        .map(|r| super::spent_key(&r.old_hash))
        .collect();
    record(db, batch).await;
    metrics::counter!("refresh_journal_recorded_total").increment(u64::from(count));
    if let Err(error) = store.delete_many(&markers).await {
        // They expire on their own; until then they only repeat what the database says.
        tracing::warn!(%error, "could not remove spent refresh-token markers");
    }
}

async fn record(db: &Db, batch: Vec<Rotation>) {
    loop {
        match record_rotations(db, &batch).await {
            Ok(()) => return,
            Err(DbError::NotFound(_)) => break,
            Err(error) => {
                tracing::warn!(%error, rotations = batch.len(), "could not record refresh-token rotations; retrying");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
    // Some family is gone: write one at a time and give up only on those.
    for rotation in batch {
        loop {
            match record_rotations(db, std::slice::from_ref(&rotation)).await {
                Ok(()) => break,
                Err(DbError::NotFound(_)) => {
                    tracing::info!(family = %rotation.family_id, "refresh-token family gone before its rotation was recorded");
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "could not record a refresh-token rotation; retrying");
                    tokio::time::sleep(RETRY_AFTER).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::db::refresh_tokens::{find_token, insert_family};
    use crate::db::tests::{fresh_sqlite, grant_parties, new_family};
    use crate::store::MemoryStore;

    fn rotation(old: &str, new: &str, family_id: uuid::Uuid) -> Rotation {
        Rotation {
            old_hash: old.to_owned(),
            new_hash: new.to_owned(),
            family_id,
            at: 1_900_000_000,
        }
    }

    async fn spent(db: &Db, hash: &str) -> Option<bool> {
        find_token(db, hash)
            .await
            .unwrap()
            .map(|(row, _)| row.spent_at.is_some())
    }

    #[tokio::test]
    async fn rotations_reach_the_database_with_or_without_a_writer_and_markers_go() {
        let db = fresh_sqlite().await;
        let family = new_family(grant_parties(&db).await, i64::MAX / 4);
        insert_family(&db, &family, "a").await.unwrap();
        let store: SharedStore = Arc::new(MemoryStore::new(Arc::new(crate::clock::SystemClock)));
        let marker = |hash: &str| super::super::spent_key(hash);
        for hash in ["a", "b"] {
            store
                .put(&marker(hash), b"family", Duration::from_mins(1))
                .await
                .unwrap();
        }
        let journal = Arc::new(Journal::default());

        // No writer yet: the request writes its own rotation.
        journal
            .record(&db, store.as_ref(), rotation("a", "b", family.id))
            .await;
        assert_eq!(spent(&db, "a").await, Some(true));
        assert_eq!(spent(&db, "b").await, Some(false));
        assert_eq!(store.get(&marker("a")).await.unwrap(), None);

        // With a writer: queued, and written at the latest when it stops.
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let writer = {
            let (journal, db, store) = (Arc::clone(&journal), db.clone(), Arc::clone(&store));
            tokio::spawn(async move {
                journal
                    .run(db, store, async {
                        let _ = stopped.await;
                    })
                    .await;
            })
        };
        tokio::task::yield_now().await;
        journal
            .record(&db, store.as_ref(), rotation("b", "c", family.id))
            .await;
        stop.send(()).unwrap();
        writer.await.unwrap();
        assert_eq!(spent(&db, "b").await, Some(true));
        assert_eq!(spent(&db, "c").await, Some(false));
        assert_eq!(store.get(&marker("b")).await.unwrap(), None);

        // Stopped: back to writing at once.
        journal
            .record(&db, store.as_ref(), rotation("c", "d", family.id))
            .await;
        assert_eq!(spent(&db, "d").await, Some(false));
    }
}
