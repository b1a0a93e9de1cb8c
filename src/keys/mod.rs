//! Signing keys: generation, encryption at rest, rotation, JWKS.
//!
//! Implements the provider side of JWS (RFC 7515) with RS256, ES256 and
//! `EdDSA` (RFC 7518 §3, RFC 8037), the JWK Set at the `jwks_uri` (RFC 7517 §5)
//! and key rotation as OIDC Core §10.1.1 describes it: publish the
//! new key before it signs, keep the old one published while tokens it signed
//! are still valid.
//!
//! How the pieces fit:
//! - the rows of `signing_keys` are the only state; [`rotation`] derives from
//!   their `(alg, activates_at)` which key is upcoming, active, retired or
//!   expired, so instances need no coordination beyond reading the table;
//! - [`KeyRing`] holds an immutable snapshot (signers, verifiers, JWKS bytes)
//!   built from the table and swapped whole on [`KeyRing::refresh`], so
//!   signing and verifying take no lock beyond cloning an `Arc`, and never
//!   parse a PEM: keys are parsed once, when they enter the snapshot;
//! - [`rotate`] and [`list`] serve `gatehouse keys rotate|list`; a running
//!   server picks a rotation up at its next refresh;
//! - private keys are stored as envelopes ([`envelope`]), AES-256-GCM
//!   encrypted when an encryption key is configured.
//!
//! HTTP lives elsewhere: the JWKS route serves [`KeyRing::jwks_json`] as is.

mod alg;
mod compact;
mod envelope;
mod generate;
mod jwks;
mod loaded;
mod manage;
mod ring;
mod rotation;
mod verifier;

#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

pub use alg::{Alg, UnknownAlg};
pub use manage::{KeyInfo, list, rotate};
pub use ring::KeyRing;
pub use rotation::KeyState;

use crate::db::DbError;

/// How keys are stored and how long they live.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySettings {
    /// AES-256 key for private keys at rest; `None` stores them in clear.
    pub encryption_key: Option<[u8; 32]>,
    /// How long a new key is published before it signs: at least the time
    /// relying parties cache the JWKS, so none meets an unknown `kid`.
    pub rotation_overlap: Duration,
    /// How long a retired key stays published: the longest lifetime of a
    /// token it may have signed, plus the key-ring refresh interval (an
    /// instance may sign with the old key until its next refresh).
    pub retain_after_retire: Duration,
}

impl fmt::Debug for KeySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySettings")
            .field("encryption_key", &self.encryption_key.map(|_| "<redacted>"))
            .field("rotation_overlap", &self.rotation_overlap)
            .field("retain_after_retire", &self.retain_after_retire)
            .finish()
    }
}

/// Whole seconds, saturating, as the `i64` unix times in the table.
fn as_secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// What went wrong with a key or a token. `Display` names at most a `kid`
/// or an algorithm, never key material, so it is safe to log and to show;
/// the verification variants say why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("signing key {kid} is encrypted but no encryption key is configured")]
    EncryptionKeyMissing { kid: String },
    #[error("signing key {kid} cannot be decrypted: wrong encryption key, or the row was altered")]
    CannotDecrypt { kid: String },
    #[error("signing key {kid} is not stored in a known format")]
    UnknownEnvelope { kid: String },
    #[error("signing key {kid} could not be encrypted")]
    CannotEncrypt { kid: String },
    #[error("signing key {kid} has an unusable public key")]
    CorruptPublicKey { kid: String },
    #[error("signing key {kid} is unusable")]
    Unusable {
        kid: String,
        #[source]
        source: josekit::JoseError,
    },
    #[error("a new {alg} signing key could not be generated")]
    Generation {
        alg: Alg,
        #[source]
        source: josekit::JoseError,
    },
    #[error("a new {alg} signing key could not be generated")]
    GenerationAborted {
        alg: Alg,
        #[source]
        source: tokio::task::JoinError,
    },
    #[error("the signing keys could not be read or stored")]
    Storage(#[source] DbError),
    #[error("there is no active {0} signing key")]
    NoActiveKey(Alg),
    #[error("the token claims could not be serialised")]
    Serialise(#[source] serde_json::Error),
    #[error("the token could not be signed")]
    Signing(#[source] josekit::JoseError),
    #[error("the token is malformed")]
    MalformedToken,
    #[error("the token's algorithm is not accepted")]
    AlgorithmRefused,
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    #[error("the token's algorithm does not match its key")]
    AlgorithmMismatch,
    #[error("the token's signature is invalid")]
    BadSignature,
}

impl From<DbError> for KeyError {
    fn from(source: DbError) -> Self {
        Self::Storage(source)
    }
}
