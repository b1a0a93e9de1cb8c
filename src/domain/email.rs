//! An email address people can actually receive mail at (RFC 5321 §4.1.2,
//! §4.5.3.1), deliberately narrower than everything RFC 5322 allows.
//!
//! Quoted local parts, comments, IP-literal domains and non-ASCII addresses
//! are refused: no mail provider our customers use hands them out, and each
//! is a classic way to smuggle text into headers or templates. The local part
//! is kept as typed (RFC 5321 lets it be case-sensitive); the domain is
//! lowercased because DNS is not, so one mailbox has one stored form.

use serde::Deserialize;

use super::{DomainError, string_newtype};

/// An address of the form `local@domain.tld`, domain lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// RFC 5321 §4.5.3.1.3 path limit (256) minus the angle brackets.
    pub const MAX_LENGTH: usize = 254;
    /// RFC 5321 §4.5.3.1.1.
    const MAX_LOCAL_LENGTH: usize = 64;
    /// RFC 1035 §2.3.4.
    const MAX_LABEL_LENGTH: usize = 63;

    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let trimmed = input.trim();
        if trimmed.len() > Self::MAX_LENGTH {
            return Err(DomainError::InvalidEmail);
        }
        let Some((local, domain)) = trimmed.split_once('@') else {
            return Err(DomainError::InvalidEmail);
        };
        let domain = domain.to_ascii_lowercase();
        if is_valid_local_part(local) && is_valid_domain(&domain) {
            Ok(Self(format!("{local}@{domain}")))
        } else {
            Err(DomainError::InvalidEmail)
        }
    }

    /// The part after `@`, lowercased.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

string_newtype!(EmailAddress);

/// A dot-string (RFC 5321 §4.1.2) of printable ASCII without the specials
/// that need quoting; dots only between characters.
fn is_valid_local_part(local: &str) -> bool {
    (1..=EmailAddress::MAX_LOCAL_LENGTH).contains(&local.len())
        && local.bytes().all(is_local_byte)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

fn is_local_byte(b: u8) -> bool {
    // `@` is refused here too, which makes "exactly one @" hold.
    b.is_ascii_graphic() && !b"\"<>()[],;:\\@".contains(&b)
}

/// Two or more labels of letters, digits and inner hyphens (RFC 1035 §2.3.1).
fn is_valid_domain(domain: &str) -> bool {
    let mut labels = 0;
    for label in domain.split('.') {
        let well_formed = (1..=EmailAddress::MAX_LABEL_LENGTH).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !well_formed {
            return false;
        }
        labels += 1;
    }
    labels >= 2
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_domain_is_lowercased_and_the_local_part_kept() {
        let address = EmailAddress::parse(" Jane.Doe+news@Mail.Example.COM ").unwrap();
        assert_eq!(address.as_str(), "Jane.Doe+news@mail.example.com");
        assert_eq!(address.domain(), "mail.example.com");
    }

    #[test]
    fn exactly_one_at_sign_is_required() {
        assert!(EmailAddress::parse("jane.example.com").is_err());
        assert!(EmailAddress::parse("jane@doe@example.com").is_err());
    }

    #[test]
    fn the_domain_needs_a_dot_and_well_formed_labels() {
        assert!(EmailAddress::parse("jane@localhost").is_err());
        assert!(EmailAddress::parse("jane@-example.com").is_err());
        assert!(EmailAddress::parse("jane@example-.com").is_err());
        assert!(EmailAddress::parse("jane@example..com").is_err());
        assert!(EmailAddress::parse("jane@exa_mple.com").is_err());
        assert!(EmailAddress::parse("jane@x-1.example.com").is_ok());
    }

    #[test]
    fn quoting_specials_and_stray_dots_in_the_local_part_are_refused() {
        for bad in [
            "\"jane\"@example.com",
            "jane doe@example.com",
            "<jane>@example.com",
            "jane;x@example.com",
            ".jane@example.com",
            "jane.@example.com",
            "ja..ne@example.com",
            "@example.com",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(DomainError::InvalidEmail),
                "{bad}"
            );
        }
    }

    #[test]
    fn length_limits_hold() {
        let local64 = "a".repeat(64);
        assert!(EmailAddress::parse(&format!("{local64}@example.com")).is_ok());
        assert!(EmailAddress::parse(&format!("a{local64}@example.com")).is_err());
        let label = "b".repeat(63);
        // "a@" + four 63-character labels + ".com" = 261 characters, over 254.
        let long_domain = format!("{label}.{label}.{label}.{label}.com");
        assert!(EmailAddress::parse(&format!("a@{long_domain}")).is_err());
        assert!(EmailAddress::parse(&format!("a@{label}.com")).is_ok());
        assert!(EmailAddress::parse(&format!("a@{label}b.com")).is_err());
    }

    fn valid_address() -> impl Strategy<Value = String> {
        (
            "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[A-Za-z0-9_+-]{1,10}){0,2}",
            prop::collection::vec("[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?", 2..5),
        )
            .prop_map(|(local, labels)| format!("{local}@{}", labels.join(".")))
    }

    proptest! {
        #[test]
        fn valid_addresses_parse_and_round_trip(input in valid_address()) {
            let address = EmailAddress::parse(&input).unwrap();
            let (local, domain) = input.split_once('@').unwrap();
            prop_assert_eq!(address.as_str(), format!("{local}@{}", domain.to_ascii_lowercase()));
            let shown = address.to_string();
            prop_assert_eq!(EmailAddress::parse(&shown).unwrap(), address);
        }

        #[test]
        fn a_forbidden_character_in_the_local_part_is_refused(
            head in "[a-z]{1,10}",
            bad in "[\"<>()\\[\\],;:\\\\ @\\t\u{e9}\u{0}]",
        ) {
            let input = format!("{head}{bad}x@example.com");
            prop_assert_eq!(EmailAddress::parse(&input), Err(DomainError::InvalidEmail));
        }

        #[test]
        fn whatever_parses_from_arbitrary_text_meets_the_rules(input in any::<String>()) {
            if let Ok(address) = EmailAddress::parse(&input) {
                prop_assert!(address.as_str().len() <= 254);
                prop_assert_eq!(address.as_str().matches('@').count(), 1);
                prop_assert!(address.domain().contains('.'));
            }
        }
    }
}
