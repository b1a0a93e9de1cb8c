//! Validation of an authorization request (RFC 6749 §4.1.1, OpenID Connect
//! Core §3.1.2.1–§3.1.2.2, RFC 7636, RFC 9126).
//!
//! The order matters:
//! 1. duplicated parameters, then the client and its redirect URI are checked
//!    first; when either is wrong nothing can be sent back safely, so the
//!    person sees a page and the browser is never redirected;
//! 2. every later error goes back to the (now trusted) redirect URI with
//!    `error`, `error_description` and `state`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::params::Params;
use crate::app::AppState;
use crate::db::clients::ClientRecord;
use crate::oidc::grant::ClaimsRequest;

/// Scopes any client may ask for when it was registered without a list.
pub const STANDARD_SCOPES: &[&str] = &["openid", "profile", "email", "phone", "offline_access"];

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// The `prompt` values (OpenID Connect Core §3.1.2.1).
#[allow(clippy::struct_excessive_bools, reason = "independent prompt values")]
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

/// A validated authorization request, kept in the login transaction while the
/// person signs in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The subject of a valid `id_token_hint`.
    pub hint_sub: Option<Uuid>,
    pub acr_values: Vec<String>,
    pub claims: ClaimsRequest,
}

impl AuthorizationRequest {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// Why a request was refused, and where the answer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Shown to the person: the redirect URI is not trusted.
    Page(String),
    /// Sent back to the client's redirect URI.
    Redirect(ErrorRedirect),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
    pub error: &'static str,
    pub description: String,
}

/// Checks `params` against the registered client and returns the request to
/// carry through sign-in. `via_par` is true when the parameters came from a
/// pushed authorization request.
pub async fn validate(
    state: &AppState,
    params: &Params,
    via_par: bool,
) -> Result<(AuthorizationRequest, Arc<ClientRecord>), Rejection> {
    let (client, redirect_uri) = trusted_client(state, params).await?;
    // Everything else is answered at the redirect URI.
    let response_mode = match params.get("response_mode") {
        Some("form_post") => ResponseMode::FormPost,
        _ => ResponseMode::Query,
    };
    match checked_request(state, params, &client, redirect_uri, response_mode, via_par) {
        Ok(request) => Ok((request, client)),
        Err((error, description)) => Err(Rejection::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.to_owned(),
            response_mode,
            state: params.get("state").map(str::to_owned),
            error,
            description,
        })),
    }
}

/// Step 1: the client and its exact redirect URI, or a page.
async fn trusted_client<'p>(
    state: &AppState,
    params: &'p Params,
) -> Result<(Arc<ClientRecord>, &'p str), Rejection> {
    let page = |m: &str| Rejection::Page(m.to_owned());
    if let Some(name) = params.duplicated() {
        return Err(page(&format!(
            "The request repeats the parameter \"{name}\"."
        )));
    }
    let client_id = params
        .get("client_id")
        .ok_or_else(|| page("The request does not say which application is asking."))?;
    let client = state
        .clients
        .get(&state.db, state.clock.as_ref(), client_id)
        .await
        .map_err(|error| {
            tracing::error!(%error, "client lookup failed");
            page("Sign-in is unavailable right now. Please try again in a moment.")
        })?
        .ok_or_else(|| page("The application asking you to sign in is not known here."))?;
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| page("The request does not say where to send you back."))?;
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(page(
            "The application asked to send you back to an address it has not registered.",
        ));
    }
    Ok((client, redirect_uri))
}

type Refusal = (&'static str, String);

fn refuse(error: &'static str, description: impl Into<String>) -> Refusal {
    (error, description.into())
}

/// Step 2: every other parameter; a refusal is an RFC error code.
fn checked_request(
    state: &AppState,
    params: &Params,
    client: &ClientRecord,
    redirect_uri: &str,
    response_mode: ResponseMode,
    via_par: bool,
) -> Result<AuthorizationRequest, Refusal> {
    check_kind(params, client, via_par)?;
    let scope = validate_scope(client, params.get("scope").unwrap_or_default())
        .map_err(|d| refuse("invalid_scope", d))?;
    let code_challenge = validate_pkce(client, params).map_err(|d| refuse("invalid_request", d))?;
    let prompt = parse_prompt(params.get("prompt")).map_err(|d| refuse("invalid_request", d))?;
    let max_age = params
        .get("max_age")
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| refuse("invalid_request", "max_age must be a non-negative integer"))
        })
        .transpose()?;
    let claims = params
        .get("claims")
        .map(|json| {
            ClaimsRequest::parse(json)
                .ok_or_else(|| refuse("invalid_request", "claims is not valid JSON"))
        })
        .transpose()?
        .unwrap_or_default();
    let hint_sub = params
        .get("id_token_hint")
        .map(|hint| {
            hint_subject(state, hint, &client.client_id).ok_or_else(|| {
                refuse(
                    "invalid_request",
                    "id_token_hint is not an ID token issued to this client",
                )
            })
        })
        .transpose()?;
    for (name, max) in [("state", 2048), ("nonce", 512), ("login_hint", 256)] {
        if params.get(name).is_some_and(|v| v.len() > max) {
            return Err(refuse("invalid_request", format!("{name} is too long")));
        }
    }
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        response_mode,
        scope,
        state: params.get("state").map(str::to_owned),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        hint_sub,
        acr_values: params
            .get("acr_values")
            .map(|v| {
                v.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        claims,
    })
}

/// What kind of request this is: only `response_type=code`, by value, and
/// through PAR when the client requires it.
fn check_kind(params: &Params, client: &ClientRecord, via_par: bool) -> Result<(), Refusal> {
    if params
        .get("response_mode")
        .is_some_and(|mode| !matches!(mode, "query" | "form_post"))
    {
        return Err(refuse(
            "invalid_request",
            "response_mode must be query or form_post",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(refuse(
            "request_uri_not_supported",
            "request_uri is only accepted from /par",
        ));
    }
    if params.get("request").is_some() {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if client.require_par && !via_par {
        return Err(refuse(
            "invalid_request",
            "this client must use pushed authorization requests",
        ));
    }
    match params.get("response_type") {
        None => return Err(refuse("invalid_request", "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(refuse(
            "unauthorized_client",
            "this client may not use the authorization code grant",
        ));
    }
    Ok(())
}

/// The scopes asked, each allowed for the client; order kept, duplicates dropped.
pub fn validate_scope(client: &ClientRecord, requested: &str) -> Result<String, String> {
    let mut granted: Vec<&str> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        let allowed = if client.scopes.is_empty() {
            STANDARD_SCOPES.contains(&scope)
        } else {
            client.scopes.iter().any(|s| s == scope)
        };
        if !allowed {
            return Err(format!("scope {scope} is not allowed for this client"));
        }
        if !granted.contains(&scope) {
            granted.push(scope);
        }
    }
    Ok(granted.join(" "))
}

/// RFC 7636 §4.3: S256 only; required for public clients and clients that
/// registered for it.
fn validate_pkce(client: &ClientRecord, params: &Params) -> Result<Option<String>, &'static str> {
    let challenge = params.get("code_challenge");
    match (challenge, params.get("code_challenge_method")) {
        (None, Some(_)) => Err("code_challenge_method without code_challenge"),
        (None, None) if client.require_pkce || client.auth_method == "none" => {
            Err("this client must use PKCE (code_challenge with S256)")
        }
        (None, None) => Ok(None),
        (Some(_), None | Some("plain")) => Err("code_challenge_method must be S256"),
        (Some(_), Some(m)) if m != "S256" => Err("code_challenge_method must be S256"),
        (Some(c), Some(_)) => {
            let valid = c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if valid {
                Ok(Some(c.to_owned()))
            } else {
                Err("code_challenge must be a base64url SHA-256 digest")
            }
        }
    }
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt, &'static str> {
    let mut prompt = Prompt::default();
    for word in value
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        match word {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => prompt.select_account = true,
            _ => return Err("prompt holds an unknown value"),
        }
    }
    if prompt.none && (prompt.login || prompt.consent || prompt.select_account) {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(prompt)
}

/// The `sub` of an ID token we issued to this client. Expiry is not checked:
/// a hint is typically an old token (OpenID Connect Core §3.1.2.1).
fn hint_subject(state: &AppState, hint: &str, client_id: &str) -> Option<Uuid> {
    let claims = state.keys.verify(hint).ok()?;
    if claims.get("iss")?.as_str()? != state.config.issuer {
        return None;
    }
    let aud_ok = match claims.get("aud")? {
        serde_json::Value::String(aud) => aud == client_id,
        serde_json::Value::Array(auds) => auds.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !aud_ok {
        return None;
    }
    claims.get("sub")?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_none_stands_alone() {
        assert!(parse_prompt(Some("none")).unwrap().none);
        assert!(parse_prompt(Some("none login")).is_err());
        assert!(parse_prompt(Some("bogus")).is_err());
        let p = parse_prompt(Some("login consent")).unwrap();
        assert!(p.login && p.consent && !p.none);
    }
}
