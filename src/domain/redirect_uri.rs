//! Redirection endpoints a client registers (RFC 6749 §3.1.2, OIDC Core
//! §3.1.2.1, OIDC RP-Initiated Logout §2) and the rules of RFC 8252 for
//! native apps.
//!
//! Rules, in the order they are checked:
//! 1. no whitespace or control character anywhere: the `url` crate would
//!    silently strip some of them, and the stored string must be exactly
//!    what the client sends;
//! 2. an absolute URI (RFC 6749 §3.1.2);
//! 3. no fragment (RFC 6749 §3.1.2: "MUST NOT include a fragment component");
//! 4. scheme `https`; or `http` on a loopback host only (RFC 8252 §7.3,
//!    `localhost`, `127.0.0.1`, `[::1]`), where no one else can listen; or a
//!    private-use scheme in reverse-domain form, which has a dot (RFC 8252
//!    §7.1, `com.example.app:/callback`). Anything else (`javascript:`,
//!    `data:`, `file:`, bare custom schemes) is refused.
//!
//! The original string is kept verbatim, never normalised: OIDC Core
//! §3.1.2.1 compares redirect URIs by exact string match, and comparing
//! normalised forms is how open redirects creep in. The parsed [`Url`] is kept
//! beside it, as the `openidconnect` crate does, for building the response.

use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Deserialize;
use url::{Host, Url};

use super::{DomainError, string_newtype};

/// Where the authorization response is sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct RedirectUrl(String, Url);

/// Where the browser goes after RP-initiated logout; the same rules as
/// [`RedirectUrl`], a separate type so the two lists are never mixed up.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct PostLogoutRedirectUrl(String, Url);

macro_rules! redirect_type {
    ($name:ident) => {
        impl $name {
            pub fn parse(input: &str) -> Result<Self, DomainError> {
                let url = check_redirect_uri(input)?;
                Ok(Self(input.to_owned(), url))
            }

            /// The parsed form, for adding `code`, `state` and `iss` to it.
            pub fn url(&self) -> &Url {
                &self.1
            }
        }

        string_newtype!($name);

        /// Exact string comparison (OIDC Core §3.1.2.1).
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0 == other.0
            }
        }

        impl Eq for $name {}

        impl Hash for $name {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }
    };
}

redirect_type!(RedirectUrl);
redirect_type!(PostLogoutRedirectUrl);

fn check_redirect_uri(input: &str) -> Result<Url, DomainError> {
    // 1. Nothing the url crate would strip or re-encode behind our back.
    if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DomainError::RedirectUriNotAbsolute(None));
    }
    // 2. Absolute: the url crate refuses relative references without a base.
    let url = Url::parse(input).map_err(|e| DomainError::RedirectUriNotAbsolute(Some(e)))?;
    // 3. No fragment, not even an empty one (`…/cb#`).
    if url.fragment().is_some() {
        return Err(DomainError::RedirectUriHasFragment);
    }
    // 4. Scheme.
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(DomainError::RedirectUriNotHttps),
        private if private.contains('.') => Ok(url),
        _ => Err(DomainError::RedirectUriScheme),
    }
}

/// RFC 8252 §7.3 loopback hosts. Only these three spellings: a name that
/// merely resolves to loopback could be re-pointed by whoever controls DNS.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name == "localhost",
        Some(Host::Ipv4(address)) => address == Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(address)) => address == Ipv6Addr::LOCALHOST,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn https_uris_with_query_are_allowed_and_kept_verbatim() {
        let input = "https://App.Example.com:8443/cb/../x?tenant=a&b=%41";
        let uri = RedirectUrl::parse(input).unwrap();
        assert_eq!(uri.as_str(), input);
        assert_eq!(uri.url().host_str(), Some("app.example.com"));
    }

    #[test]
    fn http_is_allowed_only_on_loopback_hosts() {
        assert_eq!(
            RedirectUrl::parse("http://evil.example/cb"),
            Err(DomainError::RedirectUriNotHttps)
        );
        assert_eq!(
            RedirectUrl::parse("http://localhost.evil.example/cb"),
            Err(DomainError::RedirectUriNotHttps)
        );
        assert_eq!(
            RedirectUrl::parse("http://127.0.0.2/cb"),
            Err(DomainError::RedirectUriNotHttps)
        );
        for good in [
            "http://127.0.0.1:8080/cb",
            "http://localhost/cb",
            "http://[::1]:51004/oauth2redirect",
        ] {
            assert!(RedirectUrl::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn fragments_are_refused_even_when_empty() {
        assert_eq!(
            RedirectUrl::parse("https://app.example.com/cb#x"),
            Err(DomainError::RedirectUriHasFragment)
        );
        assert_eq!(
            RedirectUrl::parse("https://app.example.com/cb#"),
            Err(DomainError::RedirectUriHasFragment)
        );
    }

    #[test]
    fn private_use_schemes_need_a_dot() {
        assert!(RedirectUrl::parse("com.example.app:/callback").is_ok());
        for bad in [
            "myapp:/callback",
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "ftp://example.com/cb",
        ] {
            assert_eq!(
                RedirectUrl::parse(bad),
                Err(DomainError::RedirectUriScheme),
                "{bad}"
            );
        }
    }

    #[test]
    fn relative_references_and_embedded_spaces_are_refused() {
        assert!(matches!(
            RedirectUrl::parse("/cb"),
            Err(DomainError::RedirectUriNotAbsolute(Some(_)))
        ));
        assert!(matches!(
            RedirectUrl::parse(" https://app.example.com/cb"),
            Err(DomainError::RedirectUriNotAbsolute(None))
        ));
        assert!(matches!(
            RedirectUrl::parse("https://app.example.com/c\tb"),
            Err(DomainError::RedirectUriNotAbsolute(None))
        ));
    }

    #[test]
    fn comparison_is_by_exact_string() {
        let a = RedirectUrl::parse("https://app.example.com/cb").unwrap();
        let b = RedirectUrl::parse("https://APP.example.com/cb").unwrap();
        assert_eq!(a.url(), b.url());
        assert_ne!(a, b);
    }

    #[test]
    fn post_logout_uris_follow_the_same_rules() {
        assert!(PostLogoutRedirectUrl::parse("https://app.example.com/bye").is_ok());
        assert_eq!(
            PostLogoutRedirectUrl::parse("http://app.example.com/bye"),
            Err(DomainError::RedirectUriNotHttps)
        );
        let uri: PostLogoutRedirectUrl =
            serde_json::from_str("\"https://app.example.com/bye\"").unwrap();
        assert_eq!(uri.as_str(), "https://app.example.com/bye");
    }

    proptest! {
        #[test]
        fn https_uris_parse_and_round_trip(
            host in "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9]{0,10}){1,3}",
            port in prop::option::of(1u16..),
            path in "(/[A-Za-z0-9._~-]{0,10}){0,4}",
            query in prop::option::of("[A-Za-z0-9=&_-]{0,20}"),
        ) {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            let input = format!("https://{host}{port}{path}{query}");
            let uri = RedirectUrl::parse(&input).unwrap();
            prop_assert_eq!(uri.as_str(), input.as_str());
            let shown = uri.to_string();
            prop_assert_eq!(RedirectUrl::parse(&shown).unwrap(), uri);
        }

        #[test]
        fn a_whitespace_or_control_character_is_refused(
            position in 0usize..25,
            bad in "[\\s\\x00-\\x1f\\x7f]",
        ) {
            let mut input = String::from("https://app.example.com/cb");
            input.insert_str(position, &bad);
            prop_assert!(RedirectUrl::parse(&input).is_err());
        }

        #[test]
        fn whatever_parses_from_arbitrary_text_has_no_fragment(input in any::<String>()) {
            if let Ok(uri) = RedirectUrl::parse(&input) {
                prop_assert!(uri.url().fragment().is_none());
                prop_assert_eq!(uri.as_str(), input.as_str());
            }
        }
    }
}
