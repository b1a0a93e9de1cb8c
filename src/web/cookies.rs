//! Reading and writing the provider's cookies.
//!
//! On an https issuer every cookie gets `Secure` and the `__Host-` prefix
//! (bound to this host, path `/`, no `Domain`): a sibling subdomain cannot
//! plant or overwrite it.

use std::fmt::Write as _;

use axum::http::{HeaderMap, HeaderValue, header};

/// The value of cookie `name` in the request, if any. Malformed pairs are skipped.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    get_all(headers, name).next()
}

/// Every value of cookie `name`, in order (RFC 6265 §4.2.1: `name=value`
/// pairs separated by `;`; HTTP/2 may split them over several header fields).
pub fn get_all<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
}

/// The cookie name to use: `__Host-` prefixed when `secure`.
pub fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// A `Set-Cookie` value: `HttpOnly`, `Path=/`, the given `SameSite`, `Secure` when
/// `secure`; a session cookie unless `max_age` is given (0 deletes it).
pub fn set(
    name: &str,
    value: &str,
    same_site: &str,
    secure: bool,
    max_age: Option<i64>,
) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(age) = max_age {
        let _ = write!(cookie, "; Max-Age={age}");
    }
    HeaderValue::from_str(&cookie)
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_several_and_skips_garbage() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; junk; b=two"));
        headers.append(header::COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(get(&headers, "b"), Some("two"));
        assert_eq!(get(&headers, "c"), Some("3"));
        assert_eq!(get(&headers, "junk"), None);
        assert_eq!(get(&headers, "zz"), None);
    }

    #[test]
    fn secure_cookies_get_the_host_prefix_and_secure_flag() {
        assert_eq!(name("s", true), "__Host-s");
        let v = set("__Host-s", "x", "Lax", true, Some(0));
        let v = v.to_str().unwrap();
        assert!(
            v.contains("Secure") && v.contains("HttpOnly") && v.contains("Max-Age=0"),
            "{v}"
        );
    }
}
