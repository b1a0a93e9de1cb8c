//! Token introspection (RFC 7662) for authenticated confidential clients —
//! the API gateway checks opaque tokens here. Anything unknown, expired,
//! revoked or spent is simply `{"active": false}` (§2.2).

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::authorize::params::Params;
use super::error::OAuthError;
use super::token::{authenticate_client, internal};
use crate::app::AppState;

pub async fn introspect(state: &AppState, headers: &HeaderMap, params: Params) -> Response {
    let result = async {
        let client =
            authenticate_client(state, headers, &params, super::discovery::paths::INTROSPECT)
                .await?;
        if client.auth_method == "none" {
            return Err(OAuthError::invalid_client(
                "public clients cannot introspect tokens",
            ));
        }
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        look_up(
            state,
            &client.client_id,
            token,
            params.get("token_type_hint"),
        )
        .await
    }
    .await;
    match result {
        Ok(body) => {
            let mut response = axum::Json(body).into_response();
            super::tokens::no_store(&mut response);
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn look_up(
    state: &AppState,
    caller: &str,
    token: &str,
    hint: Option<&str>,
) -> Result<Value, OAuthError> {
    // The hint only orders the search (RFC 7662 §2.1).
    if hint == Some("refresh_token") {
        if let Some(found) = refresh(state, caller, token).await? {
            return Ok(found);
        }
        return Ok(access(state, token).await?.unwrap_or_else(inactive));
    }
    if let Some(found) = access(state, token).await? {
        return Ok(found);
    }
    Ok(refresh(state, caller, token)
        .await?
        .unwrap_or_else(inactive))
}

fn inactive() -> Value {
    json!({ "active": false })
}

async fn access(state: &AppState, token: &str) -> Result<Option<Value>, OAuthError> {
    let Some(c) = super::access_token::validate(state, token)
        .await
        .map_err(|e| internal(&e))?
    else {
        return Ok(None);
    };
    let mut body = json!({
        "active": true, "token_type": "Bearer", "scope": c.scope, "client_id": c.client_id,
        "sub": c.sub, "iss": c.iss, "aud": c.aud, "iat": c.iat, "exp": c.exp, "jti": c.jti,
    });
    for (name, value) in [
        ("auth_time", c.auth_time.map(Value::from)),
        ("acr", c.acr.as_deref().map(Value::from)),
        ("sid", c.sid.as_deref().map(Value::from)),
    ] {
        if let Some(value) = value {
            body[name] = value;
        }
    }
    if !c.amr.is_empty() {
        body["amr"] = json!(c.amr);
    }
    Ok(Some(body))
}

/// Refresh tokens are shown only to the client they were issued to.
async fn refresh(state: &AppState, caller: &str, token: &str) -> Result<Option<Value>, OAuthError> {
    let found = super::refresh::find(state, &super::refresh::hash(token))
        .await
        .map_err(|e| internal(&e))?;
    let Some(super::refresh::Found {
        family,
        unspent_since: Some(issued_at),
        ..
    }) = found
    else {
        return Ok(None);
    };
    let live = family.revoked_at.is_none() && family.expires_at > state.clock.unix();
    if !live || family.client_id != caller {
        return Ok(None);
    }
    Ok(Some(json!({
        "active": true, "token_type": "refresh_token", "scope": family.scope,
        "client_id": family.client_id, "sub": family.user_id.map(|u| u.to_string()),
        "iss": state.config.issuer, "iat": issued_at, "exp": family.expires_at,
    })))
}
