//! The in-process [`Store`] backend: the default, for a single instance.
//!
//! Decisions:
//!
//! - One `std::sync::Mutex` around a `HashMap`. Every operation is a few map
//!   calls and the lock is never held across an `.await`, so a blocking mutex
//!   is cheaper than an async one and makes `take` trivially atomic.
//! - Expiry is read from the injected [`SharedClock`], so tests move a
//!   `ManualClock` instead of sleeping. Deadlines are kept as Unix nanoseconds
//!   with saturating arithmetic, so no TTL can overflow.
//! - Expired entries are invisible to every operation and are swept (one O(n)
//!   `retain`) every [`SWEEP_EVERY_WRITES`] writes, or every `n / 4` writes
//!   once the map holds more, so a sweep costs a few entries per write
//!   however large the map grows, and memory stays bounded by what is live
//!   plus a quarter (or [`SWEEP_EVERY_WRITES`]) of dead entries.
//! - A TTL of zero means "already expired", as Redis would have it.
//! - Counters are stored as decimal text, as Redis stores them, so `get` reads
//!   the same bytes on both backends.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{Store, StoreError};
use crate::clock::SharedClock;

/// How many writes pass between two sweeps of expired entries.
const SWEEP_EVERY_WRITES: u32 = 1024;

/// The in-process ephemeral store.
pub struct MemoryStore {
    clock: SharedClock,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    writes_since_sweep: u32,
}

struct Entry {
    value: Vec<u8>,
    /// Unix time in nanoseconds from which the entry no longer exists.
    expires_at: i128,
}

impl Entry {
    fn is_live(&self, now: i128) -> bool {
        now < self.expires_at
    }
}

impl State {
    fn live(&mut self, key: &str, now: i128) -> Option<&mut Entry> {
        self.entries.get_mut(key).filter(|entry| entry.is_live(now))
    }

    fn insert(&mut self, key: &str, value: Vec<u8>, expires_at: i128, now: i128) {
        self.entries
            .insert(key.to_owned(), Entry { value, expires_at });
        self.writes_since_sweep += 1;
        let every =
            SWEEP_EVERY_WRITES.max(u32::try_from(self.entries.len() / 4).unwrap_or(u32::MAX));
        if self.writes_since_sweep >= every {
            self.entries.retain(|_, entry| entry.is_live(now));
            self.writes_since_sweep = 0;
        }
    }
}

impl MemoryStore {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            state: Mutex::new(State::default()),
        }
    }

    /// A panic elsewhere while the lock was held cannot leave the map half
    /// updated (each operation is a single map call), so a poisoned lock is
    /// still safe to use.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> i128 {
        self.clock.now().unix_timestamp_nanos()
    }
}

fn deadline(now: i128, ttl: Duration) -> i128 {
    now.saturating_add(i128::try_from(ttl.as_nanos()).unwrap_or(i128::MAX))
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let now = self.now();
        self.lock()
            .insert(key, value.to_vec(), deadline(now, ttl), now);
        Ok(())
    }

    async fn put_new(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, StoreError> {
        let now = self.now();
        let mut state = self.lock();
        if state.live(key, now).is_some() {
            return Ok(false);
        }
        state.insert(key, value.to_vec(), deadline(now, ttl), now);
        Ok(true)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.now();
        Ok(self.lock().live(key, now).map(|entry| entry.value.clone()))
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.now();
        let removed = self.lock().entries.remove(key);
        Ok(removed
            .filter(|entry| entry.is_live(now))
            .map(|entry| entry.value))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.lock().entries.remove(key);
        Ok(())
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        let mut state = self.lock();
        for key in keys {
            state.entries.remove(key);
        }
        Ok(())
    }

    async fn incr(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        let now = self.now();
        let mut state = self.lock();
        if let Some(entry) = state.live(key, now) {
            let count: u64 = serde_json::from_slice(&entry.value).map_err(StoreError::Corrupt)?;
            let count = count.saturating_add(1);
            entry.value = count.to_string().into_bytes();
            return Ok(count);
        }
        state.insert(key, b"1".to_vec(), deadline(now, window), now);
        Ok(1)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::contract::{Harness, store_contract_tests};

    fn manual_clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(
            time::macros::datetime!(2030-01-01 00:00 UTC),
        ))
    }

    fn memory_harness() -> Harness {
        let clock = manual_clock();
        Harness {
            store: Arc::new(MemoryStore::new(clock.clone())),
            ttl: Duration::from_mins(1),
            clock: Some(clock),
            service: None,
        }
    }

    // The contract awaits its harness; the memory one is ready at once.
    store_contract_tests!(std::future::ready(Some(memory_harness())));

    #[tokio::test]
    async fn zero_ttl_means_already_expired() {
        let store = MemoryStore::new(manual_clock());
        store.put("k", b"v", Duration::ZERO).await.unwrap();
        assert_eq!(store.get("k").await.unwrap(), None);
        assert_eq!(store.take("k").await.unwrap(), None);
        assert!(
            store
                .put_new("k", b"v", Duration::from_secs(1))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn huge_ttl_does_not_overflow() {
        let store = MemoryStore::new(manual_clock());
        store.put("k", b"v", Duration::MAX).await.unwrap();
        assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    }

    #[tokio::test]
    async fn expired_entries_are_swept_so_memory_stays_bounded() {
        let clock = manual_clock();
        let store = MemoryStore::new(clock.clone());
        for i in 0..100 {
            store
                .put(&format!("dead-{i}"), b"v", Duration::from_secs(1))
                .await
                .unwrap();
        }
        store
            .put("alive", b"v", Duration::from_hours(1))
            .await
            .unwrap();
        clock.advance(Duration::from_secs(2));
        for _ in 0..SWEEP_EVERY_WRITES {
            store
                .put("busy", b"v", Duration::from_hours(1))
                .await
                .unwrap();
        }
        let keys: Vec<String> = {
            let state = store.lock();
            let mut keys: Vec<String> = state.entries.keys().cloned().collect();
            keys.sort();
            keys
        };
        assert_eq!(keys, ["alive", "busy"]);
    }

    #[tokio::test]
    async fn counter_is_readable_as_decimal_text_like_redis() {
        let store = MemoryStore::new(manual_clock());
        for _ in 0..12 {
            store.incr("n", Duration::from_mins(1)).await.unwrap();
        }
        assert_eq!(store.get("n").await.unwrap().as_deref(), Some(&b"12"[..]));
    }

    #[tokio::test]
    async fn counting_a_non_counter_value_is_corrupt() {
        let store = MemoryStore::new(manual_clock());
        store
            .put("n", b"abc", Duration::from_mins(1))
            .await
            .unwrap();
        let counted = store.incr("n", Duration::from_mins(1)).await;
        assert!(
            matches!(counted, Err(StoreError::Corrupt(_))),
            "{counted:?}"
        );
    }
}
