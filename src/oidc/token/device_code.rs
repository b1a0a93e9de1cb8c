//! The device code grant at the token endpoint (RFC 8628 §3.4): polling
//! answers `authorization_pending`, `slow_down`, `access_denied` or
//! `expired_token` until the person approves; then tokens, once.

use uuid::Uuid;

use super::internal;
use crate::app::AppState;
use crate::db::clients::ClientRecord;
use crate::oidc::authorize::params::Params;
use crate::oidc::error::OAuthError;
use crate::oidc::tokens::{TokenResponse, access_claims, access_token, id_token};

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
    let user = crate::db::users::find_user_by_id(&state.db, sub)
        .await
        .map_err(|e| internal(&e))?
        .filter(|u| !u.disabled)
        .ok_or_else(|| OAuthError::invalid_grant("the account is no longer active"))?;
    let refresh = client.grant_types.iter().any(|g| g == "refresh_token")
        && grant.has_scope("offline_access");
    let family = refresh.then(Uuid::new_v4);
    let jti = crate::security::random_token(16);
    let claims = access_claims(state, &grant, &jti, family);
    let access = access_token(state, client, &claims)
        .await
        .map_err(|e| internal(&e))?;
    let id = if grant.has_scope("openid") {
        Some(id_token(state, client, &grant, &user, Some(&access)).map_err(|e| internal(&e))?)
    } else {
        None
    };
    let refresh_token = match family {
        Some(family) => Some(
            super::refresh_token::start_family(state, family, &grant, &user)
                .await
                .map_err(|e| internal(&e))?,
        ),
        None => None,
    };
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: state.config.tokens.access_token_seconds,
        scope: grant.scope.clone(),
        id_token: id,
        refresh_token,
    })
}
