//! Signature checks on Gatehouse's own tokens, through ring.
//!
//! Built from the published JWK alone, so what we verify with is exactly
//! what relying parties see. ring rather than josekit (OpenSSL) because a
//! server that only ever answers with ES256 or `EdDSA` tokens then never
//! initialises OpenSSL: its start-up, provider table and configuration file
//! cost ~2.5 MiB of resident memory in every idle instance.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value};

use super::Alg;

/// P-256 coordinates and Ed25519 public keys are 32 bytes (RFC 7518
/// §6.2.1.2, RFC 8037 §2).
const COORDINATE_LEN: usize = 32;
/// The smallest modulus RS256 keys may have (RFC 7518 §3.3), in bytes.
const MIN_MODULUS_LEN: usize = 2048 / 8;

pub(super) enum Verifier {
    /// The uncompressed SEC 1 point `04 ‖ x ‖ y`.
    Es256(UnparsedPublicKey<Vec<u8>>),
    Ed25519(UnparsedPublicKey<Vec<u8>>),
    Rs256(RsaPublicKeyComponents<Vec<u8>>),
}

/// The JWK does not describe a usable public key of its algorithm.
#[derive(Debug)]
pub(super) struct BadPublicKey;

impl Verifier {
    /// The verifier for a publishable JWK of `alg` (as [`super::jwks`]
    /// builds it: its members are known to be strings).
    pub fn from_jwk(alg: Alg, jwk: &Map<String, Value>) -> Result<Self, BadPublicKey> {
        let member = |name: &str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
                .ok_or(BadPublicKey)
        };
        let coordinate = |name: &str| {
            member(name).and_then(|bytes| {
                if bytes.len() == COORDINATE_LEN {
                    Ok(bytes)
                } else {
                    Err(BadPublicKey)
                }
            })
        };
        Ok(match alg {
            Alg::Es256 => {
                let mut point = Vec::with_capacity(1 + 2 * COORDINATE_LEN);
                point.push(0x04);
                point.extend(coordinate("x")?);
                point.extend(coordinate("y")?);
                Self::Es256(UnparsedPublicKey::new(
                    &signature::ECDSA_P256_SHA256_FIXED,
                    point,
                ))
            }
            Alg::EdDsa => Self::Ed25519(UnparsedPublicKey::new(
                &signature::ED25519,
                coordinate("x")?,
            )),
            Alg::Rs256 => {
                let n = member("n")?;
                let e = member("e")?;
                // Base64urlUInt has no leading zero octets (RFC 7518 §2).
                if n.len() < MIN_MODULUS_LEN || n[0] == 0 || e.is_empty() || e[0] == 0 {
                    return Err(BadPublicKey);
                }
                Self::Rs256(RsaPublicKeyComponents { n, e })
            }
        })
    }

    /// Whether `signature` is a valid signature of `input` (for ES256 the
    /// fixed-width `R ‖ S` of RFC 7518 §3.4).
    pub fn verify(&self, input: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Es256(key) | Self::Ed25519(key) => key.verify(input, signature).is_ok(),
            Self::Rs256(key) => key
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, input, signature)
                .is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(json: Value) -> Map<String, Value> {
        match json {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn coordinates_of_the_wrong_length_are_refused() {
        let short = URL_SAFE_NO_PAD.encode([1_u8; 31]);
        let full = URL_SAFE_NO_PAD.encode([1_u8; 32]);
        let ec = jwk(serde_json::json!({ "x": full, "y": short }));
        assert!(Verifier::from_jwk(Alg::Es256, &ec).is_err());
        let okp = jwk(serde_json::json!({ "x": short }));
        assert!(Verifier::from_jwk(Alg::EdDsa, &okp).is_err());
        let not_base64 = jwk(serde_json::json!({ "x": "%%%" }));
        assert!(Verifier::from_jwk(Alg::EdDsa, &not_base64).is_err());
    }

    #[test]
    fn a_short_or_zero_padded_modulus_is_refused() {
        let e = URL_SAFE_NO_PAD.encode([1_u8, 0, 1]);
        let short = jwk(serde_json::json!({ "n": URL_SAFE_NO_PAD.encode([0xc1_u8; 255]), "e": e }));
        assert!(Verifier::from_jwk(Alg::Rs256, &short).is_err());
        let mut padded = vec![0_u8];
        padded.extend([0xc1_u8; 256]);
        let padded = jwk(serde_json::json!({ "n": URL_SAFE_NO_PAD.encode(padded), "e": e }));
        assert!(Verifier::from_jwk(Alg::Rs256, &padded).is_err());
        let fine = jwk(serde_json::json!({ "n": URL_SAFE_NO_PAD.encode([0xc1_u8; 256]), "e": e }));
        assert!(Verifier::from_jwk(Alg::Rs256, &fine).is_ok());
    }
}
