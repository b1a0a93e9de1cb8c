//! Delivering an authorization response to the client: in the redirect URI's
//! query (RFC 6749 §4.1.2) or as an auto-submitted form (OAuth 2.0 Form Post
//! Response Mode). Every response carries `iss` (RFC 9207).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::request::{ErrorRedirect, ResponseMode};
use crate::app::AppState;

/// Sends `params` (plus `iss`) to `redirect_uri` the way `mode` says.
pub fn deliver(
    state: &AppState,
    redirect_uri: &str,
    mode: ResponseMode,
    mut params: Vec<(&'static str, String)>,
) -> Response {
    params.push(("iss", state.config.issuer.clone()));
    match mode {
        ResponseMode::Query => {
            let Ok(mut url) = url::Url::parse(redirect_uri) else {
                // Registered URIs are parsed at registration; this cannot happen.
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            {
                // Appends, keeping the registered URI's own query (RFC 6749 §3.1.2).
                let mut query = url.query_pairs_mut();
                for (name, value) in &params {
                    query.append_pair(name, value);
                }
            }
            let location = HeaderValue::from_str(url.as_str())
                .unwrap_or_else(|_| HeaderValue::from_static("/"));
            (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
        }
        ResponseMode::FormPost => {
            let fields: Vec<[String; 2]> =
                params.into_iter().map(|(k, v)| [k.to_owned(), v]).collect();
            let mut response = state.templates.page(
                "form_post.html",
                minijinja::context! { action => redirect_uri, fields => fields },
            );
            // The form posts to the client: allow that target.
            crate::web::headers::allow_form_target(&mut response, redirect_uri);
            response
        }
    }
}

/// Sends an error back to the client.
pub fn deliver_error(state: &AppState, e: ErrorRedirect) -> Response {
    let mut params = vec![
        ("error", e.error.to_owned()),
        (
            "error_description",
            crate::oidc::error::sanitize(&e.description),
        ),
    ];
    if let Some(s) = e.state {
        params.push(("state", s));
    }
    deliver(state, &e.redirect_uri, e.response_mode, params)
}
