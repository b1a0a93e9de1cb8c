//! Adding keys and reporting on them: `gatehouse keys rotate|list`, and the
//! first keys of a fresh database.
//!
//! Rotation only ever inserts: a new key activating `rotation_overlap` from
//! now. Nothing is updated or deleted, so the CLI and any number of running
//! instances can act at once; the lifecycle in [`super::rotation`] sorts it out.

use serde::Serialize;

use super::generate::{self, GeneratedKey};
use super::loaded::LoadedKey;
use super::rotation::{self, KeyState, KeyTimes};
use super::{Alg, KeyError, KeySettings, as_secs, envelope};
use crate::clock::Clock;
use crate::db::Db;
use crate::db::signing_keys::{self as queries, SigningKey};

/// One key as `gatehouse keys list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: Alg,
    pub state: KeyState,
    pub created_at: i64,
    pub activates_at: i64,
    /// When it leaves the JWKS; `None` until a successor is active.
    pub published_until: Option<i64>,
}

/// A row whose algorithm this version knows.
pub(super) struct StoredKey {
    pub kid: String,
    pub alg: Alg,
    pub created_at: i64,
    pub activates_at: i64,
    private_key: String,
    public_jwk: String,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("activates_at", &self.activates_at)
            .finish_non_exhaustive()
    }
}

impl StoredKey {
    pub fn times(&self) -> KeyTimes {
        KeyTimes {
            alg: self.alg,
            created_at: self.created_at,
            activates_at: self.activates_at,
        }
    }

    pub fn load(
        &self,
        with_signer: bool,
        encryption_key: Option<&[u8; 32]>,
    ) -> Result<LoadedKey, KeyError> {
        if with_signer {
            LoadedKey::signing(
                &self.kid,
                self.alg,
                &self.public_jwk,
                &self.private_key,
                encryption_key,
            )
        } else {
            LoadedKey::verify_only(&self.kid, self.alg, &self.public_jwk)
        }
    }
}

/// Every row of a known algorithm. A row of another algorithm (written by a
/// newer version during a rolling upgrade) is skipped with a warning rather
/// than failing the whole key set.
pub(super) async fn read_keys(db: &Db) -> Result<Vec<StoredKey>, KeyError> {
    let rows = queries::find_signing_keys(db).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let Ok(alg) = row.alg.parse::<Alg>() else {
                tracing::warn!(kid = %row.kid, alg = %row.alg, "skipping signing key of an unsupported algorithm");
                return None;
            };
            Some(StoredKey {
                kid: row.kid,
                alg,
                created_at: row.created_at,
                activates_at: row.activates_at,
                private_key: row.private_key,
                public_jwk: row.public_jwk,
            })
        })
        .collect())
}

/// Adds a new key for each algorithm (or just `only`) that activates at
/// now + `rotation_overlap`. Returns the new keys.
pub async fn rotate(
    db: &Db,
    clock: &dyn Clock,
    settings: &KeySettings,
    only: Option<Alg>,
) -> Result<Vec<KeyInfo>, KeyError> {
    let algs: Vec<Alg> = only.map_or_else(|| Alg::ALL.to_vec(), |alg| vec![alg]);
    let activates_at = clock
        .unix()
        .saturating_add(as_secs(settings.rotation_overlap));
    let kids = create_keys(db, clock, settings, &algs, activates_at).await?;
    let mut all = list(db, clock, settings).await?;
    all.retain(|info| kids.contains(&info.kid));
    Ok(all)
}

/// Every key with its state, ordered by algorithm then activation.
pub async fn list(
    db: &Db,
    clock: &dyn Clock,
    settings: &KeySettings,
) -> Result<Vec<KeyInfo>, KeyError> {
    let rows = read_keys(db).await?;
    let times: Vec<KeyTimes> = rows.iter().map(StoredKey::times).collect();
    let lifecycles =
        rotation::classify(&times, clock.unix(), as_secs(settings.retain_after_retire));
    let mut infos: Vec<KeyInfo> = rows
        .into_iter()
        .zip(lifecycles)
        .map(|(row, lifecycle)| KeyInfo {
            kid: row.kid,
            alg: row.alg,
            state: lifecycle.state,
            created_at: row.created_at,
            activates_at: row.activates_at,
            published_until: lifecycle.published_until,
        })
        .collect();
    infos.sort_by_key(|info| (info.alg, info.activates_at, info.created_at));
    Ok(infos)
}

/// Creates an immediately active key for each algorithm without one.
/// Two instances starting on an empty database may both do so; the later
/// key then wins and the other retires, which is harmless.
pub(super) async fn ensure_active_keys(
    db: &Db,
    clock: &dyn Clock,
    settings: &KeySettings,
) -> Result<(), KeyError> {
    let rows = read_keys(db).await?;
    let times: Vec<KeyTimes> = rows.iter().map(StoredKey::times).collect();
    let now = clock.unix();
    let lifecycles = rotation::classify(&times, now, as_secs(settings.retain_after_retire));
    let missing: Vec<Alg> = Alg::ALL
        .into_iter()
        .filter(|&alg| {
            !times
                .iter()
                .zip(&lifecycles)
                .any(|(key, life)| key.alg == alg && life.state.is_active())
        })
        .collect();
    if !missing.is_empty() {
        tracing::info!(
            ?missing,
            "creating signing keys for algorithms without an active key"
        );
        create_keys(db, clock, settings, &missing, now).await?;
    }
    Ok(())
}

/// Generates (in parallel, on the blocking pool), seals and inserts one key
/// per algorithm; returns their kids.
async fn create_keys(
    db: &Db,
    clock: &dyn Clock,
    settings: &KeySettings,
    algs: &[Alg],
    activates_at: i64,
) -> Result<Vec<String>, KeyError> {
    // On the blocking pool: an RSA key takes ~100 ms of CPU, which would
    // otherwise stall every task sharing the worker thread.
    let pending: Vec<_> = algs
        .iter()
        .map(|&alg| tokio::task::spawn_blocking(move || generate::generate(alg)))
        .collect();
    let mut generated: Vec<GeneratedKey> = Vec::with_capacity(pending.len());
    for (task, &alg) in pending.into_iter().zip(algs) {
        generated.push(
            task.await
                .map_err(|source| KeyError::GenerationAborted { alg, source })??,
        );
    }
    let created_at = clock.unix();
    let mut kids = Vec::with_capacity(generated.len());
    for key in generated {
        let private_key =
            envelope::seal(&key.private_pem, &key.kid, settings.encryption_key.as_ref())?;
        let row = SigningKey {
            kid: key.kid.clone(),
            alg: key.alg.as_str().to_owned(),
            private_key,
            public_jwk: key.public_jwk,
            created_at,
            activates_at,
        };
        queries::insert_signing_key(db, &row).await?;
        tracing::info!(kid = %key.kid, alg = %key.alg, activates_at, "signing key created");
        kids.push(key.kid);
    }
    Ok(kids)
}
