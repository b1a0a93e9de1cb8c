//! Security headers on every response, each set only when the handler did not
//! choose its own (discovery and JWKS allow caching; a page whose form ends
//! at a client needs its own Content-Security-Policy).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

const DEFAULTS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    // Nothing is cacheable unless a handler says so: pages carry CSRF tokens
    // and token responses must not be stored (RFC 6749 §5.1).
    ("cache-control", "no-store"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("cross-origin-opener-policy", "same-origin"),
];

/// Lets the forms of `response` lead to `target`'s origin as well as ours.
///
/// CSP `form-action` also governs the redirects that follow a form
/// submission, so a sign-in or consent form whose answer is a redirect to
/// the client needs the client's origin allowed (browsers otherwise block the
/// final hop). Nothing else about the policy changes.
pub fn allow_form_target(response: &mut Response, target: &str) {
    let Some(origin) = url::Url::parse(target)
        .ok()
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
    else {
        return;
    };
    let policy = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
         connect-src 'self'; form-action 'self' {origin}; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in DEFAULTS {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}
