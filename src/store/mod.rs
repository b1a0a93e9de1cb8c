//! The ephemeral store: login transactions, sessions, authorization codes,
//! OTP challenges, device codes, captcha answers, rate-limit counters and
//! replay caches (DESIGN.md, "Ephemeral state").
//!
//! One [`Store`] trait, two backends:
//!
//! - [`MemoryStore`] (`memory://`, the default): one process, nothing to run.
//!   Expiry is judged with the injected [`SharedClock`], so tests move time
//!   instead of sleeping.
//! - [`RedisStore`] (`redis://…`): several `gatehouse serve` instances behind a
//!   load balancer share it, so no sticky sessions are needed.
//!
//! Decisions:
//!
//! - Values are opaque bytes; features store serde types through
//!   [`put_json`], [`get_json`] and [`take_json`].
//! - Single-use things (authorization codes, recovery links, OTP challenges)
//!   are read with [`Store::take`], which is atomic on both backends (Redis
//!   `GETDEL`): a code can never be redeemed twice, even by two instances at
//!   once (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3).
//! - Replay caches (`jti`, DPoP-style nonces) use [`Store::put_new`], and rate
//!   limits use [`Store::incr`], a fixed window that starts at the first count.
//! - Keys may embed codes and tokens, so this module never logs keys or
//!   values, and error messages never echo the store URL (it may hold a
//!   password).

mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::SharedClock;

pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;

/// The store as the application holds it.
pub type SharedStore = Arc<dyn Store>;

/// Short-lived key/value state with per-item expiry.
///
/// An expired item is invisible to every operation, exactly as if it had
/// been deleted.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores `value` under `key` for `ttl`, replacing any previous value.
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError>;
    /// Stores only when `key` is absent (Redis SET NX PX); Ok(true) when stored. Replay caches use it.
    async fn put_new(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, StoreError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Atomically returns and removes the value (GETDEL): for single-use items.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes every key of `keys` in one round trip (Redis `DEL k1 k2 …`).
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError>;
    /// Adds one to a counter, creating it with a `window` TTL when absent; returns the new count. Rate limits use it.
    async fn incr(&self, key: &str, window: Duration) -> Result<u64, StoreError>;
    /// Checks the backend answers (for /readyz).
    async fn ping(&self) -> Result<(), StoreError>;
    /// "memory" or "redis", for logs and metrics.
    fn backend(&self) -> &'static str;
}

/// What can go wrong with the ephemeral store. `Display` is safe to show.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the session store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("a stored item could not be read")]
    Corrupt(#[source] serde_json::Error),
    #[error("store URL must be memory:// or redis://…: {0}")]
    BadUrl(String),
}

/// Opens the store named by `url`: `memory` or `memory://` (in-process), `redis://…` or `rediss://…`.
///
/// Fails with [`StoreError::BadUrl`] for anything else, and with
/// [`StoreError::Unavailable`] when Redis cannot be reached within 5 s: the
/// server should refuse to start rather than come up unable to log anyone in.
pub async fn connect(url: &str, clock: SharedClock) -> Result<SharedStore, StoreError> {
    if url == "memory" || url == "memory://" {
        return Ok(Arc::new(MemoryStore::new(clock)));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        return Ok(Arc::new(RedisStore::connect(url).await?));
    }
    Err(StoreError::BadUrl(describe_scheme(url)))
}

/// Names what was given without echoing the URL, which may carry a password.
fn describe_scheme(url: &str) -> String {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    match scheme {
        Some("memory") => "memory:// takes no host or path".to_owned(),
        Some(scheme)
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            format!("got a {scheme}:// URL")
        }
        _ => "got something that is not a URL".to_owned(),
    }
}

/// Stores `value` as JSON. A value serde cannot encode (a map with non-string
/// keys) is reported as [`StoreError::Corrupt`]: it is a programming error the
/// person can do nothing about, like an unreadable stored item.
pub async fn put_json<T: Serialize + Sync>(
    store: &dyn Store,
    key: &str,
    value: &T,
    ttl: Duration,
) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(value).map_err(StoreError::Corrupt)?;
    store.put(key, &bytes, ttl).await
}

/// Reads a JSON value written by [`put_json`].
pub async fn get_json<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, StoreError> {
    decode(store.get(key).await?)
}

/// Atomically reads and removes a JSON value: for single-use items.
pub async fn take_json<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, StoreError> {
    decode(store.take(key).await?)
}

/// The current value of an [`Store::incr`] counter; 0 when absent or expired.
pub async fn count(store: &dyn Store, key: &str) -> Result<u64, StoreError> {
    Ok(store
        .get(key)
        .await?
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse().ok())
        .unwrap_or(0))
}

fn decode<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<Option<T>, StoreError> {
    bytes
        .map(|bytes| serde_json::from_slice(&bytes).map_err(StoreError::Corrupt))
        .transpose()
}

/// The behaviour every backend must show, written once and run against each
/// backend by [`contract::store_contract_tests`].
#[cfg(test)]
pub(crate) mod contract {
    use std::sync::Arc;
    use std::time::Duration;

    use serde::{Deserialize, Serialize};

    use super::{SharedStore, StoreError, get_json, put_json, take_json};
    use crate::clock::ManualClock;
    use crate::testing::services::Service;

    /// A store under test and the way time passes for it.
    pub(crate) struct Harness {
        pub store: SharedStore,
        /// A TTL short enough to outlive in a test.
        pub ttl: Duration,
        /// `Some` when time is simulated; `None` when the backend keeps its
        /// own time (Redis), so tests really wait.
        pub clock: Option<Arc<ManualClock>>,
        /// Keeps a throw-away server alive for the test's duration.
        #[allow(dead_code, reason = "held, never read: dropping it stops the server")]
        pub service: Option<Service>,
    }

    impl Harness {
        pub async fn pass(&self, duration: Duration) {
            match &self.clock {
                Some(clock) => clock.advance(duration),
                None => tokio::time::sleep(duration).await,
            }
        }

        async fn outlive_ttl(&self) {
            self.pass(self.ttl + self.ttl / 2).await;
        }
    }

    /// Generates one `#[tokio::test]` per contract case; `$harness` is an
    /// expression giving `Option<Harness>` (None: suite skipped, announced).
    macro_rules! store_contract_tests {
        ($harness:expr) => {
            $crate::store::contract::store_contract_tests!(@cases $harness;
                put_then_get_returns_the_value,
                missing_key_reads_as_nothing,
                put_replaces_the_previous_value,
                deleted_value_is_gone,
                deleted_values_are_gone_at_once,
                value_is_gone_once_its_ttl_has_passed,
                put_new_stores_only_when_absent_and_again_after_expiry,
                taken_item_cannot_be_taken_twice,
                fifty_concurrent_takes_of_one_key_yield_exactly_one_value,
                counter_counts_up_and_restarts_after_its_window,
                counter_window_runs_from_the_first_count_not_the_last,
                json_helpers_round_trip_a_typed_value,
                corrupt_value_is_reported_as_corrupt,
                ping_succeeds,
            );
        };
        (@cases $harness:expr; $($case:ident),* $(,)?) => {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    if let Some(harness) = $harness.await {
                        $crate::store::contract::$case(&harness).await;
                    }
                }
            )*
        };
    }
    pub(crate) use store_contract_tests;

    const LONG: Duration = Duration::from_mins(10);

    pub(crate) async fn put_then_get_returns_the_value(h: &Harness) {
        h.store.put("a", b"alpha", LONG).await.unwrap();
        assert_eq!(
            h.store.get("a").await.unwrap().as_deref(),
            Some(&b"alpha"[..])
        );
        // Reading does not consume.
        assert_eq!(
            h.store.get("a").await.unwrap().as_deref(),
            Some(&b"alpha"[..])
        );
    }

    pub(crate) async fn missing_key_reads_as_nothing(h: &Harness) {
        assert_eq!(h.store.get("never-written").await.unwrap(), None);
        assert_eq!(h.store.take("never-written").await.unwrap(), None);
        h.store.delete("never-written").await.unwrap();
    }

    pub(crate) async fn put_replaces_the_previous_value(h: &Harness) {
        h.store.put("r", b"first", LONG).await.unwrap();
        h.store.put("r", b"second", LONG).await.unwrap();
        assert_eq!(
            h.store.get("r").await.unwrap().as_deref(),
            Some(&b"second"[..])
        );
    }

    pub(crate) async fn deleted_value_is_gone(h: &Harness) {
        h.store.put("d", b"x", LONG).await.unwrap();
        h.store.put("kept", b"y", LONG).await.unwrap();
        h.store.delete("d").await.unwrap();
        assert_eq!(h.store.get("d").await.unwrap(), None);
        assert_eq!(
            h.store.get("kept").await.unwrap().as_deref(),
            Some(&b"y"[..])
        );
    }

    pub(crate) async fn deleted_values_are_gone_at_once(h: &Harness) {
        for key in ["m1", "m2", "kept"] {
            h.store.put(key, b"x", LONG).await.unwrap();
        }
        let keys = ["m1".to_owned(), "m2".to_owned(), "never-written".to_owned()];
        h.store.delete_many(&keys).await.unwrap();
        h.store.delete_many(&[]).await.unwrap();
        assert_eq!(h.store.get("m1").await.unwrap(), None);
        assert_eq!(h.store.get("m2").await.unwrap(), None);
        assert!(h.store.get("kept").await.unwrap().is_some());
    }

    pub(crate) async fn value_is_gone_once_its_ttl_has_passed(h: &Harness) {
        h.store.put("short", b"x", h.ttl).await.unwrap();
        h.store.put("long", b"y", LONG).await.unwrap();
        assert!(h.store.get("short").await.unwrap().is_some());
        h.outlive_ttl().await;
        assert_eq!(h.store.get("short").await.unwrap(), None);
        assert_eq!(h.store.take("short").await.unwrap(), None);
        assert_eq!(
            h.store.get("long").await.unwrap().as_deref(),
            Some(&b"y"[..])
        );
    }

    pub(crate) async fn put_new_stores_only_when_absent_and_again_after_expiry(h: &Harness) {
        assert!(h.store.put_new("jti", b"first", h.ttl).await.unwrap());
        assert!(!h.store.put_new("jti", b"second", h.ttl).await.unwrap());
        assert_eq!(
            h.store.get("jti").await.unwrap().as_deref(),
            Some(&b"first"[..])
        );
        h.outlive_ttl().await;
        assert!(h.store.put_new("jti", b"third", h.ttl).await.unwrap());
        assert_eq!(
            h.store.get("jti").await.unwrap().as_deref(),
            Some(&b"third"[..])
        );
    }

    pub(crate) async fn taken_item_cannot_be_taken_twice(h: &Harness) {
        h.store.put("code", b"grant", LONG).await.unwrap();
        assert_eq!(
            h.store.take("code").await.unwrap().as_deref(),
            Some(&b"grant"[..])
        );
        assert_eq!(h.store.take("code").await.unwrap(), None);
        assert_eq!(h.store.get("code").await.unwrap(), None);
    }

    pub(crate) async fn fifty_concurrent_takes_of_one_key_yield_exactly_one_value(h: &Harness) {
        h.store.put("race", b"prize", LONG).await.unwrap();
        let takers: Vec<_> = (0..50)
            .map(|_| {
                let store = Arc::clone(&h.store);
                tokio::spawn(async move { store.take("race").await })
            })
            .collect();
        let mut winners = 0;
        for taker in takers {
            if let Some(value) = taker.await.unwrap().unwrap() {
                assert_eq!(value, b"prize");
                winners += 1;
            }
        }
        assert_eq!(winners, 1);
    }

    pub(crate) async fn counter_counts_up_and_restarts_after_its_window(h: &Harness) {
        for expected in 1..=3 {
            assert_eq!(h.store.incr("hits", h.ttl).await.unwrap(), expected);
        }
        assert_eq!(h.store.incr("other", h.ttl).await.unwrap(), 1);
        h.outlive_ttl().await;
        assert_eq!(h.store.incr("hits", h.ttl).await.unwrap(), 1);
    }

    /// A fixed window: a steady trickle of attempts must not keep the counter alive.
    pub(crate) async fn counter_window_runs_from_the_first_count_not_the_last(h: &Harness) {
        let two_thirds = h.ttl * 2 / 3;
        assert_eq!(h.store.incr("trickle", h.ttl).await.unwrap(), 1);
        h.pass(two_thirds).await;
        assert_eq!(h.store.incr("trickle", h.ttl).await.unwrap(), 2);
        h.pass(two_thirds).await;
        assert_eq!(h.store.incr("trickle", h.ttl).await.unwrap(), 1);
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Challenge {
        user: String,
        attempts_left: u8,
    }

    pub(crate) async fn json_helpers_round_trip_a_typed_value(h: &Harness) {
        let challenge = Challenge {
            user: "alice".into(),
            attempts_left: 3,
        };
        put_json(&*h.store, "otp", &challenge, LONG).await.unwrap();
        let read: Option<Challenge> = get_json(&*h.store, "otp").await.unwrap();
        assert_eq!(read.as_ref(), Some(&challenge));
        let taken: Option<Challenge> = take_json(&*h.store, "otp").await.unwrap();
        assert_eq!(taken, Some(challenge));
        let again: Option<Challenge> = take_json(&*h.store, "otp").await.unwrap();
        assert_eq!(again, None);
    }

    pub(crate) async fn corrupt_value_is_reported_as_corrupt(h: &Harness) {
        h.store.put("bad", b"{not json", LONG).await.unwrap();
        let read = get_json::<Challenge>(&*h.store, "bad").await;
        assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
        let taken = take_json::<Challenge>(&*h.store, "bad").await;
        assert!(matches!(taken, Err(StoreError::Corrupt(_))), "{taken:?}");
    }

    pub(crate) async fn ping_succeeds(h: &Harness) {
        h.store.ping().await.unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    #[tokio::test]
    async fn memory_urls_open_the_memory_backend() {
        for url in ["memory", "memory://"] {
            let store = connect(url, Arc::new(SystemClock)).await.unwrap();
            assert_eq!(store.backend(), "memory");
        }
    }

    #[tokio::test]
    async fn other_schemes_are_a_bad_url_that_does_not_echo_credentials() {
        for url in [
            "postgres://x",
            "postgres://user:hunter2@db/x",
            "hunter2",
            "memory://x",
            "",
        ] {
            let result = connect(url, Arc::new(SystemClock)).await;
            let Err(error @ StoreError::BadUrl(_)) = result else {
                panic!("{url:?} should be a bad URL");
            };
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn bad_url_message_names_the_scheme_it_got() {
        assert_eq!(
            describe_scheme("postgres://u:p@h/db"),
            "got a postgres:// URL"
        );
        assert_eq!(
            describe_scheme("p@ss word://"),
            "got something that is not a URL"
        );
        assert_eq!(
            describe_scheme("memory://db"),
            "memory:// takes no host or path"
        );
    }
}
