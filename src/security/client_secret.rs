//! Client secrets (RFC 6749 §2.3.1) and the random tokens and digests that
//! codes, handles and refresh tokens are built from.
//!
//! From the issue: "Client secrets are generated (256 random bits) when not
//! given and printed once; a supplied secret shorter than 32 characters is
//! refused. Being high-entropy, they are stored as SHA-256, not argon2, so
//! the token endpoint stays fast; comparisons are constant-time."
//!
//! Decisions:
//! - A slow hash protects low-entropy secrets from guessing; a 256-bit random
//!   secret cannot be guessed, so one SHA-256 is enough and keeps
//!   `client_secret_basic` cheap on every token request.
//! - Stored hashes carry their scheme (`sha256:` + base64url digest) so a
//!   different one can be introduced later; an unknown scheme never verifies.
//! - Comparison is on the digests with `subtle`, in constant time, so timing
//!   says nothing about how close a guess was.
//! - Random values come from `rand::rng()`, a `ChaCha12` CSPRNG seeded from
//!   the OS, and are written base64url without padding: safe in URLs, forms
//!   and headers as they are.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::domain::SecretString;

/// Bytes of randomness in a generated client secret (256 bits).
const GENERATED_SECRET_BYTES: usize = 32;
/// Shortest supplied secret accepted.
pub const MIN_SUPPLIED_LENGTH: usize = 32;
/// Longest supplied secret accepted.
pub const MAX_SUPPLIED_LENGTH: usize = 256;
const HASH_SCHEME: &str = "sha256:";

/// Why a supplied client secret was refused. Never repeats the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a client secret is at least 32 characters; leave it out to have one generated")]
    TooShort,
    #[error("a client secret is at most 256 characters")]
    TooLong,
    #[error("a client secret uses printable ASCII characters only, without spaces")]
    ForbiddenCharacter,
}

/// A fresh client secret: 256 random bits, base64url (43 characters).
pub fn generate_client_secret() -> SecretString {
    SecretString::from(random_token(GENERATED_SECRET_BYTES))
}

/// Checks a secret an operator supplied instead of a generated one.
pub fn validate_supplied_secret(secret: &str) -> Result<(), SecretError> {
    // Every allowed character is one byte, so byte length is character length
    // whenever the alphabet check passes.
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SecretError::ForbiddenCharacter);
    }
    if secret.len() < MIN_SUPPLIED_LENGTH {
        return Err(SecretError::TooShort);
    }
    if secret.len() > MAX_SUPPLIED_LENGTH {
        return Err(SecretError::TooLong);
    }
    Ok(())
}

/// The form a client secret is stored in: `sha256:` + base64url digest.
pub fn hash_client_secret(secret: &SecretString) -> String {
    format!("{HASH_SCHEME}{}", sha256_b64url(secret.expose().as_bytes()))
}

/// Whether `presented` is the secret `stored_hash` was made from, compared in
/// constant time. A stored value in an unknown format never matches.
pub fn verify_client_secret(presented: &str, stored_hash: &str) -> bool {
    let Some(stored_digest) = stored_hash.strip_prefix(HASH_SCHEME) else {
        return false;
    };
    let presented_digest = sha256_b64url(presented.as_bytes());
    presented_digest
        .as_bytes()
        .ct_eq(stored_digest.as_bytes())
        .into()
}

/// `bytes` random bytes, base64url without padding: for authorization codes,
/// device codes, session and other handles.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill(buffer.as_mut_slice());
    URL_SAFE_NO_PAD.encode(buffer)
}

/// SHA-256 of `input`, base64url without padding (43 characters): how codes
/// and tokens are stored, so a leaked table cannot be replayed.
pub fn sha256_b64url(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(input))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn generated_secrets_are_43_url_safe_characters_and_differ() {
        let first = generate_client_secret();
        let second = generate_client_secret();
        assert_eq!(first.expose().len(), 43);
        assert!(
            first
                .expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(first, second);
        assert_eq!(validate_supplied_secret(first.expose()), Ok(()));
    }

    #[test]
    fn supplied_secrets_are_checked_for_length_and_alphabet() {
        assert_eq!(
            validate_supplied_secret(&"s".repeat(31)),
            Err(SecretError::TooShort)
        );
        assert_eq!(validate_supplied_secret(&"s".repeat(32)), Ok(()));
        assert_eq!(validate_supplied_secret(&"s".repeat(256)), Ok(()));
        assert_eq!(
            validate_supplied_secret(&"s".repeat(257)),
            Err(SecretError::TooLong)
        );
        let with_space = format!("{} {}", "s".repeat(20), "s".repeat(20));
        assert_eq!(
            validate_supplied_secret(&with_space),
            Err(SecretError::ForbiddenCharacter)
        );
        let with_accent = format!("{}é", "s".repeat(40));
        assert_eq!(
            validate_supplied_secret(&with_accent),
            Err(SecretError::ForbiddenCharacter)
        );
    }

    #[test]
    fn a_hashed_secret_verifies_and_others_do_not() {
        let secret = generate_client_secret();
        let stored = hash_client_secret(&secret);
        assert!(stored.starts_with("sha256:"));
        assert!(!stored.contains(secret.expose()));
        assert!(verify_client_secret(secret.expose(), &stored));
        assert!(!verify_client_secret(
            &format!("{}x", secret.expose()),
            &stored
        ));
        assert!(!verify_client_secret("", &stored));
    }

    #[test]
    fn an_unknown_hash_format_never_verifies() {
        let secret = generate_client_secret();
        let digest_only = sha256_b64url(secret.expose().as_bytes());
        assert!(!verify_client_secret(secret.expose(), &digest_only));
        assert!(!verify_client_secret(secret.expose(), secret.expose()));
        assert!(!verify_client_secret(secret.expose(), ""));
        assert!(!verify_client_secret(secret.expose(), "sha256:"));
    }

    #[test]
    fn sha256_matches_the_known_answer() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1, in base64url.
        assert_eq!(
            sha256_b64url(b"abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[test]
    fn random_tokens_have_the_asked_entropy() {
        assert_eq!(random_token(16).len(), 22);
        assert_eq!(random_token(32).len(), 43);
        assert_eq!(random_token(0), "");
        assert_ne!(random_token(16), random_token(16));
    }

    proptest! {
        #[test]
        fn any_valid_supplied_secret_round_trips_through_its_hash(secret in "[\\x21-\\x7e]{32,256}") {
            prop_assert_eq!(validate_supplied_secret(&secret), Ok(()));
            let stored = hash_client_secret(&SecretString::from(secret.as_str()));
            prop_assert!(verify_client_secret(&secret, &stored));
        }

        #[test]
        fn a_secret_with_a_forbidden_character_is_refused(
            head in "[\\x21-\\x7e]{32,40}",
            bad in "[^\\x21-\\x7e]",
        ) {
            prop_assert_eq!(
                validate_supplied_secret(&format!("{head}{bad}")),
                Err(SecretError::ForbiddenCharacter)
            );
        }

        #[test]
        fn verification_never_panics_and_only_the_right_secret_matches(
            presented in any::<String>(),
            stored in any::<String>(),
        ) {
            prop_assert!(!verify_client_secret(&presented, &stored) || stored == hash_client_secret(&SecretString::from(presented.as_str())));
        }
    }
}
