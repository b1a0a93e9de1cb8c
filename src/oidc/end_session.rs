//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! 1. An `id_token_hint` we issued (expired is fine) identifies the client and
//!    the person; `client_id`, when also given, must agree.
//! 2. `post_logout_redirect_uri` is followed only when it is registered, by
//!    exact match, for that client; otherwise the person stays on our pages.
//! 3. Without a valid hint nobody can tell who asked, so the person confirms
//!    on a page first (§2: protects against logout CSRF).
//! 4. Logging out ends the SSO session and tells each client of it that
//!    registered for back-channel logout.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::authorize::params::Params;
use super::discovery::paths;
use crate::app::AppState;
use crate::web::page_error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        paths::END_SESSION,
        get(end_session_get).post(end_session_post),
    )
}

async fn end_session_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let params = Params::parse(q.as_deref().unwrap_or_default());
    request(&state, &headers, &params, false).await
}

/// A POST is either an RP sending its request as a form, or the person
/// confirming on our page (then the CSRF token must match).
async fn end_session_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(params) = super::routes::form_params(&headers, &body) else {
        return PageError::bad_request("The sign-out request could not be read.")
            .into_response_with(&state.templates);
    };
    let confirmed = params.get("confirm").is_some();
    if confirmed
        && crate::web::csrf::verify(
            &headers,
            state.config.issuer.starts_with("https://"),
            params.get("csrf"),
        )
        .is_err()
    {
        return PageError::bad_request("This form has expired. Please go back and try again.")
            .into_response_with(&state.templates);
    }
    request(&state, &headers, &params, confirmed).await
}

struct Hint {
    client_id: String,
}

async fn request(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    confirmed: bool,
) -> Response {
    let bad = |message: &str| {
        PageError::bad_request(message.to_owned()).into_response_with(&state.templates)
    };
    if params.duplicated().is_some() {
        return bad("The sign-out request repeats a parameter.");
    }
    let hint = match params.get("id_token_hint") {
        Some(token) => match read_hint(state, token) {
            Some(hint) => Some(hint),
            None => return bad("The sign-out request carries a token that was not issued here."),
        },
        None => None,
    };
    let client_id = match (&hint, params.get("client_id")) {
        (Some(h), Some(c)) if h.client_id != c => {
            return bad("The sign-out request names two different applications.");
        }
        (Some(h), _) => Some(h.client_id.clone()),
        (None, c) => c.map(str::to_owned),
    };
    let redirect = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let registered = match &client_id {
                Some(id) => state
                    .clients
                    .get(&state.db, state.clock.as_ref(), id)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri)),
                None => false,
            };
            match (registered, &hint) {
                (true, _) => Some(uri.to_owned()),
                (false, Some(_)) => {
                    return bad(
                        "The application asked to send you to an address it has not registered.",
                    );
                }
                // Nobody identified: confirm on our page and stay here afterwards.
                (false, None) => None,
            }
        }
    };
    if hint.is_none() && !confirmed {
        return confirm_page(state, headers, params, redirect.as_deref());
    }
    let (ended, clear_cookie) = match crate::login::session::end(state, headers).await {
        Ok(done) => done,
        Err(error) => {
            tracing::error!(%error, "could not end a session");
            return PageError::unavailable().into_response_with(&state.templates);
        }
    };
    if let Some(session) = ended {
        crate::security::audit::record_or_warn(
            state,
            crate::security::audit::AuditEvent {
                kind: "logout",
                actor: &format!("user:{}", session.sub),
                user_id: Some(session.sub),
                org_id: None,
                client_id: client_id.as_deref(),
                ip: None,
                detail: serde_json::json!({ "clients": session.clients }),
            },
        )
        .await;
        super::backchannel::notify(state, &session).await;
    }
    let mut response = match redirect {
        Some(uri) => redirect_back(&uri, params.get("state")),
        None => state
            .templates
            .page("logout/done.html", minijinja::context! {}),
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie);
    response
}

fn confirm_page(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    redirect: Option<&str>,
) -> Response {
    let secure = state.config.issuer.starts_with("https://");
    let (csrf, set_cookie) = crate::web::csrf::ensure(headers, secure);
    let mut response = state.templates.page(
        "logout/confirm.html",
        minijinja::context! {
            csrf => csrf,
            state => params.get("state"),
            post_logout_redirect_uri => redirect,
            client_id => params.get("client_id"),
        },
    );
    if let Some(cookie) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    if let Some(target) = redirect {
        crate::web::headers::allow_form_target(&mut response, target);
    }
    response
}

fn redirect_back(uri: &str, state: Option<&str>) -> Response {
    let Ok(mut url) = url::Url::parse(uri) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if let Some(s) = state {
        url.query_pairs_mut().append_pair("state", s);
    }
    let location =
        HeaderValue::from_str(url.as_str()).unwrap_or_else(|_| HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// An ID token we issued, by signature and issuer; expiry is not checked.
fn read_hint(state: &AppState, token: &str) -> Option<Hint> {
    let claims = state.keys.verify(token).ok()?;
    if claims.get("iss")?.as_str()? != state.config.issuer {
        return None;
    }
    // Access tokens are signed by the same keys: only ID tokens qualify.
    if claims.contains_key("client_id") || claims.contains_key("scope") {
        return None;
    }
    let client_id = match claims.get("aud")? {
        serde_json::Value::String(aud) => aud.clone(),
        serde_json::Value::Array(auds) => auds.first()?.as_str()?.to_owned(),
        _ => return None,
    };
    Some(Hint { client_id })
}
