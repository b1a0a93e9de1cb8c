//! A short-lived, in-process cache of rows that hot paths read on every
//! request: clients (every token-side request authenticates one) and users
//! (userinfo).
//!
//! Without it each such request costs database queries before any real
//! work. Rows change rarely, but when the CLI or the admin API changes one, a
//! running server must see it quickly; the production TTL is one second,
//! which bounds that delay while still absorbing bursts.
//!
//! Decisions:
//! - Misses are cached too (`None`), so a flood of requests naming an unknown
//!   client costs one query per TTL, not one per request.
//! - The map is bounded: when it is full, expired entries are dropped, and if
//!   it is still full it is cleared. Unknown ids are attacker-chosen, so the
//!   bound matters more than keeping hot entries.
//! - A plain `std::sync::Mutex`, never held across an `.await`: the lock only
//!   guards a map lookup or insert, and the database is read outside it. Two
//!   concurrent misses may both query; that is harmless.
//! - Expiry is judged with the injected [`Clock`] at sub-second precision.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::db::clients::{ClientRecord, find_client};
use crate::db::entity::users::Model as User;
use crate::db::{Db, DbError};

/// Most entries held at once; reaching it empties the cache.
const MAX_ENTRIES: usize = 10_000;

/// Rows by key, each kept at most `ttl`.
pub struct RowCache<V> {
    ttl: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<String, Entry<V>>>,
}

/// Client records by `client_id`.
pub type ClientCache = RowCache<ClientRecord>;
/// Users by `sub`.
pub type UserCache = RowCache<User>;

struct Entry<V> {
    client: Option<Arc<V>>,
    expires_at: OffsetDateTime,
}

impl<V> fmt::Debug for RowCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowCache")
            .field("ttl", &self.ttl)
            .field("max_entries", &self.max_entries)
            .field("entries", &self.lock().len())
            .finish()
    }
}

impl ClientCache {
    /// The client named `client_id`, or `None` when there is no such client,
    /// as the database said at most `ttl` ago.
    pub async fn get(
        &self,
        db: &Db,
        clock: &dyn Clock,
        client_id: &str,
    ) -> Result<Option<Arc<ClientRecord>>, DbError> {
        self.get_or_load(clock, client_id, || find_client(db, client_id))
            .await
    }
}

impl UserCache {
    /// The user `sub`, as the database said at most `ttl` ago.
    pub async fn get(
        &self,
        db: &Db,
        clock: &dyn Clock,
        sub: uuid::Uuid,
    ) -> Result<Option<Arc<User>>, DbError> {
        self.get_or_load(clock, &sub.to_string(), || {
            crate::db::users::find_user_by_id(db, sub)
        })
        .await
    }

    /// Keeps `user`, read from the database at `read_at`, as [`Self::get`]
    /// would have: a sign-in reads the person by username moments before the
    /// client's token request asks for them by `sub`, which then costs no
    /// query. The entry expires `ttl` after the read, however long the
    /// password check queued in between.
    pub fn remember(&self, read_at: OffsetDateTime, user: Arc<User>) {
        self.insert(&user.id.to_string(), Some(user), read_at + self.ttl);
    }
}

impl<V> RowCache<V> {
    /// A cache whose entries live at most `ttl` (one second in production).
    pub fn new(ttl: Duration) -> Self {
        Self::with_capacity(ttl, MAX_ENTRIES)
    }

    fn with_capacity(ttl: Duration, max_entries: usize) -> Self {
        Self {
            ttl,
            max_entries,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The row under `key`: cached, or read with `load` and kept `ttl`.
    pub async fn get_or_load<F, Fut>(
        &self,
        clock: &dyn Clock,
        key: &str,
        load: F,
    ) -> Result<Option<Arc<V>>, DbError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<V>, DbError>>,
    {
        if let Some(row) = self.fresh(key, clock.now()) {
            return Ok(row);
        }
        let row = load().await?.map(Arc::new);
        self.insert(key, row.clone(), clock.now() + self.ttl);
        Ok(row)
    }

    /// The cached answer, `Some(None)` being a cached "no such client".
    #[allow(
        clippy::option_option,
        reason = "private: distinguishes \"not cached\" from \"cached as absent\""
    )]
    fn fresh(&self, client_id: &str, now: OffsetDateTime) -> Option<Option<Arc<V>>> {
        let entries = self.lock();
        let entry = entries.get(client_id)?;
        (now < entry.expires_at).then(|| entry.client.clone())
    }

    fn insert(&self, client_id: &str, client: Option<Arc<V>>, expires_at: OffsetDateTime) {
        let mut entries = self.lock();
        if entries.len() >= self.max_entries && !entries.contains_key(client_id) {
            let now = expires_at - self.ttl;
            entries.retain(|_, entry| now < entry.expires_at);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(client_id.to_owned(), Entry { client, expires_at });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry<V>>> {
        // A panic while holding the lock cannot leave the map half-written in
        // a way that matters: every entry is whole, so keep using it.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::db::clients::{delete_client, insert_client, upsert_client};

    const TTL: Duration = Duration::from_secs(1);

    async fn database() -> Db {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        db
    }

    fn client(client_id: &str, name: &str) -> ClientRecord {
        ClientRecord {
            client_id: client_id.to_owned(),
            name: Some(name.to_owned()),
            secret_hash: None,
            auth_method: "none".to_owned(),
            grant_types: vec!["authorization_code".to_owned()],
            scopes: vec![],
            redirect_uris: vec!["https://app.example.com/cb".to_owned()],
            post_logout_redirect_uris: vec![],
            first_party: false,
            require_pkce: true,
            require_par: false,
            access_token_format: "jwt".to_owned(),
            id_token_signed_response_alg: None,
            jwks: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            from_config: false,
            created_at: 1_900_000_000,
            updated_at: 1_900_000_000,
        }
    }

    fn name_of(found: Option<&Arc<ClientRecord>>) -> Option<&str> {
        found.and_then(|client| client.name.as_deref())
    }

    #[tokio::test]
    async fn a_hit_within_ttl_does_not_see_a_change_and_one_after_ttl_does() {
        let (db, clock) = (database().await, ManualClock::starting_now());
        let cache = ClientCache::new(TTL);
        insert_client(&db, &client("app", "Before")).await.unwrap();
        let first = cache.get(&db, &clock, "app").await.unwrap();
        assert_eq!(name_of(first.as_ref()), Some("Before"));

        upsert_client(&db, &client("app", "After")).await.unwrap();
        clock.advance(Duration::from_millis(900));
        let cached = cache.get(&db, &clock, "app").await.unwrap();
        assert_eq!(name_of(cached.as_ref()), Some("Before"));

        clock.advance(Duration::from_millis(100));
        let fresh = cache.get(&db, &clock, "app").await.unwrap();
        assert_eq!(name_of(fresh.as_ref()), Some("After"));
    }

    #[tokio::test]
    async fn a_deleted_client_disappears_after_ttl() {
        let (db, clock) = (database().await, ManualClock::starting_now());
        let cache = ClientCache::new(TTL);
        insert_client(&db, &client("gone", "Gone")).await.unwrap();
        assert!(cache.get(&db, &clock, "gone").await.unwrap().is_some());
        assert!(delete_client(&db, "gone").await.unwrap());
        assert!(cache.get(&db, &clock, "gone").await.unwrap().is_some());
        clock.advance(TTL);
        assert!(cache.get(&db, &clock, "gone").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_unknown_client_is_cached_as_absent_until_ttl() {
        let (db, clock) = (database().await, ManualClock::starting_now());
        let cache = ClientCache::new(TTL);
        assert!(cache.get(&db, &clock, "late").await.unwrap().is_none());
        insert_client(&db, &client("late", "Late")).await.unwrap();
        assert!(cache.get(&db, &clock, "late").await.unwrap().is_none());
        clock.advance(TTL);
        let found = cache.get(&db, &clock, "late").await.unwrap();
        assert_eq!(name_of(found.as_ref()), Some("Late"));
    }

    #[tokio::test]
    async fn a_remembered_user_is_served_without_a_query_until_ttl() {
        let (db, clock) = (database().await, ManualClock::starting_now());
        let cache = UserCache::new(TTL);
        // Never stored: only the cache can answer with this person.
        let user = crate::db::users::unsaved("ada");
        cache.remember(clock.now(), Arc::new(user.clone()));

        clock.advance(Duration::from_millis(900));
        let cached = cache.get(&db, &clock, user.id).await.unwrap();
        assert_eq!(cached.as_deref(), Some(&user));

        clock.advance(Duration::from_millis(100));
        assert_eq!(cache.get(&db, &clock, user.id).await.unwrap(), None);

        // Read before a slow password check: the TTL runs from the read.
        let read_at = clock.now();
        clock.advance(Duration::from_millis(600));
        cache.remember(read_at, Arc::new(user.clone()));
        assert!(cache.get(&db, &clock, user.id).await.unwrap().is_some());
        clock.advance(Duration::from_millis(400));
        assert_eq!(cache.get(&db, &clock, user.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_full_cache_is_emptied_rather_than_growing() {
        let (db, clock) = (database().await, ManualClock::starting_now());
        let cache = ClientCache::with_capacity(TTL, 3);
        for id in ["a", "b", "c"] {
            cache.get(&db, &clock, id).await.unwrap();
        }
        assert_eq!(cache.lock().len(), 3);
        cache.get(&db, &clock, "d").await.unwrap();
        let entries = cache.lock();
        assert_eq!(entries.len(), 1);
        assert!(entries.contains_key("d"));
    }

    #[tokio::test]
    async fn a_full_cache_drops_expired_entries_first() {
        let (db, clock) = (database().await, ManualClock::starting_now());
        let cache = ClientCache::with_capacity(TTL, 3);
        cache.get(&db, &clock, "old").await.unwrap();
        clock.advance(Duration::from_millis(600));
        cache.get(&db, &clock, "b").await.unwrap();
        cache.get(&db, &clock, "c").await.unwrap();
        clock.advance(Duration::from_millis(600));
        cache.get(&db, &clock, "d").await.unwrap();
        let entries = cache.lock();
        let mut kept: Vec<&str> = entries.keys().map(String::as_str).collect();
        kept.sort_unstable();
        assert_eq!(kept, ["b", "c", "d"]);
    }
}
