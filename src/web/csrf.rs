//! Cross-site request forgery protection for the hosted forms: the
//! double-submit cookie of the OWASP CSRF Prevention Cheat Sheet.
//!
//! 1. [`ensure`] reads the browser's token from its cookie, or makes a new
//!    random 256-bit one and the `Set-Cookie` that stores it.
//! 2. The page puts the same token in every form's hidden `csrf` field.
//! 3. [`verify`] accepts a POST only when the cookie and the field are both
//!    present and equal (compared in constant time).
//!
//! Decisions:
//! - A forged cross-site POST cannot read or set our cookie, so it cannot
//!   know the value to put in the field. `SameSite=Strict` adds a second wall
//!   in browsers that honour it; `HttpOnly` keeps scripts away from it.
//! - With an https issuer the cookie is `__Host-gatehouse_csrf` (`Secure`,
//!   `Path=/`, no `Domain`): the prefix stops a sibling sub-domain or a
//!   network attacker from planting a token of their choice ("cookie
//!   tossing"). That is why [`verify`] must be told `secure` too: in that
//!   mode it never falls back to the plain-named cookie, which anyone on the
//!   parent domain could have set. Plain `gatehouse_csrf` is only for an http
//!   issuer on localhost (development and tests).
//! - A session cookie (no `Max-Age`): a form left open past the browser
//!   session answers "This form has expired", which is what it says.
//! - Cookies are read with [`super::cookies`]; a cookie value that is not
//!   shaped like our token is ignored, so a broken cookie is replaced instead
//!   of failing every form.

use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt as _;
use subtle::ConstantTimeEq as _;

/// The name of the hidden form field that carries the token.
pub const FIELD: &str = "csrf";

const SECURE_COOKIE: &str = "__Host-gatehouse_csrf";
const PLAIN_COOKIE: &str = "gatehouse_csrf";
const TOKEN_BYTES: usize = 32;
/// Length of [`TOKEN_BYTES`] in unpadded base64url.
const TOKEN_CHARS: usize = 43;

#[derive(Debug, thiserror::Error)]
pub enum CsrfError {
    /// No token cookie: a new browser session, cookies blocked, or a forged
    /// request.
    #[error("This form has expired. Please go back and try again.")]
    MissingCookie,
    #[error("This form has expired. Please go back and try again.")]
    MissingField,
    /// Both present but different: an older page, or a forged request.
    #[error("This form has expired. Please go back and try again.")]
    Mismatch,
}

/// The cookie name for an https (`secure`) or http issuer.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { PLAIN_COOKIE }
}

/// The browser's token, and the `Set-Cookie` to add to the response when the
/// token is new (`None` when the browser already holds a valid one).
pub fn ensure(headers: &HeaderMap, secure: bool) -> (String, Option<HeaderValue>) {
    if let Some(token) = cookie_token(headers, secure) {
        return (token.to_owned(), None);
    }
    let token = new_token();
    let set_cookie = super::cookies::set(cookie_name(secure), &token, "Strict", secure, None);
    (token, Some(set_cookie))
}

/// Checks a form POST: the token cookie and the `csrf` field must match.
pub fn verify(
    headers: &HeaderMap,
    secure: bool,
    form_token: Option<&str>,
) -> Result<(), CsrfError> {
    let cookie = cookie_token(headers, secure).ok_or(CsrfError::MissingCookie)?;
    let field = form_token
        .filter(|token| !token.is_empty())
        .ok_or(CsrfError::MissingField)?;
    if bool::from(cookie.as_bytes().ct_eq(field.as_bytes())) {
        Ok(())
    } else {
        Err(CsrfError::Mismatch)
    }
}

/// Adds the `Set-Cookie` returned by [`ensure`], if any, to a response.
pub fn attach(response: &mut Response, set_cookie: Option<HeaderValue>) {
    if let Some(value) = set_cookie {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

fn new_token() -> String {
    let bytes: [u8; TOKEN_BYTES] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The first well-formed token cookie of the right name, if any.
fn cookie_token(headers: &HeaderMap, secure: bool) -> Option<&str> {
    super::cookies::get_all(headers, cookie_name(secure)).find(|value| is_well_formed(value))
}

fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::COOKIE;
    use proptest::prelude::*;

    fn with_cookie(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    fn new_browser(secure: bool) -> (String, String) {
        let (token, set_cookie) = ensure(&HeaderMap::new(), secure);
        let set_cookie = set_cookie.expect("a new browser gets a cookie");
        (token, set_cookie.to_str().unwrap().to_owned())
    }

    #[test]
    fn a_new_browser_on_http_gets_a_plain_http_only_strict_session_cookie() {
        let (token, set_cookie) = new_browser(false);
        assert!(is_well_formed(&token), "{token}");
        assert!(
            set_cookie.starts_with(&format!("gatehouse_csrf={token};")),
            "{set_cookie}"
        );
        assert!(set_cookie.contains("; HttpOnly"));
        assert!(set_cookie.contains("; SameSite=Strict"));
        assert!(set_cookie.contains("; Path=/"));
        assert!(!set_cookie.contains("Secure"));
        assert!(!set_cookie.contains("__Host-"));
        assert!(!set_cookie.contains("Max-Age") && !set_cookie.contains("Expires"));
    }

    #[test]
    fn a_new_browser_on_https_gets_a_secure_host_prefixed_cookie() {
        let (token, set_cookie) = new_browser(true);
        assert!(
            set_cookie.starts_with(&format!("__Host-gatehouse_csrf={token};")),
            "{set_cookie}"
        );
        assert!(set_cookie.contains("; Secure"));
        assert!(set_cookie.contains("; HttpOnly"));
        assert!(set_cookie.contains("; SameSite=Strict"));
        assert!(set_cookie.contains("; Path=/"));
        assert!(!set_cookie.contains("Domain"), "__Host- forbids Domain");
    }

    #[test]
    fn every_new_browser_gets_a_different_256_bit_token() {
        let (first, _) = new_browser(false);
        let (second, _) = new_browser(false);
        assert_ne!(first, second);
        assert_eq!(URL_SAFE_NO_PAD.decode(&first).unwrap().len(), 32);
    }

    #[test]
    fn a_returning_browser_gets_its_token_back_and_no_cookie() {
        let (token, _) = new_browser(false);
        let headers = with_cookie(&format!("theme=dark; gatehouse_csrf={token}; lang=en"));
        assert_eq!(ensure(&headers, false), (token, None));
    }

    #[test]
    fn a_returning_browser_on_https_gets_its_token_back() {
        let (token, _) = new_browser(true);
        let headers = with_cookie(&format!("__Host-gatehouse_csrf={token}"));
        assert_eq!(ensure(&headers, true), (token.clone(), None));
        assert!(verify(&headers, true, Some(&token)).is_ok());
    }

    #[test]
    fn a_plain_cookie_is_not_trusted_when_the_issuer_is_https() {
        let (tossed, _) = new_browser(false);
        let headers = with_cookie(&format!("gatehouse_csrf={tossed}"));
        let (token, set_cookie) = ensure(&headers, true);
        assert_ne!(token, tossed);
        assert!(set_cookie.is_some());
        assert!(matches!(
            verify(&headers, true, Some(&tossed)),
            Err(CsrfError::MissingCookie)
        ));
    }

    #[test]
    fn verify_accepts_a_field_equal_to_the_cookie() {
        let (token, _) = new_browser(false);
        let headers = with_cookie(&format!("gatehouse_csrf={token}"));
        assert!(verify(&headers, false, Some(&token)).is_ok());
    }

    #[test]
    fn verify_rejects_a_missing_cookie() {
        let (token, _) = new_browser(false);
        assert!(matches!(
            verify(&HeaderMap::new(), false, Some(&token)),
            Err(CsrfError::MissingCookie)
        ));
    }

    #[test]
    fn verify_rejects_a_missing_or_empty_field() {
        let (token, _) = new_browser(false);
        let headers = with_cookie(&format!("gatehouse_csrf={token}"));
        assert!(matches!(
            verify(&headers, false, None),
            Err(CsrfError::MissingField)
        ));
        assert!(matches!(
            verify(&headers, false, Some("")),
            Err(CsrfError::MissingField)
        ));
    }

    #[test]
    fn verify_rejects_a_different_value() {
        let (token, _) = new_browser(false);
        let (other, _) = new_browser(false);
        let headers = with_cookie(&format!("gatehouse_csrf={token}"));
        assert!(matches!(
            verify(&headers, false, Some(&other)),
            Err(CsrfError::Mismatch)
        ));
        assert!(matches!(
            verify(&headers, false, Some(&token[..40])),
            Err(CsrfError::Mismatch)
        ));
    }

    #[test]
    fn the_error_tells_a_person_what_to_do() {
        for err in [
            CsrfError::MissingCookie,
            CsrfError::MissingField,
            CsrfError::Mismatch,
        ] {
            assert_eq!(
                err.to_string(),
                "This form has expired. Please go back and try again."
            );
        }
    }

    #[test]
    fn cookie_parsing_skips_malformed_pairs_and_headers() {
        let (token, _) = new_browser(false);
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_bytes(b"gatehouse_csrf=\xff\xfe").unwrap(),
        );
        headers.append(
            COOKIE,
            HeaderValue::from_static(";;; = ;novalue; gatehouse_csrf"),
        );
        headers.append(
            COOKIE,
            HeaderValue::from_static("gatehouse_csrf=short; gatehouse_csrf="),
        );
        headers.append(
            COOKIE,
            HeaderValue::from_str(&format!("x=1;gatehouse_csrf = {token} ;y")).unwrap(),
        );
        assert_eq!(ensure(&headers, false), (token, None));
    }

    #[test]
    fn a_broken_token_cookie_is_replaced() {
        let headers = with_cookie("gatehouse_csrf=<script>");
        let (token, set_cookie) = ensure(&headers, false);
        assert!(is_well_formed(&token));
        assert!(set_cookie.is_some());
        assert!(matches!(
            verify(&headers, false, Some("<script>")),
            Err(CsrfError::MissingCookie)
        ));
    }

    #[test]
    fn a_cookie_with_a_longer_name_does_not_match() {
        let (token, _) = new_browser(false);
        let headers = with_cookie(&format!(
            "xgatehouse_csrf={token}; gatehouse_csrf_old={token}"
        ));
        assert!(ensure(&headers, false).1.is_some());
    }

    #[test]
    fn attach_adds_the_cookie_only_when_there_is_one() {
        let mut response = Response::new(axum::body::Body::empty());
        attach(&mut response, None);
        assert!(response.headers().get(SET_COOKIE).is_none());
        let (_, set_cookie) = ensure(&HeaderMap::new(), false);
        attach(&mut response, set_cookie.clone());
        assert_eq!(response.headers().get(SET_COOKIE), set_cookie.as_ref());
    }

    proptest! {
        #[test]
        fn cookie_parsing_never_panics_on_any_header(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                let mut headers = HeaderMap::new();
                headers.insert(COOKIE, value);
                let (token, _) = ensure(&headers, false);
                prop_assert!(is_well_formed(&token));
                prop_assert!(verify(&headers, true, Some("x")).is_err());
            }
        }
    }
}
