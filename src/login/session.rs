//! The single sign-on session: who signed in, when and how, kept in the
//! ephemeral store under the SHA-256 of a random cookie value. The cookie is
//! `HttpOnly`, `SameSite=Lax` (it must ride along the top-level redirect from a
//! relying party) and renewed at every sign-in, so a planted value is useless.
//! `sid` (the public session id put in tokens) is a separate random value, so
//! knowing it does not give the cookie.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::AppState;
use crate::store::StoreError;
use crate::web::cookies;

const COOKIE: &str = "gatehouse_session";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub sid: String,
    pub sub: Uuid,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    /// Clients that got a code in this session: told of its end by back-channel logout.
    pub clients: Vec<String>,
    pub expires_at: i64,
    /// The store key (a digest of the cookie value); not the cookie itself.
    #[serde(skip)]
    pub key: String,
}

fn secure(state: &AppState) -> bool {
    state.config.issuer.starts_with("https://")
}

fn cookie_name(state: &AppState) -> String {
    cookies::name(COOKIE, secure(state))
}

fn store_key(cookie_value: &str) -> String {
    format!(
        "session:{}",
        crate::security::sha256_b64url(cookie_value.as_bytes())
    )
}

/// The live session of this browser, if any.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, StoreError> {
    let Some(value) = cookies::get(headers, &cookie_name(state)) else {
        return Ok(None);
    };
    let key = store_key(value);
    let session: Option<Session> = crate::store::get_json(state.store.as_ref(), &key).await?;
    Ok(session
        .filter(|s| s.expires_at > state.clock.unix())
        .map(|s| Session { key, ..s }))
}

/// Starts a new session (replacing any other of this browser) and returns it
/// with the `Set-Cookie` header that carries it.
pub async fn create(
    state: &AppState,
    headers: &HeaderMap,
    sub: Uuid,
    acr: &str,
    amr: Vec<String>,
) -> Result<(Session, HeaderValue), StoreError> {
    if let Some(old) = cookies::get(headers, &cookie_name(state)) {
        state.store.delete(&store_key(old)).await?;
    }
    let value = crate::security::random_token(32);
    let lifetime = state.config.session.lifetime_seconds;
    let now = state.clock.unix();
    let session = Session {
        sid: crate::security::random_token(16),
        sub,
        auth_time: now,
        acr: acr.to_owned(),
        amr,
        clients: Vec::new(),
        expires_at: now + i64::try_from(lifetime).unwrap_or(i64::MAX / 2),
        key: store_key(&value),
    };
    save(state, &session).await?;
    let cookie = cookies::set(&cookie_name(state), &value, "Lax", secure(state), None);
    Ok((session, cookie))
}

async fn save(state: &AppState, session: &Session) -> Result<(), StoreError> {
    let left = u64::try_from(session.expires_at - state.clock.unix())
        .unwrap_or(0)
        .max(1);
    crate::store::put_json(
        state.store.as_ref(),
        &session.key,
        session,
        Duration::from_secs(left),
    )
    .await
}

/// Notes that `client_id` took part in the session (for back-channel logout).
pub async fn remember_client(
    state: &AppState,
    session: &Session,
    client_id: &str,
) -> Result<(), StoreError> {
    if session.clients.iter().any(|c| c == client_id) {
        return Ok(());
    }
    let mut updated = session.clone();
    updated.clients.push(client_id.to_owned());
    save(state, &updated).await
}

/// Ends this browser's session; returns what it was and a cookie that clears it.
pub async fn end(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Option<Session>, HeaderValue), StoreError> {
    let session = current_session(state, headers).await?;
    if let Some(s) = &session {
        state.store.delete(&s.key).await?;
    }
    let clear = cookies::set(&cookie_name(state), "", "Lax", secure(state), Some(0));
    Ok((session, clear))
}
