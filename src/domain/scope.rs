//! Access token scope (RFC 6749 §3.3).
//!
//! A [`Scope`] is one `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`: printable
//! ASCII without space, `"` and `\`. [`Scopes`] is the space-delimited list a
//! client sends: RFC 6749 says order does not matter and the tokens form a
//! set, so duplicates are dropped and equality ignores order, while the first
//! order seen is kept so that what we echo back reads like what was asked.
//! Runs of spaces and leading/trailing spaces are tolerated: clients that
//! build the string by concatenation often send them, and refusing would only
//! break them without protecting anything.

use std::fmt;

use serde::Deserialize;

use super::{DomainError, string_newtype};

/// One scope token, such as `openid` or `email`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Scope(String);

impl Scope {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        if !input.is_empty() && input.bytes().all(is_scope_byte) {
            Ok(Self(input.to_owned()))
        } else {
            Err(DomainError::InvalidScope)
        }
    }
}

string_newtype!(Scope);

fn is_scope_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// A set of scopes in first-seen order; `Display` joins them with one space.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "String")]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// Parses a `scope` parameter; the empty string is the empty set.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        input
            .split(' ')
            .filter(|token| !token.is_empty())
            .map(Scope::parse)
            .collect()
    }

    pub fn contains(&self, scope: impl AsRef<str>) -> bool {
        let wanted = scope.as_ref();
        self.0.iter().any(|s| s.as_str() == wanted)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Scope> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `scope` at the end unless it is already there.
    pub fn insert(&mut self, scope: Scope) {
        if !self.contains(&scope) {
            self.0.push(scope);
        }
    }

    /// Whether every scope here is also in `allowed` (a request within a
    /// client's registration, a refresh within the original grant).
    pub fn is_subset_of(&self, allowed: &Scopes) -> bool {
        self.0.iter().all(|s| allowed.contains(s))
    }

    /// The scopes of `self` that `other` also has, in `self`'s order.
    #[must_use]
    pub fn intersection(&self, other: &Scopes) -> Scopes {
        self.0
            .iter()
            .filter(|s| other.contains(s))
            .cloned()
            .collect()
    }
}

/// Set equality: `openid email` equals `email openid`.
impl PartialEq for Scopes {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.is_subset_of(other)
    }
}

impl Eq for Scopes {}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut scopes = Scopes::default();
        for scope in iter {
            scopes.insert(scope);
        }
        scopes
    }
}

impl<'a> IntoIterator for &'a Scopes {
    type Item = &'a Scope;
    type IntoIter = std::slice::Iter<'a, Scope>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Scopes {
    type Err = DomainError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl TryFrom<String> for Scopes {
    type Error = DomainError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        Self::parse(&input)
    }
}

impl serde::Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn scopes(input: &str) -> Scopes {
        Scopes::parse(input).unwrap()
    }

    #[test]
    fn the_empty_string_is_the_empty_set() {
        assert!(scopes("").is_empty());
        assert!(scopes("   ").is_empty());
        assert_eq!(scopes("").to_string(), "");
    }

    #[test]
    fn duplicates_are_dropped_and_first_order_kept() {
        let parsed = scopes("  openid email  openid profile ");
        assert_eq!(parsed.to_string(), "openid email profile");
        assert_eq!(parsed.len(), 3);
    }

    #[test]
    fn equality_ignores_order() {
        assert_eq!(scopes("openid email"), scopes("email openid"));
        assert_ne!(scopes("openid email"), scopes("openid"));
    }

    #[test]
    fn subset_and_intersection_follow_set_rules() {
        let registered = scopes("openid email profile");
        assert!(scopes("email openid").is_subset_of(&registered));
        assert!(scopes("").is_subset_of(&registered));
        assert!(!scopes("openid admin").is_subset_of(&registered));
        let granted = scopes("admin profile openid").intersection(&registered);
        assert_eq!(granted.to_string(), "profile openid");
        assert!(granted.contains("openid"));
        assert!(!granted.contains("admin"));
    }

    #[test]
    fn quotes_backslashes_and_non_ascii_are_not_scope_characters() {
        for bad in ["\"openid\"", "a\\b", "émail", "open\tid"] {
            assert_eq!(Scopes::parse(bad), Err(DomainError::InvalidScope), "{bad}");
        }
        assert!(Scope::parse("").is_err());
        assert!(Scope::parse("urn:example:scope/read!#$").is_ok());
    }

    #[test]
    fn scopes_serialize_as_one_space_separated_string() {
        let parsed: Scopes = serde_json::from_str("\"openid  email\"").unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), "\"openid email\"");
        assert!(serde_json::from_str::<Scopes>("\"open\\\"id\"").is_err());
    }

    fn scope_token() -> impl Strategy<Value = String> {
        "[\\x21\\x23-\\x5b\\x5d-\\x7e]{1,12}"
    }

    proptest! {
        #[test]
        fn valid_scope_lists_parse_and_round_trip(
            tokens in prop::collection::vec(scope_token(), 0..8),
        ) {
            let parsed = Scopes::parse(&tokens.join(" ")).unwrap();
            for token in &tokens {
                prop_assert!(parsed.contains(token));
            }
            let mut unique = tokens.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(parsed.len(), unique.len());
            let reparsed = Scopes::parse(&parsed.to_string()).unwrap();
            prop_assert_eq!(reparsed.to_string(), parsed.to_string());
            for token in &tokens {
                prop_assert_eq!(Scope::parse(token).unwrap().to_string(), token.as_str());
            }
        }

        #[test]
        fn a_forbidden_character_is_refused(
            head in scope_token(),
            bad in "[\"\\\\\\x00-\\x1f\\x7f-\u{10ffff}]",
        ) {
            prop_assert_eq!(Scope::parse(&format!("{head}{bad}")), Err(DomainError::InvalidScope));
            prop_assert_eq!(Scopes::parse(&format!("openid {head}{bad}")), Err(DomainError::InvalidScope));
        }

        #[test]
        fn whatever_parses_from_arbitrary_text_is_a_set_of_valid_tokens(input in any::<String>()) {
            if let Ok(parsed) = Scopes::parse(&input) {
                for scope in &parsed {
                    prop_assert!(scope.as_str().bytes().all(is_scope_byte));
                    prop_assert_eq!(parsed.iter().filter(|s| *s == scope).count(), 1);
                }
            }
        }
    }
}
