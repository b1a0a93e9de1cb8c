//! A string that must never reach a log, a page or an error message:
//! passwords, client secrets, keys from the config file.
//!
//! `Debug`, `Display` and `Serialize` all write `[redacted]`, so a secret
//! inside a config struct, a form or an error cannot leak through `{:?}`,
//! tracing fields or a serialized dump; the one way out is [`SecretString::expose`],
//! which is easy to find in review. It deserializes from a plain string so
//! config files and forms can carry it. Equality is constant-time, so
//! comparing two secrets says nothing about how much of them matched.
//! (Zeroing the memory on drop is not attempted: the same bytes have passed
//! through request buffers we do not own.)

use std::fmt;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

const REDACTED: &str = "[redacted]";

/// A secret string, redacted wherever it is printed.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for hashing, comparing or sending where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Writes `[redacted]`: serializing is for showing config, never for
/// storing a secret (store a hash, or `expose()` on purpose).
impl Serialize for SecretString {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SecretString {}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn printing_never_shows_the_secret() {
        let secret = SecretString::from("hunter2-Sesame");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"[redacted]\"");
        let nested = format!("{:?}", ("password", Some(vec![secret.clone()])));
        assert!(!nested.contains("hunter2"), "{nested}");
    }

    #[test]
    fn it_deserializes_from_a_plain_string_and_exposes_it() {
        let secret: SecretString = serde_json::from_str("\"s3cr3t\"").unwrap();
        assert_eq!(secret.expose(), "s3cr3t");
    }

    #[test]
    fn equality_compares_the_whole_value() {
        assert_eq!(
            SecretString::from("abc"),
            SecretString::new("abc".to_owned())
        );
        assert_ne!(SecretString::from("abc"), SecretString::from("abd"));
        assert_ne!(SecretString::from("abc"), SecretString::from("abcd"));
    }

    proptest! {
        #[test]
        fn no_secret_appears_in_debug_or_display(secret in "[a-zA-Z0-9]{12,40}") {
            let wrapped = SecretString::from(secret.as_str());
            let debugged = format!("{:?}", &wrapped);
            prop_assert!(!debugged.contains(&secret));
            prop_assert!(!wrapped.to_string().contains(&secret));
            prop_assert_eq!(wrapped.expose(), secret.as_str());
        }
    }
}
