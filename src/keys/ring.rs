//! [`KeyRing`]: the loaded key set every request signs and verifies with.
//!
//! The set is an immutable snapshot behind `RwLock<Arc<_>>`: readers clone
//! the `Arc` and drop the lock at once, a refresh builds a whole new set off
//! to the side and swaps it in. A request therefore always sees one
//! consistent set (its active keys, JWKS and verifiers agree), and no lock is
//! ever held across an `.await`.
//!
//! "Active" is decided against the clock when the snapshot is built, so a
//! scheduled activation takes effect at the first refresh after its time;
//! [`super::KeySettings::retain_after_retire`] accounts for that delay.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use axum::body::Bytes;
use serde_json::{Map, Value};

use super::loaded::LoadedKey;
use super::manage::{self, StoredKey};
use super::rotation::{self, KeyState};
use super::{Alg, KeyError, KeySettings, as_secs, compact, jwks};
use crate::clock::SharedClock;
use crate::db::Db;

/// The signing keys in use; cheap to clone and share.
#[derive(Clone)]
pub struct KeyRing {
    shared: Arc<Shared>,
}

struct Shared {
    clock: SharedClock,
    settings: KeySettings,
    current: RwLock<Arc<KeySet>>,
    /// Serialises refreshes so an older read never replaces a newer one.
    refreshing: tokio::sync::Mutex<()>,
}

/// One consistent view of the published keys.
struct KeySet {
    published: HashMap<String, Arc<LoadedKey>>,
    active: Vec<Arc<LoadedKey>>,
    jwks: Bytes,
    /// Changes whenever the published keys do, so what was verified against
    /// an earlier set can be told apart (see [`KeyRing::generation`]).
    generation: u64,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.snapshot();
        let active: Vec<(&str, Alg)> = set
            .active
            .iter()
            .map(|key| (key.kid.as_str(), key.alg))
            .collect();
        f.debug_struct("KeyRing")
            .field("active", &active)
            .field("published", &set.published.len())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Loads keys; creates one active key for each [`Alg`] that has none (so
    /// a fresh database just works).
    pub async fn load(
        db: &Db,
        clock: SharedClock,
        settings: KeySettings,
    ) -> Result<Self, KeyError> {
        manage::ensure_active_keys(db, clock.as_ref(), &settings).await?;
        let empty = KeySet {
            published: HashMap::new(),
            active: Vec::new(),
            jwks: jwks::document([]),
            generation: 0,
        };
        let ring = Self {
            shared: Arc::new(Shared {
                clock,
                settings,
                current: RwLock::new(Arc::new(empty)),
                refreshing: tokio::sync::Mutex::new(()),
            }),
        };
        ring.refresh(db).await?;
        Ok(ring)
    }

    /// Re-reads the table, so a `keys rotate` from the CLI is picked up and
    /// activations happen; the server calls this every few seconds. On error
    /// the previous set stays in use.
    pub async fn refresh(&self, db: &Db) -> Result<(), KeyError> {
        let _one_at_a_time = self.shared.refreshing.lock().await;
        let rows = manage::read_keys(db).await?;
        let now = self.shared.clock.unix();
        let next = self.build(&rows, now)?;
        *self
            .shared
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Ok(())
    }

    /// Signs `claims` as a compact JWS with the active key of `alg`; the
    /// header is `{alg, kid}` plus `typ` when given.
    pub fn sign<C: serde::Serialize + ?Sized>(
        &self,
        alg: Alg,
        typ: Option<&str>,
        claims: &C,
    ) -> Result<String, KeyError> {
        let set = self.snapshot();
        let key = set
            .active
            .iter()
            .find(|key| key.alg == alg)
            .ok_or(KeyError::NoActiveKey(alg))?;
        compact::sign(key, typ, claims)
    }

    /// Verifies a compact JWS made with one of our published keys (picked by
    /// `kid`; the header `alg` must be the key's; `none` refused) and returns
    /// its claims. Checks no claim (`exp`, `iss`, `aud`): callers do.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, KeyError> {
        let set = self.snapshot();
        compact::verify(token, |kid| set.published.get(kid).map(AsRef::as_ref))
    }

    /// The JWK Set document, serialised once per refresh: upcoming, active
    /// and retained keys, public members only.
    pub fn jwks_json(&self) -> Bytes {
        self.snapshot().jwks.clone()
    }

    /// A number that changes whenever a key is published or withdrawn. A
    /// cache of verified tokens keyed on it never trusts a token whose key
    /// has gone.
    pub fn generation(&self) -> u64 {
        self.snapshot().generation
    }

    /// The `kid` tokens of `alg` are signed with now.
    pub fn active_kid(&self, alg: Alg) -> Option<String> {
        self.snapshot()
            .active
            .iter()
            .find(|key| key.alg == alg)
            .map(|key| key.kid.clone())
    }

    fn snapshot(&self) -> Arc<KeySet> {
        Arc::clone(
            &self
                .shared
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Builds the next set, reusing keys already parsed (rows never change
    /// once written, so a `kid` seen before needs no new decryption).
    fn build(&self, rows: &[StoredKey], now: i64) -> Result<KeySet, KeyError> {
        let previous = self.snapshot();
        let settings = &self.shared.settings;
        let times: Vec<_> = rows.iter().map(StoredKey::times).collect();
        let lifecycles = rotation::classify(&times, now, as_secs(settings.retain_after_retire));

        let mut entries: Vec<(&StoredKey, KeyState)> = rows
            .iter()
            .zip(&lifecycles)
            .filter(|(_, lifecycle)| lifecycle.state.is_published())
            .map(|(row, lifecycle)| (row, lifecycle.state))
            .collect();
        entries.sort_by_key(|(row, _)| (row.alg, row.activates_at, row.created_at));

        let mut published = HashMap::with_capacity(entries.len());
        let mut in_order = Vec::with_capacity(entries.len());
        let mut active = Vec::new();
        for (row, state) in entries {
            // Upcoming keys are parsed for signing ahead of time, so an
            // activation never waits on (or fails at) decryption.
            let needs_signer = matches!(state, KeyState::Active | KeyState::Upcoming);
            let key = match previous.published.get(&row.kid) {
                Some(known) if known.signer.is_some() || !needs_signer => Arc::clone(known),
                _ => Arc::new(row.load(needs_signer, settings.encryption_key.as_ref())?),
            };
            if state.is_active() {
                active.push(Arc::clone(&key));
            }
            published.insert(row.kid.clone(), Arc::clone(&key));
            in_order.push(key);
        }
        let jwks = jwks::document(in_order.iter().map(|key| &key.public_jwk));
        let same_keys = published.len() == previous.published.len()
            && published
                .keys()
                .all(|kid| previous.published.contains_key(kid));
        Ok(KeySet {
            published,
            active,
            jwks,
            generation: previous.generation + u64::from(!same_keys),
        })
    }
}
