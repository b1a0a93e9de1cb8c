//! The client credentials grant (RFC 6749 §4.4): a confidential client acting
//! on its own behalf. No user, so no ID token and no refresh token
//! (§4.4.3); the access token's `sub` is the client id (RFC 9068 §2.2).

use super::internal;
use crate::app::AppState;
use crate::db::clients::ClientRecord;
use crate::oidc::authorize::params::Params;
use crate::oidc::authorize::request::validate_scope;
use crate::oidc::error::OAuthError;
use crate::oidc::grant::{ClaimsRequest, Grant};
use crate::oidc::tokens::{TokenResponse, respond};

pub async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    if client.auth_method == "none" {
        return Err(OAuthError::unauthorized_client(
            "a public client cannot use client_credentials",
        ));
    }
    let requested = params.get("scope").unwrap_or_default();
    let scope = validate_scope(client, requested).map_err(OAuthError::invalid_scope)?;
    if scope
        .split(' ')
        .any(|s| s == "openid" || s == "offline_access")
    {
        return Err(OAuthError::invalid_scope(
            "openid and offline_access need a user",
        ));
    }
    let grant = Grant {
        sub: None,
        client_id: client.client_id.clone(),
        scope,
        nonce: None,
        auth_time: None,
        acr: None,
        amr: Vec::new(),
        sid: None,
        claims: ClaimsRequest::default(),
    };
    let jti = crate::security::random_token(16);
    respond(state, client, &grant, None, &jti, None, None)
        .await
        .map_err(|e| internal(&e))
}
