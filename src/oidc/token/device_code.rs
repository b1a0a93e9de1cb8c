//! The device code grant at the token endpoint (RFC 8628 §3.4): polling
//! answers `authorization_pending`, `slow_down`, `access_denied` or
//! `expired_token` until the person approves; then tokens, once.

use super::internal;
use crate::app::AppState;
use crate::db::clients::ClientRecord;
use crate::oidc::authorize::params::Params;
use crate::oidc::error::OAuthError;
use crate::oidc::tokens::{TokenResponse, respond};

pub async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let device_code = params
        .get("device_code")
        .ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
    let grant = crate::oidc::device::redeem(state, &client.client_id, device_code).await?;
    let sub = grant
        .sub
        .ok_or_else(|| OAuthError::invalid_grant("the device code is invalid"))?;
    let user = super::active_user(state, sub)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the account is no longer active"))?;
    let refresh = super::issues_refresh_token(client, &grant);
    let family = refresh.then(crate::oidc::refresh::new_family_id);
    let refresh_token = match family {
        Some(family) => Some(
            super::refresh_token::start_family(state, family, &grant, &user)
                .await
                .map_err(|e| internal(&e))?,
        ),
        None => None,
    };
    let jti = crate::security::random_token(16);
    respond(
        state,
        client,
        &grant,
        Some(&user),
        &jti,
        family,
        refresh_token,
    )
    .await
    .map_err(|e| internal(&e))
}
