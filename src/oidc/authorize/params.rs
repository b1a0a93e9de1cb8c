//! Request parameters as sent, in order, so repeated parameters can be
//! refused (RFC 6749 §3.1: "MUST NOT be included more than once") and empty
//! ones treated as absent ("sent without a value MUST be treated as if they
//! were omitted").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses an `application/x-www-form-urlencoded` string (query or body).
    pub fn parse(encoded: &str) -> Self {
        Self(
            url::form_urlencoded::parse(encoded.as_bytes())
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self(pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect())
    }

    /// The value of `name` (the first, when repeated: callers check
    /// [`Params::duplicated`] first).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first parameter that appears more than once.
    pub fn duplicated(&self) -> Option<&str> {
        self.0.iter().enumerate().find_map(|(i, (k, _))| {
            self.0[..i]
                .iter()
                .any(|(earlier, _)| earlier == k)
                .then_some(k.as_str())
        })
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_absent_and_repeats_are_found() {
        let p = Params::parse("a=1&b=&c=x+y&a=2");
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert_eq!(p.duplicated(), Some("a"));
        assert_eq!(Params::parse("a=1&b=2").duplicated(), None);
    }
}
