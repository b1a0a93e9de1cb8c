//! Discovery and JWKS: fixed bytes, and the requests a provider gets most,
//! since every relying party and resource server fetches them.
//!
//! These routes sit outside the shared layers of `AppState::router`: each
//! response is the pre-serialised document with prebuilt headers (the
//! security defaults included) and its request counted through handles
//! resolved once, so answering costs little more than a bare handler.

use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
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

/// The metadata routes. Call after the metrics recorder is installed
/// (`AppState::build` does it).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            paths::OPENID_CONFIGURATION,
            fixed(paths::OPENID_CONFIGURATION, |state| state.discovery.json()),
        )
        .route(
            paths::OAUTH_AUTHORIZATION_SERVER,
            fixed(paths::OAUTH_AUTHORIZATION_SERVER, |state| {
                state.discovery.json()
            }),
        )
        .route(
            paths::JWKS,
            fixed(paths::JWKS, |state| state.keys.jwks_json()),
        )
}

/// GET (and so HEAD) answers `document`; any other method a 405 with the
/// same security headers.
fn fixed(route: &'static str, document: fn(&AppState) -> Bytes) -> MethodRouter<AppState> {
    let metrics = FixedRoute::new(route);
    let refused = metrics.clone();
    get(
        move |State(state): State<AppState>, method: Method| async move {
            let started = Instant::now();
            let response = json(document(&state));
            metrics.record(&method, response.status(), started);
            response
        },
    )
    .fallback(move |method: Method| async move {
        let started = Instant::now();
        let response = method_not_allowed();
        refused.record(&method, response.status(), started);
        response
    })
}

fn json(body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.reserve(PUBLIC_JSON.len() + 6);
    for (name, value) in &PUBLIC_JSON {
        headers.insert(name.clone(), value.clone());
    }
    crate::web::headers::add_missing(headers);
    response
}

fn method_not_allowed() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    let headers = response.headers_mut();
    headers.insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
    crate::web::headers::add_missing(headers);
    response
}
