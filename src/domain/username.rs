//! The login identifier (DESIGN.md "People and things": a user's `username`).
//!
//! Logins are case-insensitive, so the value is lowercased before it is
//! checked and stored: `Alice` and `alice` are one account, and a unique
//! index on the stored value is enough to enforce it. The alphabet is kept to
//! ASCII so that no two visually identical names can coexist (no homoglyphs)
//! and `@ +` allow email-like logins. The first character must be a letter or
//! a digit so a username never looks like an option (`-x`) or a hidden file.

use serde::Deserialize;

use super::{DomainError, string_newtype};

/// A login identifier: 3–64 characters of `a-z 0-9 . _ - @ +`, lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Username(String);

impl Username {
    pub const MIN_LENGTH: usize = 3;
    pub const MAX_LENGTH: usize = 64;

    /// Trims surrounding spaces, lowercases, then checks length and alphabet.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let lowered = input.trim().to_ascii_lowercase();
        let length_ok = (Self::MIN_LENGTH..=Self::MAX_LENGTH).contains(&lowered.len());
        let starts_well = lowered
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
        let alphabet_ok = lowered.bytes().all(is_username_byte);
        if length_ok && starts_well && alphabet_ok {
            Ok(Self(lowered))
        } else {
            Err(DomainError::InvalidUsername)
        }
    }
}

string_newtype!(Username);

fn is_username_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn mixed_case_and_surrounding_spaces_are_normalised() {
        let name = Username::parse("  Alice.Martin@Example ").unwrap();
        assert_eq!(name.as_str(), "alice.martin@example");
    }

    #[test]
    fn length_limits_are_inclusive() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        assert!(Username::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn a_username_must_start_with_a_letter_or_digit() {
        for bad in ["-alice", ".alice", "_alice", "@alice", "+alice"] {
            assert_eq!(
                Username::parse(bad),
                Err(DomainError::InvalidUsername),
                "{bad}"
            );
        }
        assert!(Username::parse("7alice").is_ok());
    }

    #[test]
    fn spaces_inside_and_accents_are_refused() {
        assert!(Username::parse("alice martin").is_err());
        assert!(Username::parse("éloïse").is_err());
        assert!(Username::parse("alice$").is_err());
    }

    #[test]
    fn deserializing_goes_through_the_parser() {
        let name: Username = serde_json::from_str("\"Bob_01\"").unwrap();
        assert_eq!(name.as_str(), "bob_01");
        assert!(serde_json::from_str::<Username>("\"b\"").is_err());
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"bob_01\"");
    }

    proptest! {
        #[test]
        fn valid_usernames_parse_and_round_trip(input in "[A-Za-z0-9][A-Za-z0-9._@+-]{2,63}") {
            let name = Username::parse(&input).unwrap();
            prop_assert_eq!(name.as_str(), input.to_ascii_lowercase());
            let shown = name.to_string();
            prop_assert_eq!(Username::parse(&shown).unwrap(), name);
        }

        #[test]
        fn a_forbidden_character_anywhere_is_refused(
            head in "[a-z0-9]{2,20}",
            bad in "[^A-Za-z0-9._@+-]",
            tail in "[a-z0-9]{0,20}",
        ) {
            // Leading/trailing whitespace is trimmed, so keep the bad character inside.
            let input = format!("{head}{bad}x{tail}");
            prop_assert_eq!(Username::parse(&input), Err(DomainError::InvalidUsername));
        }

        #[test]
        fn whatever_parses_from_arbitrary_text_meets_the_rules(input in any::<String>()) {
            if let Ok(name) = Username::parse(&input) {
                prop_assert!((3..=64).contains(&name.as_str().len()));
                prop_assert!(name.as_str().bytes().all(is_username_byte));
            }
        }
    }
}
