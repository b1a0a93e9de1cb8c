//! The password policy of DESIGN.md §5 ("Password policy"):
//!
//! > At least 8 characters (medium) or 10 and more (strong); at least one
//! > lower-case letter, one upper-case letter, one digit and one special
//! > character from `# ! . @ _ - /`; any other character (`$`, `µ`, space,
//! > accents, …) is refused, and the error says which rule failed.
//!
//! Decisions:
//! - "Letters" are ASCII letters only, so accents are refused like any other
//!   character outside the alphabet: the same password must be typeable on
//!   every keyboard the customers' staff use, and no Unicode normalisation
//!   question can arise between two browsers.
//! - At most 128 characters, a rule like the others, so an attacker cannot
//!   make us hash megabytes and the cost of argon2 stays bounded.
//! - Every failed rule is reported, not just the first, so the page can tick
//!   them all at once; each [`Rule`] has a stable [`Rule::code`] for pages,
//!   JSON answers and the strength meter's script.
//! - Only the first forbidden character is echoed back (on the person's own
//!   page), enough to find it without repeating the password.

use std::fmt;

/// Fewer characters than this is refused.
pub const MIN_LENGTH: usize = 8;
/// From this many characters on, the password is [`Strength::Strong`].
pub const STRONG_LENGTH: usize = 10;
/// More characters than this is refused.
pub const MAX_LENGTH: usize = 128;
/// The special characters, the only non-alphanumeric ones allowed.
pub const SPECIAL_CHARACTERS: &str = "#!.@_-/";

/// The policy in one sentence, for the change-password page.
pub const POLICY_SUMMARY: &str = "At least 8 characters (10 or more for a strong password, at most 128), \
     with at least one lower-case letter, one upper-case letter, one digit and one special character \
     from # ! . @ _ - /. No other characters (such as $, spaces or accented letters) are allowed.";

/// How strong an accepted password is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    /// 8 or 9 characters.
    Medium,
    /// 10 characters or more.
    Strong,
}

/// One rule of the policy that a candidate broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    TooShort,
    TooLong,
    MissingLowercase,
    MissingUppercase,
    MissingDigit,
    MissingSpecial,
    /// The first character outside the allowed alphabet.
    ForbiddenCharacter(char),
}

impl Rule {
    /// A stable identifier: pages and JSON answers may depend on it.
    pub fn code(self) -> &'static str {
        match self {
            Rule::TooShort => "too_short",
            Rule::TooLong => "too_long",
            Rule::MissingLowercase => "missing_lowercase",
            Rule::MissingUppercase => "missing_uppercase",
            Rule::MissingDigit => "missing_digit",
            Rule::MissingSpecial => "missing_special",
            Rule::ForbiddenCharacter(_) => "forbidden_character",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::TooShort => write!(f, "at least {MIN_LENGTH} characters"),
            Rule::TooLong => write!(f, "at most {MAX_LENGTH} characters"),
            Rule::MissingLowercase => f.write_str("one lower-case letter"),
            Rule::MissingUppercase => f.write_str("one upper-case letter"),
            Rule::MissingDigit => f.write_str("one digit"),
            Rule::MissingSpecial => f.write_str("one special character from # ! . @ _ - /"),
            Rule::ForbiddenCharacter(c) => write!(
                f,
                "only letters, digits and # ! . @ _ - / (found '{}')",
                c.escape_debug()
            ),
        }
    }
}

/// Every rule a refused password broke, in the order of [`Rule`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyViolations(Vec<Rule>);

impl PolicyViolations {
    /// Never empty.
    pub fn rules(&self) -> &[Rule] {
        &self.0
    }

    pub fn codes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|rule| rule.code())
    }
}

impl fmt::Display for PolicyViolations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the password needs ")?;
        for (i, rule) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{rule}")?;
        }
        Ok(())
    }
}

/// Checks `candidate` against every rule; says how strong it is when it passes.
pub fn check_password(candidate: &str) -> Result<Strength, PolicyViolations> {
    let length = candidate.chars().count();
    let mut broken = Vec::new();
    if length < MIN_LENGTH {
        broken.push(Rule::TooShort);
    }
    if length > MAX_LENGTH {
        broken.push(Rule::TooLong);
    }
    let has = |test: fn(char) -> bool| candidate.chars().any(test);
    if !has(|c| c.is_ascii_lowercase()) {
        broken.push(Rule::MissingLowercase);
    }
    if !has(|c| c.is_ascii_uppercase()) {
        broken.push(Rule::MissingUppercase);
    }
    if !has(|c| c.is_ascii_digit()) {
        broken.push(Rule::MissingDigit);
    }
    if !has(is_special) {
        broken.push(Rule::MissingSpecial);
    }
    if let Some(forbidden) = candidate.chars().find(|c| !is_allowed(*c)) {
        broken.push(Rule::ForbiddenCharacter(forbidden));
    }
    match (broken.is_empty(), length >= STRONG_LENGTH) {
        (false, _) => Err(PolicyViolations(broken)),
        (true, true) => Ok(Strength::Strong),
        (true, false) => Ok(Strength::Medium),
    }
}

fn is_special(c: char) -> bool {
    SPECIAL_CHARACTERS.contains(c)
}

fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_special(c)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn broken(candidate: &str) -> Vec<Rule> {
        check_password(candidate).unwrap_err().rules().to_vec()
    }

    #[test]
    fn eight_or_nine_characters_are_medium_and_ten_strong() {
        assert_eq!(check_password("Abcdef1#"), Ok(Strength::Medium));
        assert_eq!(check_password("Abcdef1#x"), Ok(Strength::Medium));
        assert_eq!(check_password("Abcdef1#xy"), Ok(Strength::Strong));
    }

    #[test]
    fn seven_characters_are_too_short() {
        assert_eq!(broken("Abcde1#"), vec![Rule::TooShort]);
    }

    #[test]
    fn more_than_128_characters_are_too_long() {
        let at_limit = format!("Aa1#{}", "x".repeat(124));
        assert_eq!(check_password(&at_limit), Ok(Strength::Strong));
        assert_eq!(broken(&format!("{at_limit}x")), vec![Rule::TooLong]);
    }

    #[test]
    fn each_character_class_is_required() {
        assert_eq!(broken("ABCDEF1#"), vec![Rule::MissingLowercase]);
        assert_eq!(broken("abcdef1#"), vec![Rule::MissingUppercase]);
        assert_eq!(broken("Abcdefg#"), vec![Rule::MissingDigit]);
        assert_eq!(broken("Abcdefg1"), vec![Rule::MissingSpecial]);
    }

    #[test]
    fn every_listed_special_character_counts() {
        for special in SPECIAL_CHARACTERS.chars() {
            assert!(
                check_password(&format!("Abcdef1{special}")).is_ok(),
                "{special}"
            );
        }
    }

    #[test]
    fn characters_outside_the_alphabet_are_refused_and_named() {
        for (candidate, found) in [
            ("Abcdef1#$", '$'),
            ("Abcdéf1#x", 'é'),
            ("Abc def1#", ' '),
            ("Abcdef1#µ", 'µ'),
        ] {
            assert_eq!(
                broken(candidate),
                vec![Rule::ForbiddenCharacter(found)],
                "{candidate}"
            );
        }
        let message = check_password("Abcdef1#$").unwrap_err().to_string();
        assert_eq!(
            message,
            "the password needs only letters, digits and # ! . @ _ - / (found '$')"
        );
    }

    #[test]
    fn all_failed_rules_are_reported_with_stable_codes() {
        let violations = check_password("abc").unwrap_err();
        assert_eq!(
            violations.codes().collect::<Vec<_>>(),
            [
                "too_short",
                "missing_uppercase",
                "missing_digit",
                "missing_special"
            ]
        );
        assert_eq!(
            violations.to_string(),
            "the password needs at least 8 characters; one upper-case letter; one digit; \
             one special character from # ! . @ _ - /"
        );
        assert_eq!(
            check_password("").unwrap_err().rules().len(),
            5,
            "the empty password breaks every rule but length-max and alphabet"
        );
    }

    #[test]
    fn a_control_character_is_named_escaped() {
        let message = check_password("Abcdef1#\n").unwrap_err().to_string();
        assert!(message.ends_with("(found '\\n')"), "{message}");
    }

    fn compliant_password() -> impl Strategy<Value = String> {
        (
            "[a-z]",
            "[A-Z]",
            "[0-9]",
            "[#!.@_/-]",
            "[A-Za-z0-9#!.@_/-]{4,124}",
        )
            .prop_map(|(l, u, d, s, rest)| format!("{rest}{s}{d}{u}{l}"))
    }

    proptest! {
        #[test]
        fn compliant_passwords_are_accepted_with_the_right_strength(candidate in compliant_password()) {
            let expected = if candidate.len() >= 10 { Strength::Strong } else { Strength::Medium };
            prop_assert_eq!(check_password(&candidate), Ok(expected));
        }

        #[test]
        fn any_forbidden_character_is_refused(
            candidate in compliant_password(),
            forbidden in "[^A-Za-z0-9#!.@_/-]",
            position in 0usize..8,
        ) {
            let mut candidate = candidate;
            let forbidden_char = forbidden.chars().next().unwrap();
            // Insert at a char boundary; the compliant part is all ASCII.
            candidate.insert(position.min(candidate.len()), forbidden_char);
            let rules = broken(&candidate);
            prop_assert!(rules.contains(&Rule::ForbiddenCharacter(forbidden_char)));
        }

        #[test]
        fn arbitrary_text_is_accepted_only_if_it_meets_every_rule(candidate in any::<String>()) {
            match check_password(&candidate) {
                Ok(_) => {
                    let length = candidate.chars().count();
                    prop_assert!((MIN_LENGTH..=MAX_LENGTH).contains(&length));
                    prop_assert!(candidate.chars().all(is_allowed));
                }
                Err(violations) => prop_assert!(!violations.rules().is_empty()),
            }
        }
    }
}
