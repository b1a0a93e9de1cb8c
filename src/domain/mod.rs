//! Newtypes parsed at the edge, once.
//!
//! The CLI, the config loader and the HTTP handlers turn raw strings into
//! these types as soon as they arrive; everything behind them can then rely
//! on the value being well formed (STYLE.md "Parse at the edge, once"). Each
//! type keeps its field private, so the parser is the only way in, and
//! deserializes through that same parser (`#[serde(try_from = "String")]`).
//!
//! Names follow the `openidconnect` crate where it has one (`ClientId`,
//! `RedirectUrl`, `PostLogoutRedirectUrl`, `Scope`, `EmailAddress`,
//! `PhoneNumber`), so server code and conformance tests read alike.
//!
//! [`DomainError`] messages are written for the person who typed the value:
//! they say what a valid value looks like and never repeat the input, so they
//! can be shown on a page or printed by the CLI as they are.

mod email;
mod ids;
mod phone;
mod redirect_uri;
mod scope;
mod secret;
mod username;

pub use email::EmailAddress;
pub use ids::{ClientId, OrgId, UserId};
pub use phone::PhoneNumber;
pub use redirect_uri::{PostLogoutRedirectUrl, RedirectUrl};
pub use scope::{Scope, Scopes};
pub use secret::SecretString;
pub use username::Username;

/// Why a value was refused. Safe to show as it is: no variant carries the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error(
        "a username is 3 to 64 characters: letters, digits and . _ - @ +, starting with a letter or digit"
    )]
    InvalidUsername,
    #[error(
        "an email address looks like name@example.com: at most 254 characters, one @, and a domain with a dot"
    )]
    InvalidEmail,
    #[error(
        "a phone number is written in international form: + then the country code and number, 8 to 15 digits"
    )]
    InvalidPhone,
    #[error("a redirect URI must be an absolute URI, without spaces")]
    RedirectUriNotAbsolute(#[source] Option<url::ParseError>),
    #[error("a redirect URI must not have a fragment (the part after #)")]
    RedirectUriHasFragment,
    #[error(
        "a redirect URI must use https; http is allowed only for localhost, 127.0.0.1 and [::1]"
    )]
    RedirectUriNotHttps,
    #[error(
        "a redirect URI must use https, or an app's own scheme with a dot in it, such as com.example.app:/callback"
    )]
    RedirectUriScheme,
    #[error(
        "a scope is one or more printable characters other than space, double quote and backslash"
    )]
    InvalidScope,
    #[error("a client id is 1 to 128 printable characters, without spaces")]
    InvalidClientId,
    #[error("an identifier is a UUID, such as 0190b3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d")]
    InvalidUuid(#[source] uuid::Error),
}

/// The impls every string newtype shares; each type brings its own
/// `parse(&str) -> Result<Self, DomainError>` and keeps its value in `.0`.
macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The value, as it will be stored and compared.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::domain::DomainError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                Self::parse(input)
            }
        }

        impl ::std::convert::TryFrom<String> for $name {
            type Error = $crate::domain::DomainError;

            fn try_from(input: String) -> Result<Self, Self::Error> {
                Self::parse(&input)
            }
        }

        impl ::std::convert::TryFrom<&str> for $name {
            type Error = $crate::domain::DomainError;

            fn try_from(input: &str) -> Result<Self, Self::Error> {
                Self::parse(input)
            }
        }

        impl ::std::convert::From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_newtype;
