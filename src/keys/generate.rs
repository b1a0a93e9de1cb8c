//! New key pairs and their identifiers.
//!
//! Sizes are fixed by the algorithm (RFC 7518 §3.3 asks for RSA keys of 2048
//! bits or more; P-256 for ES256; Ed25519 for `EdDSA`, RFC 8037 §3.1). The
//! private half leaves this file only as PKCS#8 PEM, the public half only as
//! a JWK carrying `kid`, `alg` and `use: "sig"`, the shape the JWKS publishes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::KeyPair;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jws::{ES256, EdDSA, RS256};
use rand::RngExt as _;

use super::{Alg, KeyError};

const RSA_BITS: u32 = 2048;

/// A freshly generated key, ready to be sealed and stored.
pub(super) struct GeneratedKey {
    pub kid: String,
    pub alg: Alg,
    /// PKCS#8 PEM; never logged (see the `Debug` impl).
    pub private_pem: String,
    /// The public JWK as JSON text.
    pub public_jwk: String,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A new key identifier: 128 random bits, base64url, so it is unguessable,
/// unique without coordination between instances, and safe in a URL or header.
pub(super) fn new_kid() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Generates a key pair; slow for RSA, so callers run it on the blocking pool.
pub(super) fn generate(alg: Alg) -> Result<GeneratedKey, KeyError> {
    let key_pair: Box<dyn KeyPair> = match alg {
        Alg::Rs256 => RS256
            .generate_key_pair(RSA_BITS)
            .map(|pair| Box::new(pair) as Box<dyn KeyPair>),
        Alg::Es256 => ES256
            .generate_key_pair()
            .map(|pair| Box::new(pair) as Box<dyn KeyPair>),
        Alg::EdDsa => EdDSA
            .generate_key_pair(EdCurve::Ed25519)
            .map(|pair| Box::new(pair) as Box<dyn KeyPair>),
    }
    .map_err(|source| KeyError::Generation { alg, source })?;

    let kid = new_kid();
    // PEM is ASCII by construction, so the lossy conversion never alters it.
    let private_pem = String::from_utf8_lossy(&key_pair.to_pem_private_key()).into_owned();
    let mut public_jwk = key_pair.to_jwk_public_key();
    public_jwk.set_key_id(&kid);
    public_jwk.set_algorithm(alg.as_str());
    public_jwk.set_key_use("sig");
    Ok(GeneratedKey {
        kid,
        alg,
        private_pem,
        public_jwk: public_jwk.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kids_are_url_safe_and_unique() {
        let kids: std::collections::HashSet<String> = (0..200).map(|_| new_kid()).collect();
        assert_eq!(kids.len(), 200);
        for kid in &kids {
            assert_eq!(kid.len(), 22);
            assert!(
                kid.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{kid}"
            );
        }
    }

    #[test]
    fn each_alg_yields_a_pkcs8_pem_and_a_public_jwk_of_the_right_type() {
        for (alg, kty, curve) in [
            (Alg::Rs256, "RSA", None),
            (Alg::Es256, "EC", Some("P-256")),
            (Alg::EdDsa, "OKP", Some("Ed25519")),
        ] {
            let key = generate(alg).unwrap();
            assert!(
                key.private_pem.starts_with("-----BEGIN PRIVATE KEY-----"),
                "{alg}"
            );
            let jwk: serde_json::Value = serde_json::from_str(&key.public_jwk).unwrap();
            assert_eq!(jwk["kty"], kty, "{alg}");
            assert_eq!(jwk["kid"], key.kid.as_str());
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk.get("crv").and_then(|v| v.as_str()), curve, "{alg}");
            assert!(
                jwk.get("d").is_none(),
                "{alg} public JWK carries a private member"
            );
        }
    }

    #[test]
    fn rsa_keys_have_2048_bit_moduli() {
        let key = generate(Alg::Rs256).unwrap();
        let jwk: serde_json::Value = serde_json::from_str(&key.public_jwk).unwrap();
        let modulus = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(modulus.len() * 8, 2048);
    }

    #[test]
    fn debug_output_hides_the_private_key() {
        let key = generate(Alg::Es256).unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains("PRIVATE KEY"));
        assert!(debug.contains(&key.kid));
    }
}
