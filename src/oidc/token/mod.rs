//! The token endpoint (RFC 6749 §3.2): client authentication, then one
//! module per grant type.
//!
//! | module | grant |
//! | --- | --- |
//! | [`authorization_code`] | `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6) |
//! | [`refresh_token`] | `refresh_token` with rotation and reuse detection (RFC 6749 §6, RFC 9700 §4.14) |
//! | [`client_credentials`] | `client_credentials` (RFC 6749 §4.4) |
//! | [`device_code`] | `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4) |

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::authorize::params::Params;
use super::client_auth::{Audience, Presented};
use super::error::OAuthError;
use crate::app::AppState;
use crate::db::clients::ClientRecord;

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Authenticates the calling client from the request's headers and form,
/// for every endpoint that needs it (token, PAR, introspection, revocation).
pub async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
) -> Result<Arc<ClientRecord>, OAuthError> {
    if let Some(name) = params.duplicated() {
        return Err(OAuthError::invalid_request(format!("{name} is repeated")));
    }
    let presented = Presented {
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        client_id: params.get("client_id"),
        client_secret: params.get("client_secret"),
        client_assertion_type: params.get("client_assertion_type"),
        client_assertion: params.get("client_assertion"),
    };
    let token_endpoint = format!("{}{}", state.config.issuer, super::discovery::paths::TOKEN);
    let endpoint = format!("{}{endpoint}", state.config.issuer);
    let audience = Audience {
        token_endpoint: &token_endpoint,
        issuer: &state.config.issuer,
        endpoint: &endpoint,
    };
    Ok(super::client_auth::authenticate(
        &presented,
        &audience,
        &state.clients,
        &state.db,
        state.store.as_ref(),
        state.clock.as_ref(),
    )
    .await?)
}

/// `POST /token`.
pub async fn token(state: &AppState, headers: &HeaderMap, params: Params) -> Response {
    match exchange(state, headers, &params).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn exchange(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<super::tokens::TokenResponse, OAuthError> {
    let client =
        authenticate_client(state, headers, params, super::discovery::paths::TOKEN).await?;
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    let known = matches!(
        grant_type,
        "authorization_code" | "refresh_token" | "client_credentials" | DEVICE_CODE_GRANT
    );
    if !known {
        return Err(OAuthError::unsupported_grant_type(
            "this grant type is not supported",
        ));
    }
    if !client.grant_types.iter().any(|g| g == grant_type) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use this grant type",
        ));
    }
    match grant_type {
        "authorization_code" => authorization_code::exchange(state, &client, params).await,
        "refresh_token" => refresh_token::exchange(state, &client, params).await,
        "client_credentials" => client_credentials::exchange(state, &client, params).await,
        _ => device_code::exchange(state, &client, params).await,
    }
}

/// The user behind a grant, if the account still exists and is enabled.
pub async fn active_user(
    state: &AppState,
    sub: uuid::Uuid,
) -> Result<Option<crate::db::entity::users::Model>, OAuthError> {
    Ok(state
        .users
        .get(&state.db, state.clock.as_ref(), sub)
        .await
        .map_err(|e| internal(&e))?
        .filter(|u| !u.disabled)
        .map(|u| (*u).clone()))
}

/// A refresh token is issued only when the client may use the refresh grant
/// and the person granted `offline_access`.
pub fn issues_refresh_token(client: &ClientRecord, grant: &super::grant::Grant) -> bool {
    client.grant_types.iter().any(|g| g == "refresh_token") && grant.has_scope("offline_access")
}

/// Logs an internal failure once and answers with a generic error.
pub fn internal(error: &dyn std::fmt::Display) -> OAuthError {
    tracing::error!(%error, "token endpoint failed");
    OAuthError::temporarily_unavailable()
}
