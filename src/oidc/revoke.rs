//! Token revocation (RFC 7009). The answer is 200 whether or not the token
//! was known (§2.2), so it tells nothing; only the client a token was issued
//! to can revoke it. Revoking a refresh token revokes its whole family and
//! the access tokens minted from it.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::authorize::params::Params;
use super::error::OAuthError;
use super::token::{authenticate_client, internal};
use crate::app::AppState;

pub async fn revoke(state: &AppState, headers: &HeaderMap, params: Params) -> Response {
    let result = async {
        let client =
            authenticate_client(state, headers, &params, super::discovery::paths::REVOKE).await?;
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        revoke_token(state, &client.client_id, token).await
    }
    .await;
    match result {
        Ok(()) => {
            let mut response = axum::http::StatusCode::OK.into_response();
            super::tokens::no_store(&mut response);
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn revoke_token(state: &AppState, client_id: &str, token: &str) -> Result<(), OAuthError> {
    let hash = super::refresh::hash(token);
    if let Some(super::refresh::Found { family, .. }) = super::refresh::find(state, &hash)
        .await
        .map_err(|e| internal(&e))?
    {
        if family.client_id == client_id {
            super::access_token::revoke_family(state, family.id)
                .await
                .map_err(|e| internal(&e))?;
        }
        return Ok(());
    }
    if let Some(claims) = super::access_token::validate(state, token)
        .await
        .map_err(|e| internal(&e))?
        && claims.client_id == client_id
    {
        super::access_token::revoke_jti(state, &claims.jti)
            .await
            .map_err(|e| internal(&e))?;
        if token.split('.').count() != 3 {
            super::access_token::delete_opaque(state, token)
                .await
                .map_err(|e| internal(&e))?;
        }
    }
    Ok(())
}
