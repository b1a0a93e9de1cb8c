//! Security headers on every response, each set only when the handler did not
//! choose its own (discovery and JWKS allow caching; a page whose form ends
//! at a client needs its own Content-Security-Policy).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The content security policy of every response but a form whose answer
/// goes to a client (see [`allow_form_target`]).
const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
                      connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const DEFAULTS: [(HeaderName, HeaderValue); 6] = [
    (
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    ),
    (
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    ),
    (
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    ),
    // Nothing is cacheable unless a handler says so: pages carry CSRF tokens
    // and token responses must not be stored (RFC 6749 §5.1).
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
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
    let policy = POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    add_missing(response.headers_mut());
    response
}

/// Sets each default header `headers` lacks. Routes outside the
/// [`security_headers`] layer (the fixed metadata documents) call it
/// themselves.
pub fn add_missing(headers: &mut HeaderMap) {
    for (name, value) in &DEFAULTS {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
}
