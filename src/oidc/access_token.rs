//! Checking an access token presented to Gatehouse (userinfo,
//! introspection): a JWT signed by one of our keys, or an opaque token found
//! in the store; either way not expired and not revoked.
//!
//! Revocation is kept in the store as markers that live as long as an access
//! token can: one per token id (`jti`, set when a code is replayed or a
//! token revoked) and one per refresh-token family.

use std::sync::Arc;
use std::time::Duration;

use sha2::Digest as _;

use uuid::Uuid;

use super::tokens::AccessClaims;
use crate::app::AppState;
use crate::store::StoreError;

fn revoked_jti_key(jti: &str) -> String {
    format!("revoked_jti:{jti}")
}

fn revoked_family_key(family: Uuid) -> String {
    format!("revoked_family:{family}")
}

fn marker_lifetime(state: &AppState) -> Duration {
    Duration::from_secs(state.config.tokens.access_token_seconds + 60)
}

/// The token's claims when it is genuine, current and not revoked.
pub async fn validate(
    state: &AppState,
    token: &str,
) -> Result<Option<Arc<AccessClaims>>, StoreError> {
    let claims = if token.split('.').count() == 3 {
        match verified_jwt(state, token) {
            Some(claims) => claims,
            None => return Ok(None),
        }
    } else {
        if token.is_empty() || token.len() > 512 {
            return Ok(None);
        }
        match crate::store::get_json::<AccessClaims>(
            state.store.as_ref(),
            &super::tokens::opaque_key(token),
        )
        .await?
        {
            Some(claims) => Arc::new(claims),
            None => return Ok(None),
        }
    };
    if claims.exp <= state.clock.unix() || is_revoked(state, &claims).await? {
        return Ok(None);
    }
    Ok(Some(claims))
}

/// The claims of a JWT access token signed by one of our published keys,
/// from [`VerifiedTokens`](super::verified_tokens::VerifiedTokens) when it
/// was verified before.
fn verified_jwt(state: &AppState, token: &str) -> Option<Arc<AccessClaims>> {
    let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
    let generation = state.keys.generation();
    if let Some(claims) = state.verified_tokens.get(&digest, generation) {
        return Some(claims);
    }
    let map = state.keys.verify(token).ok()?;
    let claims = match serde_json::from_value::<AccessClaims>(serde_json::Value::Object(map)) {
        Ok(claims) if claims.iss == state.config.issuer => Arc::new(claims),
        // An ID token or anything else we signed is not an access token.
        _ => return None,
    };
    state
        .verified_tokens
        .insert(digest, Arc::clone(&claims), generation);
    Some(claims)
}

async fn is_revoked(state: &AppState, claims: &AccessClaims) -> Result<bool, StoreError> {
    if state
        .store
        .get(&revoked_jti_key(&claims.jti))
        .await?
        .is_some()
    {
        return Ok(true);
    }
    match claims.fid {
        Some(family) => is_family_revoked(state, family).await,
        None => Ok(false),
    }
}

/// Whether [`revoke_family`] revoked `family` (as the store remembers: for
/// as long as its access tokens and its refresh tokens' store entries live).
pub async fn is_family_revoked(state: &AppState, family: Uuid) -> Result<bool, StoreError> {
    Ok(state
        .store
        .get(&revoked_family_key(family))
        .await?
        .is_some())
}

/// Revokes one access token by its id.
pub async fn revoke_jti(state: &AppState, jti: &str) -> Result<(), StoreError> {
    state
        .store
        .put(&revoked_jti_key(jti), b"1", marker_lifetime(state))
        .await
}

/// Revokes a refresh-token family: its refresh tokens in the database and
/// in the store, and every access token minted from it. The marker outlives
/// both its access tokens and the store's entries for its refresh tokens
/// (after which the database, revoked first, answers).
pub async fn revoke_family(state: &AppState, family: Uuid) -> Result<(), RevokeError> {
    crate::db::refresh_tokens::revoke_family(&state.db, family, state.clock.unix()).await?;
    let lifetime = marker_lifetime(state).max(super::refresh::LIVE_FOR + Duration::from_mins(1));
    state
        .store
        .put(&revoked_family_key(family), b"1", lifetime)
        .await?;
    Ok(())
}

/// Removes an opaque access token outright.
pub async fn delete_opaque(state: &AppState, token: &str) -> Result<(), StoreError> {
    state.store.delete(&super::tokens::opaque_key(token)).await
}

#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("the store is unavailable")]
    Store(#[from] StoreError),
    #[error("the database is unavailable")]
    Db(#[from] crate::db::DbError),
}
