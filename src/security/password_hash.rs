//! Password hashing with argon2id (RFC 9106), stored as PHC strings.
//!
//! DESIGN.md "Passwords": argon2id, m=19456 KiB, t=2, p=1 by default (the
//! OWASP Password Storage Cheat Sheet's first choice), hashed on the blocking
//! pool behind a semaphore; unknown usernames still cost one hash.
//!
//! Decisions:
//! - Each hash allocates `memory_kib`, so at most `max_concurrent` run at
//!   once; the permit moves into the blocking task, so the bound holds even
//!   when the waiting request is cancelled halfway.
//! - Hashing takes ~20 ms of CPU: it runs in `spawn_blocking`, never on the
//!   async workers, inside the caller's tracing span so its logs stay
//!   attached to the request.
//! - [`PasswordHasher::verify`] with no stored hash (unknown user) verifies
//!   against a dummy hash with the configured parameters and answers `false`:
//!   the caller spends the same time either way, so response time does not
//!   reveal which usernames exist. The dummy is a random salt and a random
//!   output, which no password can match; building it costs nothing.
//! - A stored hash is verified with the parameters written in it, so raising
//!   the cost later does not lock anyone out; [`PasswordHasher::needs_rehash`]
//!   tells the login flow to store a fresh hash after a successful check.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use rand::RngExt as _;
use subtle::ConstantTimeEq as _;
use tokio::sync::{AcquireError, Semaphore};
use tokio::task::JoinError;

use crate::domain::SecretString;

/// The argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

/// DESIGN.md defaults: m=19456 KiB, t=2, p=1.
impl Default for HashParams {
    fn default() -> Self {
        Self {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

/// Why a password could not be hashed or checked. Every variant is a server
/// fault, never the person's: a wrong password is `Ok(false)`.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("the password hashing settings are invalid")]
    InvalidParams(#[source] argon2::Error),
    #[error("the password hashing settings are invalid: at least one hash must be allowed at once")]
    NoConcurrency,
    #[error("the stored password hash is unreadable")]
    MalformedHash(#[source] password_hash::Error),
    #[error("the password could not be hashed")]
    Hashing(#[source] password_hash::Error),
    #[error("the password hashing worker failed")]
    Worker(#[source] JoinError),
    #[error("the password hasher is shutting down")]
    Closed(#[source] AcquireError),
}

/// Hashes and verifies passwords off the async workers, a bounded number at once.
/// Cheap to clone: clones share the semaphore.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    dummy_hash: Arc<PasswordHash>,
    /// Argon2 working memory, at most one buffer per hash running at once.
    memory: Arc<std::sync::Mutex<Vec<Buffer>>>,
}

/// One hash's working memory (19 MiB at the default cost) and when a hash
/// last gave it back.
struct Buffer {
    blocks: Vec<Block>,
    returned_at: Instant,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .field("available_permits", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub fn new(params: HashParams, max_concurrent: usize) -> Result<Self, HashError> {
        if max_concurrent == 0 {
            return Err(HashError::NoConcurrency);
        }
        let params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(HashError::InvalidParams)?;
        let dummy_hash = dummy_hash(&params).map_err(HashError::Hashing)?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(max_concurrent)),
            dummy_hash: Arc::new(dummy_hash),
            memory: Arc::default(),
        })
    }

    /// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with a fresh salt.
    pub async fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let params = self.params.clone();
        let password = password.clone();
        self.run_blocking(move |memory| {
            let salt: [u8; Salt::RECOMMENDED_LENGTH] = rand::rng().random();
            let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
            compute(
                memory,
                Algorithm::Argon2id,
                Version::V0x13,
                &params,
                password.expose().as_bytes(),
                &salt,
                &mut out,
            )?;
            let hash = PasswordHash {
                algorithm: ARGON2ID_IDENT,
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params).map_err(HashError::Hashing)?,
                salt: Some(Salt::new(&salt).map_err(|e| HashError::Hashing(e.into()))?),
                hash: Some(Output::new(&out).map_err(|e| HashError::Hashing(e.into()))?),
            };
            Ok(hash.to_string())
        })
        .await
    }

    /// Whether `password` matches `stored`. `None` (unknown user) costs one
    /// verification like any other and answers `false`.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&str>,
    ) -> Result<bool, HashError> {
        let (target, is_real) = match stored {
            Some(stored) => (parse_argon2_hash(stored)?, true),
            None => (PasswordHash::clone(&self.dummy_hash), false),
        };
        let password = password.clone();
        let matched = self
            .run_blocking(move |memory| verify_with(memory, password.expose().as_bytes(), &target))
            .await?;
        Ok(is_real && matched)
    }

    /// Whether `stored` was made with other settings than the current ones
    /// (or is unreadable), so it should be replaced after the next successful login.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(hash) = PasswordHash::new(stored) else {
            return true;
        };
        let Ok(stored_params) = Params::try_from(&hash) else {
            return true;
        };
        hash.algorithm != ARGON2ID_IDENT
            || hash.version != Some(Version::V0x13.into())
            || stored_params.m_cost() != self.params.m_cost()
            || stored_params.t_cost() != self.params.t_cost()
            || stored_params.p_cost() != self.params.p_cost()
            || stored_params
                .output_len()
                .unwrap_or(Params::DEFAULT_OUTPUT_LEN)
                != Params::DEFAULT_OUTPUT_LEN
    }

    /// Frees the working memory no hash has used for `idle` and returns how
    /// many buffers went. Reusing a buffer spares each hash 19 MiB of fresh
    /// pages while people sign in; kept for good, it is most of an idle
    /// instance's memory once anyone has (~40 MiB instead of ~21). A hash
    /// after the release allocates again, a few milliseconds of page faults.
    pub fn release_idle_memory(&self, idle: Duration) -> usize {
        let Ok(mut pool) = self.memory.lock() else {
            return 0;
        };
        let before = pool.len();
        pool.retain(|buffer| buffer.returned_at.elapsed() < idle);
        before - pool.len()
    }

    /// Runs `work` on the blocking pool once a permit is free, in the
    /// caller's span, with a memory buffer from the pool.
    async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(HashError::Closed)?;
        let span = tracing::Span::current();
        let pool = Arc::clone(&self.memory);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // At most one buffer per permit exists, reused from hash to hash
            // (a fresh one is 19 MiB of page faults) until it idles long
            // enough for `release_idle_memory`.
            let mut memory = pool
                .lock()
                .map(|mut p| p.pop())
                .ok()
                .flatten()
                .map(|buffer| buffer.blocks)
                .unwrap_or_default();
            let started = thread_cpu_time();
            let result = span.in_scope(|| work(&mut memory));
            // CPU, not wall, time: under load the thread waits for a core, and
            // this is what a sign-in pays for its hash (`benches/load.sh` uses
            // it to tell the hash from the rest of a code flow).
            metrics::histogram!("password_hash_cpu_seconds")
                .record(thread_cpu_time().saturating_sub(started).as_secs_f64());
            if let Ok(mut pool) = pool.lock() {
                pool.push(Buffer {
                    blocks: memory,
                    returned_at: Instant::now(),
                });
            }
            result
        })
        .await
        .map_err(HashError::Worker)?
    }
}

/// The CPU time the calling thread has used so far.
fn thread_cpu_time() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// The least capacity of a working-memory buffer, in 1 KiB blocks: just
/// over glibc's largest dynamic mmap threshold (32 MiB on 64-bit).
///
/// glibc serves a request of at least its mmap threshold with a mapping of
/// its own, unmapped when freed, but after such a free it raises the
/// threshold to the freed size: the next 19 MiB buffer then comes from an
/// arena, and freeing it there returns nothing to the system (not even
/// `malloc_trim` shrinks a thread arena's top). A request above 32 MiB is
/// always mapped on its own and never moves the threshold, so
/// [`PasswordHasher::release_idle_memory`] really gives the memory back. Only
/// the pages a hash writes become resident (19 MiB at the default cost); the
/// rest is address space, and other allocators just reserve it.
const OWN_MAPPING_BLOCKS: usize = 33 * 1024;

/// Argon2 of `password` and `salt` into `out`, in `memory` (grown as needed).
fn compute(
    memory: &mut Vec<Block>,
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), HashError> {
    let needed = params.block_count();
    if memory.len() < needed {
        memory.reserve_exact(needed.max(OWN_MAPPING_BLOCKS) - memory.len());
        memory.resize(needed, Block::default());
    }
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(password, salt, out, &mut memory[..needed])
        .map_err(|e| HashError::Hashing(e.into()))
}

/// Recomputes `target` for `password` with the parameters stored in it, and
/// compares in constant time.
fn verify_with(
    memory: &mut Vec<Block>,
    password: &[u8],
    target: &PasswordHash,
) -> Result<bool, HashError> {
    let malformed = || HashError::MalformedHash(password_hash::Error::EncodingInvalid);
    let expected = target.hash.as_ref().ok_or_else(malformed)?;
    let salt = target.salt.as_ref().ok_or_else(malformed)?;
    let algorithm = Algorithm::new(target.algorithm.as_str())
        .map_err(|e| HashError::MalformedHash(password_hash::Error::from(e)))?;
    let version = target
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| HashError::MalformedHash(password_hash::Error::from(e)))?
        .unwrap_or(Version::V0x13);
    let stored = Params::try_from(target).map_err(HashError::MalformedHash)?;
    let params = Params::new(
        stored.m_cost(),
        stored.t_cost(),
        stored.p_cost(),
        Some(expected.len()),
    )
    .map_err(HashError::InvalidParams)?;
    let mut out = vec![0u8; expected.len()];
    compute(
        memory,
        algorithm,
        version,
        &params,
        password,
        salt.as_ref(),
        &mut out,
    )?;
    Ok(out.ct_eq(expected.as_bytes()).into())
}

/// Parses a stored PHC string and checks, before any work is queued, that it
/// is an argon2 hash we can verify.
fn parse_argon2_hash(stored: &str) -> Result<PasswordHash, HashError> {
    let hash = PasswordHash::new(stored)
        .map_err(|e| HashError::MalformedHash(password_hash::Error::from(e)))?;
    Algorithm::new(hash.algorithm.as_str())
        .map_err(|e| HashError::MalformedHash(password_hash::Error::from(e)))?;
    Params::try_from(&hash).map_err(HashError::MalformedHash)?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(HashError::MalformedHash(
            password_hash::Error::EncodingInvalid,
        ));
    }
    Ok(hash)
}

/// An argon2id hash with the configured parameters that no password matches:
/// a random salt and a random output of the default length.
fn dummy_hash(params: &Params) -> Result<PasswordHash, password_hash::Error> {
    let mut rng = rand::rng();
    let salt: [u8; Salt::RECOMMENDED_LENGTH] = rng.random();
    let output: [u8; Params::DEFAULT_OUTPUT_LEN] = rng.random();
    Ok(PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(Salt::new(&salt)?),
        hash: Some(Output::new(&output)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast_hasher() -> PasswordHasher {
        let params = HashParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        PasswordHasher::new(params, 2).unwrap()
    }

    fn secret(text: &str) -> SecretString {
        SecretString::from(text)
    }

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hasher = fast_hasher();
        let stored = hasher.hash(&secret("Correct-Horse1")).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{stored}"
        );
        assert!(
            hasher
                .verify(&secret("Correct-Horse1"), Some(&stored))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(&secret("correct-Horse1"), Some(&stored))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn working_memory_is_kept_between_hashes_and_released_once_idle() {
        let hasher = fast_hasher();
        let stored = hasher.hash(&secret("Correct-Horse1")).await.unwrap();
        assert_eq!(hasher.release_idle_memory(Duration::from_hours(1)), 0);
        {
            let pool = hasher.memory.lock().unwrap();
            assert_eq!(pool.len(), 1, "kept for the next hash");
            assert!(
                pool[0].blocks.capacity() >= OWN_MAPPING_BLOCKS,
                "large enough for a mapping of its own, which freeing returns"
            );
        }

        assert_eq!(hasher.release_idle_memory(Duration::ZERO), 1);
        assert!(hasher.memory.lock().unwrap().is_empty());
        assert!(
            hasher
                .verify(&secret("Correct-Horse1"), Some(&stored))
                .await
                .unwrap(),
            "a hash after the release allocates afresh"
        );
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let hasher = fast_hasher();
        assert!(!hasher.verify(&secret(""), None).await.unwrap());
        assert!(
            !hasher
                .verify(&secret("Correct-Horse1"), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_is_an_error_not_a_panic() {
        let hasher = fast_hasher();
        for stored in [
            "",
            "plain-text",
            "$argon2id$v=19$m=1024,t=1,p=1$",
            "$argon2id$v=19$m=zero,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        ] {
            let result = hasher.verify(&secret("x"), Some(stored)).await;
            assert!(
                matches!(result, Err(HashError::MalformedHash(_))),
                "{stored}: {result:?}"
            );
        }
    }

    #[test]
    fn the_dummy_hash_costs_as_much_as_a_real_one() {
        let hasher = fast_hasher();
        let dummy = hasher.dummy_hash.to_string();
        assert!(
            dummy.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{dummy}"
        );
        assert!(!hasher.needs_rehash(&dummy));
        assert!(parse_argon2_hash(&dummy).is_ok());
    }

    #[tokio::test]
    async fn two_hashes_of_one_password_differ_by_their_salt() {
        let hasher = fast_hasher();
        let first = hasher.hash(&secret("Same-Password1")).await.unwrap();
        let second = hasher.hash(&secret("Same-Password1")).await.unwrap();
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn a_hash_made_with_other_params_still_verifies_and_needs_rehash() {
        let old = PasswordHasher::new(
            HashParams {
                memory_kib: 512,
                iterations: 2,
                parallelism: 1,
            },
            1,
        )
        .unwrap();
        let current = fast_hasher();
        let stored = old.hash(&secret("Old-Password1")).await.unwrap();
        assert!(
            current
                .verify(&secret("Old-Password1"), Some(&stored))
                .await
                .unwrap()
        );
        assert!(current.needs_rehash(&stored));
        assert!(!old.needs_rehash(&stored));
        let fresh = current.hash(&secret("Old-Password1")).await.unwrap();
        assert!(!current.needs_rehash(&fresh));
        assert!(current.needs_rehash("not a hash"));
    }

    #[test]
    fn the_defaults_are_the_design_defaults() {
        assert_eq!(
            HashParams::default(),
            HashParams {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1,
            }
        );
    }

    #[test]
    fn impossible_settings_are_refused_at_construction() {
        assert!(matches!(
            PasswordHasher::new(HashParams::default(), 0),
            Err(HashError::NoConcurrency)
        ));
        let too_little_memory = HashParams {
            memory_kib: 1,
            ..HashParams::default()
        };
        assert!(matches!(
            PasswordHasher::new(too_little_memory, 1),
            Err(HashError::InvalidParams(_))
        ));
    }

    #[tokio::test]
    async fn hashing_runs_inside_the_callers_span() {
        use tracing::Instrument as _;
        // The blocking thread sees only the global dispatcher, so one must be
        // set; if another test already set one, that one tracks spans too.
        let _ = tracing::subscriber::set_global_default(
            tracing_subscriber::fmt().with_test_writer().finish(),
        );
        let hasher = fast_hasher();
        let span_seen = hasher
            .run_blocking(|_memory| {
                Ok(tracing::Span::current()
                    .metadata()
                    .map(tracing::Metadata::name))
            })
            .instrument(tracing::info_span!("login"))
            .await
            .unwrap();
        assert_eq!(span_seen, Some("login"));
    }

    #[tokio::test]
    async fn working_memory_is_reused_not_allocated_per_hash() {
        let hasher = fast_hasher();
        let password = SecretString::from("Sunnydale#1997");
        let stored = hasher.hash(&password).await.unwrap();
        for _ in 0..5 {
            assert!(hasher.verify(&password, Some(&stored)).await.unwrap());
            assert!(
                !hasher
                    .verify(&SecretString::from("nope"), Some(&stored))
                    .await
                    .unwrap()
            );
        }
        let pool = hasher.memory.lock().unwrap();
        assert!(!pool.is_empty(), "buffers are kept for the next hash");
        assert!(pool.len() <= 2, "never more buffers than hashes at once");
    }

    #[tokio::test]
    async fn hashes_from_the_argon2_crate_verify_and_ours_verify_there() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = fast_hasher();
        let password = SecretString::from("Sunnydale#1997");
        let theirs = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(password.expose().as_bytes())
        .unwrap()
        .to_string();
        assert!(hasher.verify(&password, Some(&theirs)).await.unwrap());
        let ours = hasher.hash(&password).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        );
    }
}
