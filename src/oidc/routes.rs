use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::discovery::paths;
use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::OPENID_CONFIGURATION, get(discovery))
        .route(paths::OAUTH_AUTHORIZATION_SERVER, get(discovery))
        .route(paths::JWKS, get(jwks))
}

/// Public metadata: cacheable for a few minutes and readable cross-origin,
/// so browser-based relying parties can fetch it.
const PUBLIC_JSON: [(header::HeaderName, &str); 3] = [
    (header::CONTENT_TYPE, "application/json"),
    (header::CACHE_CONTROL, "public, max-age=300"),
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
];

async fn discovery(State(state): State<AppState>) -> Response {
    (PUBLIC_JSON, state.discovery.json()).into_response()
}

async fn jwks(State(state): State<AppState>) -> Response {
    (PUBLIC_JSON, state.keys.jwks_json()).into_response()
}
