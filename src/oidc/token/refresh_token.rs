//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2).
//!
//! Every use spends the presented token and returns a new one of the same
//! family. Presenting a spent token means it was copied: the whole family
//! is revoked, with the access tokens minted from it. Spending is one atomic
//! store operation, so two instances racing on one token cannot both win
//! (see [`crate::oidc::refresh`]).

use uuid::Uuid;

use super::internal;
use crate::app::AppState;
use crate::db::clients::ClientRecord;
use crate::db::entity::users::Model as User;
use crate::db::refresh_tokens::{NewFamily, RotateOutcome};
use crate::oidc::access_token::revoke_family;
use crate::oidc::authorize::params::Params;
use crate::oidc::error::OAuthError;
use crate::oidc::grant::{ClaimsRequest, Grant};
use crate::oidc::refresh::{self, RefreshStoreError};
use crate::oidc::tokens::{TokenResponse, respond, secs};

/// Records a new family for `grant` and returns its first refresh token.
pub async fn start_family(
    state: &AppState,
    family_id: Uuid,
    grant: &Grant,
    user: &User,
) -> Result<String, RefreshStoreError> {
    let now = state.clock.unix();
    refresh::start_family(
        state,
        NewFamily {
            id: family_id,
            client_id: grant.client_id.clone(),
            user_id: Some(user.id),
            scope: grant.scope.clone(),
            sid: grant.sid.clone(),
            auth_time: grant.auth_time.unwrap_or(now),
            acr: grant.acr.clone(),
            amr: grant.amr.clone(),
            created_at: now,
            expires_at: now + secs(state.config.tokens.refresh_token_seconds),
        },
    )
    .await
}

pub async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let presented = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let presented_hash = refresh::hash(presented);
    let found = refresh::find(state, &presented_hash)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(invalid)?;
    let family = &found.family;
    // Bound to its client; another client's attempt reveals nothing and revokes nothing.
    if family.client_id != client.client_id {
        return Err(invalid());
    }
    let now = state.clock.unix();
    if family.revoked_at.is_some() || family.expires_at <= now {
        return Err(invalid());
    }
    if found.is_spent() {
        return Err(reuse(state, family.id).await);
    }
    let scope = narrowed_scope(&family.scope, params.get("scope"))?;
    let user_id = family.user_id.ok_or_else(invalid)?;
    let user = super::active_user(state, user_id)
        .await?
        .ok_or_else(invalid)?;

    let next = refresh::new_token(state.clock.as_ref());
    match refresh::rotate(state, &found, &presented_hash, &refresh::hash(&next))
        .await
        .map_err(|e| internal(&e))?
    {
        RotateOutcome::Rotated => {}
        RotateOutcome::AlreadySpent => return Err(reuse(state, family.id).await),
        RotateOutcome::Unknown => return Err(invalid()),
    }
    let grant = Grant {
        sub: Some(user.id),
        client_id: client.client_id.clone(),
        scope,
        nonce: None,
        auth_time: Some(family.auth_time),
        acr: family.acr.clone(),
        amr: family.amr.clone(),
        sid: family.sid.clone(),
        claims: ClaimsRequest::default(),
    };
    let jti = crate::security::random_token(16);
    respond(
        state,
        client,
        &grant,
        Some(&user),
        &jti,
        Some(family.id),
        Some(next),
    )
    .await
    .map_err(|e| internal(&e))
}

async fn reuse(state: &AppState, family: Uuid) -> OAuthError {
    tracing::warn!(%family, "spent refresh token presented again; revoking its family");
    if let Err(error) = revoke_family(state, family).await {
        return internal(&error);
    }
    crate::security::audit::record_or_warn(
        state,
        crate::security::audit::AuditEvent {
            kind: "refresh_token.reused",
            actor: "system",
            user_id: None,
            org_id: None,
            client_id: None,
            ip: None,
            detail: serde_json::json!({ "family": family, "action": "family revoked" }),
        },
    )
    .await;
    OAuthError::invalid_grant("the refresh token was already used; the grant is revoked")
}

/// RFC 6749 §6: the scope may be narrowed, never widened; absent = the original.
fn narrowed_scope(granted: &str, requested: Option<&str>) -> Result<String, OAuthError> {
    let Some(requested) = requested else {
        return Ok(granted.to_owned());
    };
    let mut out: Vec<&str> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !granted.split(' ').any(|g| g == scope) {
            return Err(OAuthError::invalid_scope(format!(
                "{scope} was not granted"
            )));
        }
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    Ok(out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_can_narrow_but_not_widen() {
        assert_eq!(
            narrowed_scope("openid email", None).unwrap(),
            "openid email"
        );
        assert_eq!(
            narrowed_scope("openid email", Some("email")).unwrap(),
            "email"
        );
        assert_eq!(
            narrowed_scope("openid", Some("openid email"))
                .unwrap_err()
                .code,
            "invalid_scope"
        );
    }
}
