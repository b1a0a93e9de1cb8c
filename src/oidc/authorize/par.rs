//! Pushed authorization requests (RFC 9126): the client posts the request
//! parameters to `/par` over an authenticated back channel, gets a
//! short-lived single-use `request_uri`, and sends only that (with its
//! `client_id`) through the browser.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::params::Params;
use super::request::Rejection;
use crate::app::AppState;
use crate::oidc::error::OAuthError;

pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// RFC 9126 §2.2 suggests a short life: long enough to redirect the browser.
pub const LIFETIME: Duration = Duration::from_secs(90);

#[derive(Serialize, Deserialize)]
struct Pushed {
    client_id: String,
    params: Params,
}

fn key(id: &str) -> String {
    format!("par:{}", crate::security::sha256_b64url(id.as_bytes()))
}

/// Checks and stores a pushed request from an authenticated client; returns
/// the `request_uri`. Errors are JSON for the client (RFC 9126 §2.3).
pub async fn push(state: &AppState, client_id: &str, params: Params) -> Result<String, OAuthError> {
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request("request_uri cannot be pushed"));
    }
    if params.get("client_id").is_some_and(|c| c != client_id) {
        return Err(OAuthError::invalid_request(
            "client_id does not match the authenticated client",
        ));
    }
    let mut pairs: Vec<(String, String)> = params
        .pairs()
        .iter()
        .filter(|(k, _)| !is_client_authentication(k))
        .cloned()
        .collect();
    if params.get("client_id").is_none() {
        pairs.push(("client_id".into(), client_id.to_owned()));
    }
    let params = Params::from_pairs(pairs);
    // Validate now, so the client learns of mistakes on the back channel.
    if let Err(rejection) = super::request::validate(state, &params, true).await {
        return Err(match rejection {
            Rejection::Page(message) => OAuthError::invalid_request(message),
            Rejection::Redirect(e) => OAuthError {
                code: e.error,
                ..OAuthError::invalid_request(e.description)
            },
        });
    }
    let id = crate::security::random_token(32);
    let pushed = Pushed {
        client_id: client_id.to_owned(),
        params,
    };
    crate::store::put_json(state.store.as_ref(), &key(&id), &pushed, LIFETIME)
        .await
        .map_err(|error| {
            tracing::error!(%error, "could not store a pushed request");
            OAuthError::temporarily_unavailable()
        })?;
    Ok(format!("{REQUEST_URI_PREFIX}{id}"))
}

fn is_client_authentication(name: &str) -> bool {
    matches!(
        name,
        "client_secret" | "client_assertion" | "client_assertion_type"
    )
}

/// At `/authorize`: swaps a `request_uri` for the parameters it stands for
/// (taken once), or passes the parameters through. Returns whether they came
/// from a pushed request.
pub async fn resolve(state: &AppState, params: Params) -> Result<(Params, bool), Rejection> {
    let Some(request_uri) = params.get("request_uri") else {
        return Ok((params, false));
    };
    let gone = || {
        Rejection::Page(
            "This sign-in link has expired or was already used. Please start again from the application."
                .to_owned(),
        )
    };
    let Some(id) = request_uri.strip_prefix(REQUEST_URI_PREFIX) else {
        // Not one of ours: a request object by reference, refused in validation.
        return Ok((params, false));
    };
    let pushed: Pushed = crate::store::take_json(state.store.as_ref(), &key(id))
        .await
        .map_err(|error| {
            tracing::error!(%error, "could not read a pushed request");
            gone()
        })?
        .ok_or_else(gone)?;
    // RFC 9126 §4: client_id must be sent and must match the pushed request.
    if params.get("client_id") != Some(pushed.client_id.as_str()) {
        return Err(gone());
    }
    Ok((pushed.params, true))
}
