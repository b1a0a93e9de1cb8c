//! The Redis [`Store`] backend, shared by several `gatehouse serve` instances.
//!
//! Decisions:
//!
//! - One `ConnectionManager`, cloned per call: it multiplexes every request
//!   over one connection and reconnects after a failure. Its defaults (1 s to
//!   connect, 500 ms per response) bound every call, and reconnection gives up
//!   after [`RECONNECT_RETRIES`] quick retries (the next request starts a new
//!   round), so during an outage a request gets [`StoreError::Unavailable`]
//!   (a 503) within seconds instead of hanging behind a long backoff.
//! - Every key is prefixed with [`KEY_PREFIX`], so Gatehouse can share a Redis
//!   database with other applications.
//! - TTLs are sent in milliseconds (`PX`), at least 1 ms: Redis refuses 0.
//! - `take` is `GETDEL` (Redis ≥ 6.2), atomic on the server, so two instances
//!   can never both redeem one authorization code. [`RedisStore::connect`]
//!   probes for it, so an older server is refused at start-up rather than at
//!   the first login.
//! - `incr` is one `MULTI` transaction, `SET key 0 NX PX window` then
//!   `INCR key`: the TTL is set only by the count that creates the counter,
//!   so the window is fixed, and no crash between two commands can leave a
//!   counter without a TTL.
//! - Every Redis error maps to [`StoreError::Unavailable`]; its text (which
//!   names no key) is kept as the source for the log.

use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, cmd, pipe};

use super::{Store, StoreError};

/// Namespace of every key Gatehouse writes.
const KEY_PREFIX: &str = "gatehouse:";

/// How long start-up waits for Redis: the manager would otherwise retry on.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Retries per reconnection round: with [`RECONNECT_MAX_DELAY`] a refused
/// connection is reported within about 1.5 s.
const RECONNECT_RETRIES: usize = 3;
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(1);

/// Redis refuses an expiry that overflows its own clock arithmetic, so
/// absurdly long TTLs are capped at about 146 million years.
const MAX_TTL_MS: u64 = (i64::MAX / 2).unsigned_abs();

/// The Redis-backed ephemeral store.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
}

impl std::fmt::Debug for RedisStore {
    /// The connection's own `Debug` prints the URL, which may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").finish_non_exhaustive()
    }
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

fn prefixed(key: &str) -> String {
    format!("{KEY_PREFIX}{key}")
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS)
}

impl RedisStore {
    /// Connects to `url` (`redis://…` or `rediss://…`) and checks the server
    /// supports `GETDEL`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(|_| StoreError::BadUrl(refused_url_reason(url)))?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let connecting = ConnectionManager::new_with_config(client, config);
        let connection = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(unavailable)?
            .map_err(unavailable)?;
        let store = Self { connection };
        store.take("probe:getdel").await?;
        Ok(store)
    }

    fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }
}

/// Why redis refused the URL, without quoting it (it may hold a password).
fn refused_url_reason(url: &str) -> String {
    if url.starts_with("rediss://") {
        "rediss:// is not supported by this build (it lacks TLS for Redis), or the URL is malformed"
            .to_owned()
    } else {
        "the Redis URL is malformed".to_owned()
    }
}

#[async_trait::async_trait]
impl Store for RedisStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        cmd("SET")
            .arg(prefixed(key))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .query_async::<()>(&mut self.connection())
            .await
            .map_err(unavailable)
    }

    async fn put_new(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, StoreError> {
        // SET NX answers OK when it stored and nil when the key existed.
        cmd("SET")
            .arg(prefixed(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async::<bool>(&mut self.connection())
            .await
            .map_err(unavailable)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        cmd("GET")
            .arg(prefixed(key))
            .query_async(&mut self.connection())
            .await
            .map_err(unavailable)
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        cmd("GETDEL")
            .arg(prefixed(key))
            .query_async(&mut self.connection())
            .await
            .map_err(unavailable)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        cmd("DEL")
            .arg(prefixed(key))
            .query_async::<()>(&mut self.connection())
            .await
            .map_err(unavailable)
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut del = cmd("DEL");
        for key in keys {
            del.arg(prefixed(key));
        }
        del.query_async::<()>(&mut self.connection())
            .await
            .map_err(unavailable)
    }

    async fn incr(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        let key = prefixed(key);
        let (count,): (u64,) = pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("NX")
            .arg("PX")
            .arg(millis(window))
            .ignore()
            .cmd("INCR")
            .arg(&key)
            .query_async(&mut self.connection())
            .await
            .map_err(unavailable)?;
        Ok(count)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        cmd("PING")
            .query_async::<()>(&mut self.connection())
            .await
            .map_err(unavailable)
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpListener};
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;
    use crate::clock::SystemClock;
    use crate::store::connect;
    use crate::store::contract::{Harness, store_contract_tests};
    use crate::testing::services;

    const SUITE: &str = "store::redis";

    async fn redis_harness() -> Option<Harness> {
        let service = services::redis(SUITE)?;
        let store = connect(&service.url, Arc::new(SystemClock)).await.unwrap();
        Some(Harness {
            store,
            // Real time passes on Redis: long enough for a few round trips
            // on a loaded machine, short enough to keep the suite quick.
            ttl: Duration::from_millis(600),
            clock: None,
            service: Some(service),
        })
    }

    store_contract_tests!(redis_harness());

    /// Reads a raw key, bypassing the store's prefixing.
    async fn raw_get(url: &str, key: &str) -> Option<Vec<u8>> {
        let mut connection = Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        cmd("GET")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn redis_url_opens_the_redis_backend_and_prefixes_every_key() {
        let Some(service) = services::redis(SUITE) else {
            return;
        };
        let store = connect(&service.url, Arc::new(SystemClock)).await.unwrap();
        assert_eq!(store.backend(), "redis");
        store.put("k", b"v", Duration::from_mins(1)).await.unwrap();
        store.incr("n", Duration::from_mins(1)).await.unwrap();
        assert_eq!(
            raw_get(&service.url, "gatehouse:k").await.as_deref(),
            Some(&b"v"[..])
        );
        assert_eq!(
            raw_get(&service.url, "gatehouse:n").await.as_deref(),
            Some(&b"1"[..])
        );
        assert_eq!(raw_get(&service.url, "k").await, None);
    }

    #[tokio::test]
    async fn counter_is_created_with_its_window_as_ttl() {
        let Some(service) = services::redis(SUITE) else {
            return;
        };
        let store = RedisStore::connect(&service.url).await.unwrap();
        store.incr("n", Duration::from_mins(1)).await.unwrap();
        store.incr("n", Duration::from_mins(10)).await.unwrap();
        let ttl_ms: i64 = cmd("PTTL")
            .arg("gatehouse:n")
            .query_async(&mut store.connection())
            .await
            .unwrap();
        assert!((1..=60_000).contains(&ttl_ms), "{ttl_ms}");
    }

    #[tokio::test]
    async fn closed_port_is_unavailable_quickly() {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let started = Instant::now();
        let result = connect(&format!("redis://127.0.0.1:{port}/"), Arc::new(SystemClock)).await;
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{:?}",
            result.err()
        );
        // Refused after a few quick retries, not cut off by the start-up timeout.
        assert!(
            started.elapsed() < CONNECT_TIMEOUT,
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn malformed_redis_url_is_a_bad_url_that_hides_the_password() {
        let result = RedisStore::connect("redis://user:hunter2@/").await;
        let Err(error @ StoreError::BadUrl(_)) = result else {
            panic!("a Redis URL without a host should be a bad URL");
        };
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[test]
    fn ttls_are_whole_milliseconds_of_at_least_one() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 1);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
        assert_eq!(millis(Duration::MAX), MAX_TTL_MS);
    }
}
