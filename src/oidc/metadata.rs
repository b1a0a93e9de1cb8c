//! Discovery and JWKS: fixed bytes, and the requests a provider gets most,
//! since every relying party and resource server fetches them.
//!
//! These routes sit outside the shared layers of `AppState::router`: each
//! response is the pre-serialised document with headers built once (the
//! security defaults included), and its request is counted through a handle
//! resolved once, so answering costs little more than a bare handler. They
//! record no duration: handing out fixed bytes takes a constant few
//! nanoseconds, and reading the clock twice would cost more than that.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{MethodRouter, get};

use super::discovery::paths;
use crate::app::AppState;
use crate::ops::FixedRoute;

/// Public metadata: cacheable for a few minutes and readable cross-origin,
/// so browser-based relying parties can fetch it.
const PUBLIC_JSON: [(HeaderName, HeaderValue); 3] = [
    (
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    ),
    (
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    ),
    (
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    ),
];

/// The metadata routes of `state`. Call after the metrics recorder is
/// installed (`AppState::build` does it).
pub fn routes(state: &AppState) -> Router<AppState> {
    let discovery = state.discovery.json();
    let keys = state.keys.clone();
    Router::new()
        .route(
            paths::OPENID_CONFIGURATION,
            fixed(paths::OPENID_CONFIGURATION, {
                let discovery = discovery.clone();
                move || discovery.clone()
            }),
        )
        .route(
            paths::OAUTH_AUTHORIZATION_SERVER,
            fixed(paths::OAUTH_AUTHORIZATION_SERVER, move || discovery.clone()),
        )
        .route(paths::JWKS, fixed(paths::JWKS, move || keys.jwks_json()))
}

/// What one metadata route answers with.
struct Fixed<F> {
    document: F,
    headers: HeaderMap,
    metrics: FixedRoute,
}

/// GET (and so HEAD) answers `document()`; any other method a 405 with the
/// same security headers. The handler holds one `Arc` (axum clones a handler
/// per request) and needs no `AppState`.
fn fixed<F>(route: &'static str, document: F) -> MethodRouter<AppState>
where
    F: Fn() -> Bytes + Send + Sync + 'static,
{
    let fixed = Arc::new(Fixed {
        document,
        headers: json_headers(),
        metrics: FixedRoute::new(route),
    });
    let refused = Arc::clone(&fixed);
    get(move |method: Method| async move {
        let mut response = Response::new(Body::from((fixed.document)()));
        *response.headers_mut() = fixed.headers.clone();
        fixed.metrics.record(&method, StatusCode::OK);
        response
    })
    .fallback(move |method: Method| async move {
        let response = method_not_allowed();
        refused.metrics.record(&method, response.status());
        response
    })
}

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(PUBLIC_JSON.len() + 6);
    for (name, value) in &PUBLIC_JSON {
        headers.insert(name.clone(), value.clone());
    }
    crate::web::headers::add_missing(&mut headers);
    headers
}

fn method_not_allowed() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    let headers = response.headers_mut();
    headers.insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
    crate::web::headers::add_missing(headers);
    response
}
