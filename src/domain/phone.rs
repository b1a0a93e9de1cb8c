//! A phone number in E.164 form (ITU-T E.164 §6: at most 15 digits, the
//! country code first, which never starts with 0).
//!
//! SMS codes and Mobile Connect go through gateways that want E.164, and one
//! stored form lets the same phone be recognised however it was typed; so
//! people may write `+33 6 12-34.56 (78)` and we keep `+33612345678`. National
//! forms (`06 12 …`) are refused rather than guessed: the country is unknown.
//! At least 8 digits are required, the shortest real mobile numbers with
//! their country code.

use serde::Deserialize;

use super::{DomainError, string_newtype};

/// `+` then 8 to 15 digits, the first not 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    const MIN_DIGITS: usize = 8;
    const MAX_DIGITS: usize = 15;

    /// Drops the separators people type for readability, then checks E.164.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let compact: String = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
            .collect();
        let Some(digits) = compact.strip_prefix('+') else {
            return Err(DomainError::InvalidPhone);
        };
        let well_formed = (Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if well_formed {
            Ok(Self(compact))
        } else {
            Err(DomainError::InvalidPhone)
        }
    }
}

string_newtype!(PhoneNumber);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn readability_separators_are_stripped() {
        let phone = PhoneNumber::parse(" +33 (6) 12-34.56 78 ").unwrap();
        assert_eq!(phone.as_str(), "+33612345678");
    }

    #[test]
    fn the_plus_and_country_code_are_required() {
        assert!(PhoneNumber::parse("0612345678").is_err());
        assert!(PhoneNumber::parse("+0612345678").is_err());
        assert!(PhoneNumber::parse("33612345678").is_err());
        assert!(PhoneNumber::parse("++33612345678").is_err());
    }

    #[test]
    fn eight_to_fifteen_digits_are_allowed() {
        assert!(PhoneNumber::parse("+1234567").is_err());
        assert!(PhoneNumber::parse("+12345678").is_ok());
        assert!(PhoneNumber::parse("+123456789012345").is_ok());
        assert!(PhoneNumber::parse("+1234567890123456").is_err());
    }

    #[test]
    fn letters_and_other_symbols_are_refused() {
        assert!(PhoneNumber::parse("+33 6 12 34 56 7A").is_err());
        assert!(PhoneNumber::parse("+33/612345678").is_err());
        assert!(PhoneNumber::parse("+33６12345678").is_err());
    }

    proptest! {
        #[test]
        fn valid_numbers_with_separators_parse_and_round_trip(
            first in "[1-9]",
            rest in prop::collection::vec(("[0-9]", "[ .()-]{0,1}"), 7..15),
        ) {
            let mut typed = format!("+{first}");
            let mut expected = typed.clone();
            for (digit, separator) in &rest {
                typed.push_str(separator);
                typed.push_str(digit);
                expected.push_str(digit);
            }
            let phone = PhoneNumber::parse(&typed).unwrap();
            prop_assert_eq!(phone.as_str(), expected.as_str());
            let shown = phone.to_string();
            prop_assert_eq!(PhoneNumber::parse(&shown).unwrap(), phone);
        }

        #[test]
        fn a_forbidden_character_is_refused(
            digits in "[1-9][0-9]{9}",
            bad in "[^0-9 .()+-]",
        ) {
            let input = format!("+{}{bad}{}", &digits[..4], &digits[4..]);
            prop_assert_eq!(PhoneNumber::parse(&input), Err(DomainError::InvalidPhone));
        }

        #[test]
        fn whatever_parses_from_arbitrary_text_is_e164(input in any::<String>()) {
            if let Ok(phone) = PhoneNumber::parse(&input) {
                let digits = phone.as_str().strip_prefix('+').unwrap();
                prop_assert!((8..=15).contains(&digits.len()));
                prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }
}
