//! Private keys at rest: the string stored in `signing_keys.private_key`.
//!
//! Two self-describing forms, so a database can move from one to the other
//! without a migration and a reader always knows what it holds:
//!
//! - `v1:aes256gcm:<base64url(nonce ‖ ciphertext ‖ tag)>` when an encryption key
//!   is configured: AES-256-GCM (NIST SP 800-38D) with a fresh random 96-bit
//!   nonce per key, and the `kid` as additional authenticated data, so a
//!   ciphertext copied onto another row fails to open instead of silently
//!   signing under the wrong `kid`;
//! - `v1:plain:<PKCS#8 PEM>` without one (development, or a database that is
//!   itself encrypted). A plain key loads whether or not a key is configured,
//!   so turning encryption on does not break the keys already there: they are
//!   encrypted as they rotate out.
//!
//! Errors name the `kid`, never any key material.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use super::KeyError;

const PLAIN_PREFIX: &str = "v1:plain:";
const AES_PREFIX: &str = "v1:aes256gcm:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Wraps a PEM private key for storage under `kid`.
pub fn seal(pem: &str, kid: &str, key: Option<&[u8; 32]>) -> Result<String, KeyError> {
    let Some(key) = key else {
        return Ok(format!("{PLAIN_PREFIX}{pem}"));
    };
    let nonce: [u8; NONCE_LEN] = rand::rng().random();
    let mut sealed = pem.as_bytes().to_vec();
    cipher(key)
        .and_then(|cipher| {
            cipher.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut sealed,
            )
        })
        .map_err(|_| KeyError::CannotEncrypt {
            kid: kid.to_owned(),
        })?;
    // Stored as nonce ‖ ciphertext ‖ tag.
    let blob = [&nonce[..], &sealed].concat();
    Ok(format!("{AES_PREFIX}{}", URL_SAFE_NO_PAD.encode(blob)))
}

/// Recovers the PEM private key stored under `kid`.
pub fn open(stored: &str, kid: &str, key: Option<&[u8; 32]>) -> Result<String, KeyError> {
    if let Some(pem) = stored.strip_prefix(PLAIN_PREFIX) {
        return Ok(pem.to_owned());
    }
    let Some(encoded) = stored.strip_prefix(AES_PREFIX) else {
        return Err(KeyError::UnknownEnvelope {
            kid: kid.to_owned(),
        });
    };
    let Some(key) = key else {
        return Err(KeyError::EncryptionKeyMissing {
            kid: kid.to_owned(),
        });
    };
    let cannot_open = || KeyError::CannotDecrypt {
        kid: kid.to_owned(),
    };
    let blob = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| cannot_open())?;
    if blob.len() < NONCE_LEN + TAG_LEN {
        return Err(cannot_open());
    }
    let (nonce, sealed) = blob.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| cannot_open())?;
    let mut sealed = sealed.to_vec();
    // ring's error says nothing beyond "authentication failed", which the
    // variant already says; dropping it keeps the chain clean.
    let plaintext = cipher(key)
        .and_then(|cipher| cipher.open_in_place(nonce, Aad::from(kid.as_bytes()), &mut sealed))
        .map_err(|_| cannot_open())?
        .to_vec();
    String::from_utf8(plaintext).map_err(|_| cannot_open())
}

/// AES-256-GCM under `key` (ring refuses only keys of the wrong length).
fn cipher(key: &[u8; 32]) -> Result<LessSafeKey, ring::error::Unspecified> {
    UnboundKey::new(&AES_256_GCM, key).map(LessSafeKey::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFakeFakeFake\n-----END PRIVATE KEY-----\n";

    fn key(byte: u8) -> [u8; 32] {
        [byte; 32]
    }

    #[test]
    fn encrypted_key_opens_with_the_same_key_and_kid() {
        let sealed = seal(PEM, "kid-1", Some(&key(7))).unwrap();
        assert!(sealed.starts_with("v1:aes256gcm:"));
        assert!(!sealed.contains("PRIVATE KEY"));
        assert_eq!(open(&sealed, "kid-1", Some(&key(7))).unwrap(), PEM);
    }

    /// Rows sealed before AES-GCM moved from OpenSSL to ring still open,
    /// and rows sealed now open with OpenSSL (an instance not yet upgraded
    /// reads them during a rolling upgrade).
    #[test]
    fn envelopes_are_interchangeable_with_openssl_aes_gcm() {
        use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};
        let nonce = [9_u8; NONCE_LEN];
        let mut tag = [0_u8; TAG_LEN];
        let ciphertext = encrypt_aead(
            Cipher::aes_256_gcm(),
            &key(7),
            Some(&nonce),
            b"kid-1",
            PEM.as_bytes(),
            &mut tag,
        )
        .unwrap();
        let stored = format!(
            "{AES_PREFIX}{}",
            URL_SAFE_NO_PAD.encode([&nonce[..], &ciphertext, &tag].concat())
        );
        assert_eq!(open(&stored, "kid-1", Some(&key(7))).unwrap(), PEM);

        let sealed = seal(PEM, "kid-1", Some(&key(7))).unwrap();
        let blob = URL_SAFE_NO_PAD
            .decode(sealed.strip_prefix(AES_PREFIX).unwrap())
            .unwrap();
        let (nonce, rest) = blob.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let plaintext = decrypt_aead(
            Cipher::aes_256_gcm(),
            &key(7),
            Some(nonce),
            b"kid-1",
            ciphertext,
            tag,
        )
        .unwrap();
        assert_eq!(plaintext, PEM.as_bytes());
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let first = seal(PEM, "kid-1", Some(&key(7))).unwrap();
        let second = seal(PEM, "kid-1", Some(&key(7))).unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn wrong_encryption_key_is_refused_naming_only_the_kid() {
        let sealed = seal(PEM, "kid-1", Some(&key(7))).unwrap();
        let error = open(&sealed, "kid-1", Some(&key(8))).unwrap_err();
        assert!(matches!(error, KeyError::CannotDecrypt { ref kid } if kid == "kid-1"));
        assert!(error.to_string().contains("kid-1"));
        assert!(!error.to_string().contains("PRIVATE"));
    }

    #[test]
    fn ciphertext_moved_to_another_kid_is_refused() {
        let sealed = seal(PEM, "kid-1", Some(&key(7))).unwrap();
        let error = open(&sealed, "kid-2", Some(&key(7))).unwrap_err();
        assert!(matches!(error, KeyError::CannotDecrypt { ref kid } if kid == "kid-2"));
    }

    #[test]
    fn encrypted_key_without_configured_key_is_a_clear_error() {
        let sealed = seal(PEM, "kid-1", Some(&key(7))).unwrap();
        let error = open(&sealed, "kid-1", None).unwrap_err();
        assert!(matches!(error, KeyError::EncryptionKeyMissing { .. }));
        assert!(
            error
                .to_string()
                .contains("no encryption key is configured")
        );
    }

    #[test]
    fn plain_key_opens_with_or_without_a_configured_key() {
        let sealed = seal(PEM, "kid-1", None).unwrap();
        assert_eq!(sealed, format!("v1:plain:{PEM}"));
        assert_eq!(open(&sealed, "kid-1", None).unwrap(), PEM);
        assert_eq!(open(&sealed, "kid-1", Some(&key(7))).unwrap(), PEM);
    }

    #[test]
    fn truncated_or_flipped_ciphertext_is_refused() {
        let sealed = seal(PEM, "kid-1", Some(&key(7))).unwrap();
        let truncated = &sealed[..AES_PREFIX.len() + 10];
        assert!(matches!(
            open(truncated, "kid-1", Some(&key(7))),
            Err(KeyError::CannotDecrypt { .. })
        ));
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 5;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(matches!(
            open(&flipped, "kid-1", Some(&key(7))),
            Err(KeyError::CannotDecrypt { .. })
        ));
    }

    #[test]
    fn unknown_format_is_refused() {
        let error = open("-----BEGIN PRIVATE KEY-----", "kid-1", None).unwrap_err();
        assert!(matches!(error, KeyError::UnknownEnvelope { .. }));
    }
}
