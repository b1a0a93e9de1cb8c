//! Group commit: the writes of many requests in one transaction.
//!
//! On SQLite a write costs far more than its rows: a round trip to the
//! connection's thread and back, the write lock, WAL frames for each page
//! it touches, and every other connection's page cache thrown away.
//! Measured on the code flow with a least-cost password hash, the
//! sign-in's audit event took ~190 µs and the new refresh-token family
//! ~345 µs of the ~900 µs of server CPU per flow. So requests hand such
//! writes to one writer task and wait until they are committed: under load
//! one transaction carries the writes of every request that came
//! meanwhile, and those costs are paid once per batch (on PostgreSQL, the
//! network round trips too).
//!
//! A request goes on only once its write is in the database, as if it had
//! written it itself; unlike the journal of rotations, nothing is written
//! behind its back. A write alone in its batch is made as without a writer
//! (no `BEGIN`/`COMMIT` around it). A request that finds nothing queued
//! and nobody committing writes itself, at once: at a quiet moment the
//! hand-off to the writer and back is two thread wake-ups for nothing to
//! batch with (measured: 26.6 → 24.4 thread switches per code flow when
//! sign-ins come one at a time, the flow's CPU besides a real password
//! hash 1.89–2.02 → 1.78–1.87 ms). One lock makes the writer and such requests
//! commit one after the other, never against each other for the database's
//! write lock. A batch that fails (a family whose user
//! was deleted meanwhile, a taken id) is rolled back and its writes are made
//! one at a time, so each request gets its own answer and none fails for
//! another's.

use std::future::Future;

use sea_orm::{DbErr, TransactionTrait};
use tokio::sync::{Mutex, oneshot};

use super::audit::{NewAuditEvent, insert_audit_event, insert_audit_events};
use super::refresh_tokens::{NewFamily, insert_families, insert_family};
use super::write_queue::WriteQueue;
use super::{Db, DbError, WRITE_AT_ONCE};

/// Writes waiting at most; past this a request waits for room.
const QUEUE: usize = 4_096;
/// Writes per transaction at most.
const BATCH: usize = 256;

/// A write that may share a transaction with other requests' writes.
#[derive(Debug)]
pub enum Write {
    /// A new refresh-token family and the hash of its first token.
    Family {
        family: NewFamily,
        first_token_hash: String,
    },
    Audit(NewAuditEvent),
}

struct Queued {
    write: Write,
    committed: oneshot::Sender<Result<(), DbError>>,
}

pub struct GroupCommit {
    queue: WriteQueue<Queued>,
    /// Held by whoever commits: the writer for a batch, or a request
    /// writing on its own.
    committing: Mutex<()>,
}

impl Default for GroupCommit {
    fn default() -> Self {
        Self {
            queue: WriteQueue::new(QUEUE),
            committing: Mutex::new(()),
        }
    }
}

impl GroupCommit {
    /// Makes `write` durable: at once when nothing is queued and nobody
    /// commits (or no writer runs), else through the writer with whatever
    /// else is queued. Returns once it is committed, with its own error if
    /// it failed.
    pub async fn write(&self, db: &Db, write: Write) -> Result<(), DbError> {
        if let Ok(_alone) = self.committing.try_lock()
            && self.queue.is_empty()
        {
            return write_one(db, write).await;
        }
        let (committed, done) = oneshot::channel();
        match self.queue.push(Queued { write, committed }).await {
            Ok(()) => done.await.unwrap_or_else(|_| {
                Err(DbError::Unavailable(DbErr::Custom(
                    "the group-commit writer stopped before answering".to_owned(),
                )))
            }),
            Err(unsent) => write_one(db, unsent.write).await,
        }
    }

    /// The writer: commits queued writes until `stop` completes, then what
    /// is still queued. Call once (later calls return at once).
    pub async fn run(&self, db: Db, stop: impl Future<Output = ()>) {
        let db = &db;
        self.queue
            .serve(BATCH, stop, |batch| async move {
                let _committing = self.committing.lock().await;
                commit(db, batch).await;
            })
            .await;
    }
}

async fn commit(db: &Db, batch: Vec<Queued>) {
    let size = u32::try_from(batch.len()).unwrap_or(u32::MAX);
    metrics::histogram!("group_commit_batch_size").record(f64::from(size));
    if batch.len() > 1 {
        match write_all(db, batch.iter().map(|queued| &queued.write)).await {
            Ok(()) => {
                for queued in batch {
                    // A request that went away no longer waits for its answer.
                    let _ = queued.committed.send(Ok(()));
                }
                return;
            }
            Err(error) => {
                tracing::info!(%error, writes = batch.len(), "a group commit failed; writing one at a time");
            }
        }
    }
    for queued in batch {
        let result = write_one(db, queued.write).await;
        let _ = queued.committed.send(result);
    }
}

/// All of `writes` in one transaction: the families, their first tokens,
/// the events, each many rows to a statement.
async fn write_all(db: &Db, writes: impl IntoIterator<Item = &Write>) -> Result<(), DbError> {
    let mut families = Vec::new();
    let mut events = Vec::new();
    for write in writes {
        match write {
            Write::Family {
                family,
                first_token_hash,
            } => families.push((family, first_token_hash.as_str())),
            Write::Audit(event) => events.push(event),
        }
    }
    let txn = db.begin_with_options(WRITE_AT_ONCE).await?;
    insert_families(&txn, &families).await?;
    insert_audit_events(&txn, &events).await?;
    txn.commit().await?;
    Ok(())
}

async fn write_one(db: &Db, write: Write) -> Result<(), DbError> {
    match write {
        Write::Family {
            family,
            first_token_hash,
        } => insert_family(db, &family, &first_token_hash).await,
        Write::Audit(event) => insert_audit_event(db, event).await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::db::audit::find_audit_events;
    use crate::db::refresh_tokens::find_token;
    use crate::db::tests::{grant_parties, new_family, on_both_backends};

    on_both_backends!(
        "db::group_commit::postgres",
        group_commit_behaves_the_same_on_postgres;
        a_batch_stores_every_family_and_event_in_one_go,
        a_failed_batch_answers_each_write_on_its_own,
        writes_are_committed_before_they_return_with_or_without_a_writer,
        the_writer_never_commits_while_someone_else_does,
    );

    fn family(user_id: Uuid, hash: &str) -> Write {
        Write::Family {
            family: new_family(user_id, i64::MAX / 4),
            first_token_hash: hash.to_owned(),
        }
    }

    fn event(kind: &str) -> Write {
        Write::Audit(NewAuditEvent {
            kind: kind.to_owned(),
            actor: "system".to_owned(),
            user_id: None,
            org_id: None,
            client_id: Some("console".to_owned()),
            ip: None,
            detail: json!({}),
            at: 1_900_000_000,
        })
    }

    /// Queues `writes` as one batch; the receivers get each one's answer.
    fn queued(writes: Vec<Write>) -> (Vec<Queued>, Vec<oneshot::Receiver<Result<(), DbError>>>) {
        writes
            .into_iter()
            .map(|write| {
                let (committed, answer) = oneshot::channel();
                (Queued { write, committed }, answer)
            })
            .unzip()
    }

    /// Runs `group`'s writer until the returned sender is used.
    async fn start_writer(
        group: &Arc<GroupCommit>,
        db: &Db,
    ) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
        let (stop, stopped) = oneshot::channel::<()>();
        let (group, db) = (Arc::clone(group), db.clone());
        let writer = tokio::spawn(async move {
            group
                .run(db, async {
                    let _ = stopped.await;
                })
                .await;
        });
        tokio::task::yield_now().await;
        (stop, writer)
    }

    async fn kinds(db: &Db) -> Vec<String> {
        let mut kinds: Vec<String> = find_audit_events(db, None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        kinds.reverse(); // oldest first
        kinds
    }

    async fn has_token(db: &Db, hash: &str) -> bool {
        find_token(db, hash).await.unwrap().is_some()
    }

    async fn a_batch_stores_every_family_and_event_in_one_go(db: &Db) {
        let user_id = grant_parties(db).await;
        let writes = [
            family(user_id, "h1"),
            event("first"),
            family(user_id, "h2"),
            event("second"),
            family(user_id, "h3"),
        ];
        write_all(db, &writes).await.unwrap();

        for (write, hash) in writes.iter().step_by(2).zip(["h1", "h2", "h3"]) {
            let Write::Family { family, .. } = write else {
                unreachable!()
            };
            let (row, stored) = find_token(db, hash).await.unwrap().unwrap();
            assert_eq!(row.family_id, family.id);
            assert_eq!(stored, family.to_family());
        }
        assert_eq!(kinds(db).await, ["first", "second"], "in queued order");
    }

    async fn a_failed_batch_answers_each_write_on_its_own(db: &Db) {
        let user_id = grant_parties(db).await;
        insert_family(db, &new_family(user_id, i64::MAX / 4), "taken")
            .await
            .unwrap();
        let unknown_client = Write::Family {
            family: NewFamily {
                client_id: "unknown".to_owned(),
                ..new_family(user_id, i64::MAX / 4)
            },
            first_token_hash: "orphan".to_owned(),
        };
        let (batch, answers) = queued(vec![
            family(user_id, "fine"),
            family(user_id, "taken"),
            event("kept"),
            unknown_client,
        ]);

        commit(db, batch).await;

        let mut answers = answers.into_iter();
        let mut next = async || answers.next().unwrap().await.unwrap();
        assert!(next().await.is_ok());
        assert!(matches!(next().await, Err(DbError::Conflict(_))));
        assert!(next().await.is_ok());
        assert!(matches!(next().await, Err(DbError::NotFound(_))));
        assert!(
            has_token(db, "fine").await,
            "not undone by the others' failures"
        );
        assert!(!has_token(db, "orphan").await);
        assert_eq!(kinds(db).await, ["kept"]);
    }

    async fn writes_are_committed_before_they_return_with_or_without_a_writer(db: &Db) {
        let user_id = grant_parties(db).await;
        let group = Arc::new(GroupCommit::default());

        // No writer: written at once.
        group.write(db, family(user_id, "alone")).await.unwrap();
        assert!(has_token(db, "alone").await);

        let (stop, writer) = start_writer(&group, db).await;
        let requests: Vec<_> = (0..20)
            .map(|i| {
                let (group, db) = (Arc::clone(&group), db.clone());
                tokio::spawn(async move {
                    let hash = format!("h{i}");
                    group.write(&db, family(user_id, &hash)).await.unwrap();
                    // Committed when the write returns, whichever batch took it.
                    assert!(has_token(&db, &hash).await, "{hash}");
                    group.write(&db, event(&format!("e{i}"))).await.unwrap();
                })
            })
            .collect();
        for request in requests {
            request.await.unwrap();
        }
        let taken = group.write(db, family(user_id, "h0")).await;
        assert!(matches!(taken, Err(DbError::Conflict(_))), "{taken:?}");
        stop.send(()).unwrap();
        writer.await.unwrap();
        assert_eq!(kinds(db).await.len(), 20);

        // Stopped: written at once again.
        group.write(db, event("after")).await.unwrap();
        assert_eq!(kinds(db).await.last().map(String::as_str), Some("after"));
    }

    async fn the_writer_never_commits_while_someone_else_does(db: &Db) {
        let group = Arc::new(GroupCommit::default());
        let (stop, writer) = start_writer(&group, db).await;

        // Someone commits: a write goes to the writer, which waits its turn.
        let committing = group.committing.lock().await;
        let queued = {
            let (group, db) = (Arc::clone(&group), db.clone());
            tokio::spawn(async move { group.write(&db, event("queued")).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!queued.is_finished(), "committed while the lock was held");
        assert!(kinds(db).await.is_empty());
        drop(committing);
        queued.await.unwrap().unwrap();
        assert_eq!(kinds(db).await, ["queued"]);

        // Nobody commits and nothing waits: written by the request itself.
        group.write(db, event("alone")).await.unwrap();
        assert_eq!(kinds(db).await, ["queued", "alone"]);
        stop.send(()).unwrap();
        writer.await.unwrap();
    }
}
