//! A stored key turned, once, into ready-to-use signer and verifier objects.
//!
//! Parsing a PEM and building the key costs far more than one ES256
//! signature (~17 µs), so it happens when a key enters the key set and the
//! objects are reused for every token until the key leaves it. Retired keys
//! only verify, so their private half is never decrypted.
//!
//! OpenSSL is touched only by the first RS256 signature (see
//! [`Signer::Rs256`]): an instance that has not signed with RSA yet keeps
//! ~2.5 MiB of OpenSSL's code and tables out of memory.

use std::fmt;
use std::sync::OnceLock;

use josekit::JoseError;
use josekit::jws::{JwsSigner, RS256};
use serde_json::{Map, Value};

use super::verifier::Verifier;
use super::{Alg, KeyError, envelope, jwks};

pub(super) struct LoadedKey {
    pub kid: String,
    pub alg: Alg,
    /// The publishable JWK; the verifier is built from it, so what we verify
    /// with is exactly what relying parties see.
    pub public_jwk: Map<String, Value>,
    pub verifier: Verifier,
    /// Present only for keys that sign now or will (active and upcoming).
    pub signer: Option<Signer>,
}

impl fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("can_sign", &self.signer.is_some())
            .finish_non_exhaustive()
    }
}

impl LoadedKey {
    /// A key that only verifies: no decryption, no private key in memory.
    pub fn verify_only(kid: &str, alg: Alg, stored_public_jwk: &str) -> Result<Self, KeyError> {
        let public_jwk = jwks::public_jwk(kid, alg, stored_public_jwk)?;
        let verifier =
            Verifier::from_jwk(alg, &public_jwk).map_err(|_| KeyError::CorruptPublicKey {
                kid: kid.to_owned(),
            })?;
        Ok(Self {
            kid: kid.to_owned(),
            alg,
            public_jwk,
            verifier,
            signer: None,
        })
    }

    /// A key that signs too: opens the envelope and parses the private key.
    pub fn signing(
        kid: &str,
        alg: Alg,
        stored_public_jwk: &str,
        stored_private_key: &str,
        encryption_key: Option<&[u8; 32]>,
    ) -> Result<Self, KeyError> {
        let mut key = Self::verify_only(kid, alg, stored_public_jwk)?;
        let pem = envelope::open(stored_private_key, kid, encryption_key)?;
        let signer = signer(alg, &pem).map_err(|source| KeyError::Unusable {
            kid: kid.to_owned(),
            source,
        })?;
        key.signer = Some(signer);
        Ok(key)
    }
}

/// The private half of a key, ready to sign JWS signing inputs.
pub(super) enum Signer {
    /// ES256 goes through ring: OpenSSL 3's EVP path spends as much again on
    /// looking the algorithm up as on the signature (32 µs against ring's
    /// 17 µs per signature on the 2-core benchmark machine), and every access
    /// token pays it.
    Es256 {
        pair: Box<ring::signature::EcdsaKeyPair>,
        random: ring::rand::SystemRandom,
    },
    /// Ed25519 through ring as well: 24 µs against OpenSSL's 43 µs here.
    Ed25519(Box<ring::signature::Ed25519KeyPair>),
    /// RS256 through josekit: OpenSSL's RSA is the faster one (320 µs
    /// against ring's 554 µs per 2048-bit signature here). The key is
    /// checked by ring when it loads, but handed to OpenSSL only when it
    /// first signs.
    Rs256 {
        pkcs8: Vec<u8>,
        signer: OnceLock<Result<Box<dyn JwsSigner>, String>>,
    },
}

impl Signer {
    /// The JWS signature of `input` (RFC 7515 §5.1), as raw bytes: for ES256
    /// the fixed-width `R || S` of RFC 7518 §3.4.
    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        match self {
            Self::Es256 { pair, random } => pair
                .sign(random, input)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|error| {
                    KeyError::Signing(JoseError::InvalidSignature(anyhow::anyhow!("{error}")))
                }),
            Self::Ed25519(pair) => Ok(pair.sign(input).as_ref().to_vec()),
            Self::Rs256 { pkcs8, signer } => openssl_rsa(pkcs8, signer)?
                .sign(input)
                .map_err(KeyError::Signing),
        }
    }
}

/// The OpenSSL signer of an RS256 key, built by its first signature. ring
/// accepted the key at load, so OpenSSL refusing it is not expected; if it
/// does, every signature says why.
fn openssl_rsa<'s>(
    pkcs8: &[u8],
    signer: &'s OnceLock<Result<Box<dyn JwsSigner>, String>>,
) -> Result<&'s dyn JwsSigner, KeyError> {
    let built = signer.get_or_init(|| {
        RS256
            .signer_from_der(pkcs8)
            .map(|signer| Box::new(signer) as _)
            .map_err(|error| error.to_string())
    });
    match built {
        Ok(signer) => Ok(signer.as_ref()),
        Err(reason) => Err(KeyError::Signing(JoseError::InvalidKeyFormat(
            anyhow::anyhow!("{reason}"),
        ))),
    }
}

fn signer(alg: Alg, pem: &str) -> Result<Signer, JoseError> {
    Ok(match alg {
        // DER, not josekit's PEM reader, which compiles regular expressions.
        Alg::Rs256 => {
            let pkcs8 = pkcs8_der(pem)?;
            ring::signature::RsaKeyPair::from_pkcs8(&pkcs8).map_err(ring_key_rejected)?;
            Signer::Rs256 {
                pkcs8,
                signer: OnceLock::new(),
            }
        }
        Alg::Es256 => {
            let random = ring::rand::SystemRandom::new();
            let pkcs8 = pkcs8_der(pem)?;
            let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &pkcs8,
                &random,
            )
            .map_err(ring_key_rejected)?;
            Signer::Es256 {
                pair: Box::new(pair),
                random,
            }
        }
        // OpenSSL writes PKCS#8 v1 (no public key inside), which ring reads
        // only through this constructor; it derives the public key itself.
        Alg::EdDsa => Signer::Ed25519(Box::new(
            ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8_der(pem)?)
                .map_err(ring_key_rejected)?,
        )),
    })
}

/// ring's reason for refusing a private key, in josekit's terms like the
/// other algorithms' errors.
fn ring_key_rejected(error: ring::error::KeyRejected) -> JoseError {
    JoseError::InvalidKeyFormat(anyhow::anyhow!("{error}"))
}

/// The DER inside a `PRIVATE KEY` PEM block (RFC 7468 §10): the base64 text
/// between the boundaries.
fn pkcs8_der(pem: &str) -> Result<Vec<u8>, JoseError> {
    use base64::Engine as _;
    let malformed = || JoseError::InvalidKeyFormat(anyhow::anyhow!("not a PKCS#8 PEM"));
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PRIVATE KEY-----")
        .and_then(|rest| rest.strip_suffix("-----END PRIVATE KEY-----"))
        .ok_or_else(malformed)?;
    let text: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| malformed())
}
