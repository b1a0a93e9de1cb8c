//! The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
//!
//! 1. The code is taken once; a replay revokes what it minted.
//! 2. It must belong to this client, be unexpired, name the same
//!    redirect URI, and match the PKCE verifier (a verifier without a
//!    challenge is refused too: RFC 9700 §4.8.2, downgrade).
//! 3. Then an access token, an ID token for `openid`, and a refresh token
//!    when the client may refresh and `offline_access` was granted.

use super::internal;
use crate::app::AppState;
use crate::db::clients::ClientRecord;
use crate::oidc::access_token::{revoke_family, revoke_jti};
use crate::oidc::authorize::params::Params;
use crate::oidc::code::{Redemption, pkce_matches, redeem};
use crate::oidc::error::OAuthError;
use crate::oidc::tokens::{TokenResponse, respond};

pub async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let record = match redeem(state, code).await.map_err(|e| internal(&e))? {
        Redemption::Valid(record) => record,
        Redemption::Unknown => {
            return Err(OAuthError::invalid_grant("the code is invalid or expired"));
        }
        Redemption::Replayed(spent) => {
            tracing::warn!(client_id = %client.client_id, "authorization code replayed; revoking its tokens");
            revoke_jti(state, &spent.access_jti)
                .await
                .map_err(|e| internal(&e))?;
            revoke_family(state, spent.family_id)
                .await
                .map_err(|e| internal(&e))?;
            crate::security::audit::record_or_warn(
                state,
                crate::security::audit::AuditEvent {
                    kind: "authorization_code.replayed",
                    actor: "system",
                    user_id: None,
                    org_id: None,
                    client_id: Some(&client.client_id),
                    ip: None,
                    detail: serde_json::json!({ "action": "tokens revoked" }),
                },
            )
            .await;
            return Err(OAuthError::invalid_grant("the code was already used"));
        }
    };
    if record.grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if record.expires_at < state.clock.unix() {
        return Err(OAuthError::invalid_grant("the code is invalid or expired"));
    }
    if params.get("redirect_uri") != Some(record.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&record.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) if pkce_matches(challenge, verifier) => {}
        (Some(_), _) => return Err(OAuthError::invalid_grant("code_verifier does not match")),
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "no code_challenge was sent for this code",
            ));
        }
        (None, None) => {}
    }
    let Some(sub) = record.grant.sub else {
        return Err(OAuthError::invalid_grant("the code is invalid or expired"));
    };
    let user = super::active_user(state, sub)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the account is no longer active"))?;

    let grant = &record.grant;
    let refresh = super::issues_refresh_token(client, grant);
    let family = refresh.then_some(record.family_id);
    let refresh_token = if refresh {
        Some(
            super::refresh_token::start_family(state, record.family_id, grant, &user)
                .await
                .map_err(|e| internal(&e))?,
        )
    } else {
        None
    };
    respond(
        state,
        client,
        grant,
        Some(&user),
        &record.access_jti,
        family,
        refresh_token,
    )
    .await
    .map_err(|e| internal(&e))
}
