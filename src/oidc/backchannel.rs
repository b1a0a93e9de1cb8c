//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a
//! session ends, each client that took part in it and registered a
//! `backchannel_logout_uri` receives a signed logout token (§2.4) by POST.
//!
//! Deliveries run concurrently with a short timeout, inside the logout
//! request: the person's sign-out is never held longer than that, and a
//! client that is down only loses its notice (logged), nothing else.

use std::time::Duration;

use serde_json::{Map, json};

use crate::app::AppState;
use crate::db::clients::ClientRecord;
use crate::login::Session;

pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The logout token for `client` about `session` (§2.4): no `nonce`, one event.
pub fn logout_token(
    state: &AppState,
    client: &ClientRecord,
    session: &Session,
) -> Result<String, crate::keys::KeyError> {
    let now = state.clock.unix();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(state.config.issuer));
    claims.insert("aud".into(), json!(client.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + 120));
    claims.insert("jti".into(), json!(crate::security::random_token(16)));
    claims.insert("sub".into(), json!(session.sub.to_string()));
    claims.insert("sid".into(), json!(session.sid));
    claims.insert("events".into(), json!({ EVENT: {} }));
    state.keys.sign(
        super::tokens::id_token_alg(client),
        Some("logout+jwt"),
        &claims,
    )
}

/// Tells every registered client of `session` that it ended.
pub async fn notify(state: &AppState, session: &Session) {
    let mut deliveries = Vec::new();
    for client_id in &session.clients {
        let client = match state
            .clients
            .get(&state.db, state.clock.as_ref(), client_id)
            .await
        {
            Ok(Some(client)) => client,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%error, %client_id, "back-channel logout: client lookup failed");
                continue;
            }
        };
        let Some(uri) = client.backchannel_logout_uri.clone() else {
            continue;
        };
        let token = match logout_token(state, &client, session) {
            Ok(token) => token,
            Err(error) => {
                tracing::error!(%error, "back-channel logout: signing failed");
                continue;
            }
        };
        let http = state.http.clone();
        let client_id = client.client_id.clone();
        deliveries.push(async move {
            let result = http
                .post(&uri)
                .timeout(TIMEOUT)
                .form(&[("logout_token", token)])
                .send()
                .await;
            match result {
                Ok(response) if response.status().is_success() => {
                    tracing::info!(%client_id, "back-channel logout delivered");
                }
                Ok(response) => {
                    tracing::warn!(%client_id, status = %response.status(), "back-channel logout refused");
                }
                Err(error) => tracing::warn!(%client_id, %error, "back-channel logout not delivered"),
            }
        });
    }
    futures_join_all(deliveries).await;
}

/// Runs the deliveries concurrently (a tiny `join_all`, to avoid a dependency).
async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(futures: Vec<F>) {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    for handle in handles {
        let _ = handle.await;
    }
}
