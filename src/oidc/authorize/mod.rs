//! The authorization endpoint (RFC 6749 §3.1, OpenID Connect Core §3.1.2)
//! and pushed authorization requests (RFC 9126).
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`params`] | raw parameters, repeats and empty values |
//! | [`request`] | validation against the registered client |
//! | [`response`] | delivery to the client: query or `form_post` |
//! | [`par`] | pushed authorization requests |
//!
//! The flow: validate, then look at the SSO session. Sign-in is asked for
//! when there is none, when `prompt=login`, when it is older than `max_age`,
//! or when `id_token_hint` names someone else; `prompt=none` turns each of
//! those into `login_required` instead. Then consent, unless the client is
//! first-party or the person already agreed to these scopes. Then a code.

pub mod par;
pub mod params;
pub mod request;
pub mod response;

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::response::Response;

use self::params::Params;
use self::request::{AuthorizationRequest, ErrorRedirect, Rejection};
use crate::app::AppState;
use crate::db::clients::ClientRecord;
use crate::login::Session;
use crate::web::page_error::PageError;

/// Handles `/authorize` for GET and POST alike; `from` is the client
/// address, which a new sign-in counts against.
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    from: IpAddr,
    params: Params,
) -> Response {
    let (params, via_par) = match par::resolve(state, params).await {
        Ok(resolved) => resolved,
        Err(rejection) => return reject(state, rejection),
    };
    match request::validate(state, &params, via_par).await {
        Ok((request, client)) => decide(state, headers, from, request, client).await,
        Err(rejection) => reject(state, rejection),
    }
}

fn reject(state: &AppState, rejection: Rejection) -> Response {
    match rejection {
        Rejection::Page(message) => {
            PageError::bad_request(message).into_response_with(&state.templates)
        }
        Rejection::Redirect(error) => response::deliver_error(state, error),
    }
}

/// Sends an OAuth error for `request` back to its client.
pub fn error_to_client(
    state: &AppState,
    request: &AuthorizationRequest,
    error: &'static str,
    description: &str,
) -> Response {
    response::deliver_error(
        state,
        ErrorRedirect {
            redirect_uri: request.redirect_uri.clone(),
            response_mode: request.response_mode,
            state: request.state.clone(),
            error,
            description: description.to_owned(),
        },
    )
}

async fn decide(
    state: &AppState,
    headers: &HeaderMap,
    from: IpAddr,
    request: AuthorizationRequest,
    client: Arc<ClientRecord>,
) -> Response {
    let session = match crate::login::current_session(state, headers).await {
        Ok(session) => session,
        Err(error) => {
            tracing::error!(%error, "session lookup failed");
            return PageError::unavailable().into_response_with(&state.templates);
        }
    };
    let now = state.clock.unix();
    let must_sign_in = match &session {
        None => true,
        Some(s) => {
            request.prompt.login
                || request.prompt.select_account
                || request.max_age.is_some_and(|max| now - s.auth_time > max)
                || request.hint_sub.is_some_and(|sub| sub != s.sub)
        }
    };
    match session {
        Some(session) if !must_sign_in => {
            complete(state, headers, request, &client, &session, false).await
        }
        _ if request.prompt.none => {
            error_to_client(state, &request, "login_required", "the user must sign in")
        }
        _ => crate::login::start(state, request, from).await,
    }
}

/// Finishes an authorization for a signed-in person: consent when needed,
/// then a code. Called by `decide` and by the sign-in and consent pages.
pub async fn complete(
    state: &AppState,
    headers: &HeaderMap,
    request: AuthorizationRequest,
    client: &ClientRecord,
    session: &Session,
    consented_now: bool,
) -> Response {
    if !consented_now {
        match needs_consent(state, &request, client, session).await {
            Ok(false) => {}
            Ok(true) if request.prompt.none => {
                return error_to_client(
                    state,
                    &request,
                    "consent_required",
                    "the user must consent",
                );
            }
            Ok(true) => return crate::login::ask_consent(state, headers, request, client).await,
            Err(error) => {
                tracing::error!(%error, "consent lookup failed");
                return PageError::unavailable().into_response_with(&state.templates);
            }
        }
    }
    match crate::oidc::code::issue(state, &request, session).await {
        Ok(code) => {
            if let Err(error) =
                crate::login::remember_client(state, session, &client.client_id).await
            {
                // Only back-channel logout needs this; the sign-in still succeeds.
                tracing::warn!(%error, "could not record the client in the session");
            }
            let mut params = vec![("code", code)];
            if let Some(s) = &request.state {
                params.push(("state", s.clone()));
            }
            response::deliver(state, &request.redirect_uri, request.response_mode, params)
        }
        Err(error) => {
            tracing::error!(%error, "could not store an authorization code");
            error_to_client(
                state,
                &request,
                "temporarily_unavailable",
                "please try again",
            )
        }
    }
}

async fn needs_consent(
    state: &AppState,
    request: &AuthorizationRequest,
    client: &ClientRecord,
    session: &Session,
) -> Result<bool, crate::db::DbError> {
    if client.first_party {
        return Ok(false);
    }
    if request.prompt.consent {
        return Ok(true);
    }
    let granted = crate::db::consents::find_consent(&state.db, session.sub, &client.client_id)
        .await?
        .unwrap_or_default();
    Ok(!request
        .scope
        .split(' ')
        .all(|s| granted.iter().any(|g| g == s)))
}
