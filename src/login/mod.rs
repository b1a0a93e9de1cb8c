//! Hosted sign-in: identifier first (username, then password), consent, and
//! the single sign-on session.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`session`] | the SSO session and its cookie |
//! | [`transaction`] | a sign-in in progress |
//! | [`credentials`] | password checking, with a dummy hash and attempt limits |
//! | `routes` | the pages |
//!
//! `oidc` hands a validated request to [`start`]; a finished sign-in goes
//! back through [`crate::oidc::authorize::complete`].

pub mod credentials;
mod routes;
pub mod session;
pub mod transaction;

use std::net::IpAddr;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use routes::routes;
pub use session::{Session, current_session, remember_client};

use crate::app::AppState;
use crate::db::clients::ClientRecord;
use crate::oidc::authorize::request::AuthorizationRequest;
use crate::web::page_error::PageError;
use transaction::{LoginTx, Purpose};

/// The window of `session.starts_per_address_per_minute`. Each sign-in
/// keeps a transaction in the store for 15 minutes, so without a bound a
/// stream of `/authorize` requests grows the store as fast as it arrives
/// (100 000 requests held ~60 MiB of the memory store); a browser starts
/// one per sign-in.
const START_WINDOW: Duration = Duration::from_mins(1);

/// Sends the browser to the username page for `request`, unless its
/// address has started too many sign-ins of late: then the client hears
/// `temporarily_unavailable` (RFC 6749 §4.1.2.1) and nothing is stored.
pub async fn start(state: &AppState, request: AuthorizationRequest, from: IpAddr) -> Response {
    match may_start(state, from).await {
        Ok(true) => {}
        Ok(false) => {
            return crate::oidc::authorize::error_to_client(
                state,
                &request,
                "temporarily_unavailable",
                "too many sign-ins were started from this address; try again in a minute",
            );
        }
        Err(error) => {
            tracing::error!(%error, "could not count a sign-in");
            return PageError::unavailable().into_response_with(&state.templates);
        }
    }
    let tx = LoginTx {
        purpose: Purpose::Authorize(Box::new(request)),
        username: None,
    };
    match transaction::create(state, &tx).await {
        Ok(id) => redirect(&format!("/login?tx={id}")),
        Err(error) => {
            tracing::error!(%error, "could not start a sign-in");
            PageError::unavailable().into_response_with(&state.templates)
        }
    }
}

/// Counts a sign-in started from `from`; whether it is within the budget.
async fn may_start(state: &AppState, from: IpAddr) -> Result<bool, crate::store::StoreError> {
    let limit = state.config.session.starts_per_address_per_minute;
    let key = crate::web::client_ip::limit_key("sign_ins_started_from", from);
    let started = state.store.incr(&key, START_WINDOW).await?;
    // Once per address and window: a flood must not become one of log lines.
    if started == limit.saturating_add(1) {
        tracing::warn!(%from, "too many sign-ins started from one address");
    }
    Ok(started <= limit)
}

/// Shows the consent page for a signed-in person.
pub async fn ask_consent(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    request: AuthorizationRequest,
    client: &ClientRecord,
) -> Response {
    let scope = request.scope.clone();
    let redirect_uri = request.redirect_uri.clone();
    let tx = LoginTx {
        purpose: Purpose::Authorize(Box::new(request)),
        username: None,
    };
    match transaction::create(state, &tx).await {
        Ok(id) => routes::consent_page(state, headers, &id, &scope, &redirect_uri, client),
        Err(error) => {
            tracing::error!(%error, "could not store a consent request");
            PageError::unavailable().into_response_with(&state.templates)
        }
    }
}

/// Sends the browser to sign in before approving the device of `user_code`.
pub async fn start_device(state: &AppState, user_code: &str, client_id: &str) -> Response {
    let tx = LoginTx {
        purpose: Purpose::Device {
            user_code: user_code.to_owned(),
            client_id: client_id.to_owned(),
        },
        username: None,
    };
    match transaction::create(state, &tx).await {
        Ok(id) => redirect(&format!("/login?tx={id}")),
        Err(error) => {
            tracing::error!(%error, "could not start a sign-in");
            PageError::unavailable().into_response_with(&state.templates)
        }
    }
}

pub fn redirect(location: &str) -> Response {
    let location =
        HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}
