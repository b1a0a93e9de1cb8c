//! Identifiers: the client id a relying party is known by (RFC 6749 §2.2)
//! and the UUIDs that name users and organisations.
//!
//! RFC 6749 Appendix A.1 allows any VSCHAR (%x20-7E) in a `client_id`; we
//! leave out the space (%x21-7E only), because a space would be ambiguous in
//! `client_secret_basic` credentials, logs and the CLI. The 128-character cap
//! bounds what an unauthenticated caller can make us look up.
//!
//! A user's `sub` is its [`UserId`], a UUID that never changes and never
//! reveals the username (DESIGN.md "People and things"). `UserId` and
//! [`OrgId`] are distinct types so one can never be passed for the other.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{DomainError, string_newtype};

/// The identifier of a relying party: 1–128 printable ASCII characters, no space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct ClientId(String);

impl ClientId {
    pub const MAX_LENGTH: usize = 128;

    /// Not trimmed: a client id is compared exactly, as the client sends it.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let well_formed = (1..=Self::MAX_LENGTH).contains(&input.len())
            && input.bytes().all(|b| b.is_ascii_graphic());
        if well_formed {
            Ok(Self(input.to_owned()))
        } else {
            Err(DomainError::InvalidClientId)
        }
    }
}

string_newtype!(ClientId);

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (v4) id. Random rather than time-ordered (v7)
            /// so that creating one reads no clock and leaks no creation time.
            pub fn generate() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        /// Hyphenated lowercase, as in `sub` claims and URLs.
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = DomainError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(input.trim())
                    .map(Self)
                    .map_err(DomainError::InvalidUuid)
            }
        }
    };
}

uuid_id!(
    /// A user's stable identifier, used as the `sub` claim.
    UserId
);
uuid_id!(
    /// An organisation's stable identifier.
    OrgId
);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn client_ids_are_compared_exactly_and_refuse_spaces() {
        assert_eq!(ClientId::parse("console").unwrap().as_str(), "console");
        assert!(ClientId::parse(" console").is_err());
        assert!(ClientId::parse("web console").is_err());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse(&"c".repeat(128)).is_ok());
        assert!(ClientId::parse(&"c".repeat(129)).is_err());
        assert!(ClientId::parse("cönsole").is_err());
    }

    #[test]
    fn user_ids_display_hyphenated_and_parse_back() {
        let id = UserId::generate();
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text.parse::<UserId>().unwrap(), id);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{text}\""));
        assert_eq!(
            serde_json::from_str::<UserId>(&format!("\"{text}\"")).unwrap(),
            id
        );
    }

    #[test]
    fn a_malformed_uuid_is_refused_with_the_cause_kept() {
        let err = "not-a-uuid".parse::<OrgId>().unwrap_err();
        assert!(matches!(err, DomainError::InvalidUuid(_)));
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(OrgId::generate(), OrgId::generate());
    }

    proptest! {
        #[test]
        fn valid_client_ids_parse_and_round_trip(input in "[\\x21-\\x7e]{1,128}") {
            let id = ClientId::parse(&input).unwrap();
            prop_assert_eq!(id.as_str(), input.as_str());
            let shown = id.to_string();
            prop_assert_eq!(ClientId::parse(&shown).unwrap(), id);
        }

        #[test]
        fn a_client_id_with_a_forbidden_character_is_refused(
            head in "[\\x21-\\x7e]{0,20}",
            bad in "[^\\x21-\\x7e]",
        ) {
            prop_assert_eq!(ClientId::parse(&format!("{head}{bad}")), Err(DomainError::InvalidClientId));
        }

        #[test]
        fn any_uuid_round_trips_through_display(bytes in any::<[u8; 16]>()) {
            let id = UserId::from(Uuid::from_bytes(bytes));
            prop_assert_eq!(id.to_string().parse::<UserId>().unwrap(), id);
        }

        #[test]
        fn whatever_client_id_parses_from_arbitrary_text_is_printable(input in any::<String>()) {
            if let Ok(id) = ClientId::parse(&input) {
                prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_graphic()));
            }
            let _ = input.parse::<UserId>();
        }
    }
}
