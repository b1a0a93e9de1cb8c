//! The userinfo endpoint (OpenID Connect Core §5.3): the signed-in user's
//! claims for a valid access token with the `openid` scope, by GET or POST,
//! the token in the `Authorization` header or (POST only) the form body
//! (RFC 6750 §2.1–2.2). Errors are RFC 6750 §3 challenges.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::authorize::params::Params;
use crate::app::AppState;

/// A bearer-token failure (RFC 6750 §3.1).
pub struct BearerError {
    status: StatusCode,
    code: Option<&'static str>,
    description: &'static str,
}

impl BearerError {
    fn missing() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: None,
            description: "",
        }
    }
    fn invalid_token() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: Some("invalid_token"),
            description: "the access token is invalid, expired or revoked",
        }
    }
    fn invalid_request(description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: Some("invalid_request"),
            description,
        }
    }
    fn insufficient_scope() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: Some("insufficient_scope"),
            description: "the access token lacks the openid scope",
        }
    }
    fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: None,
            description: "",
        }
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let challenge = match self.code {
            None => "Bearer realm=\"gatehouse\"".to_owned(),
            Some(code) => format!(
                "Bearer realm=\"gatehouse\", error=\"{code}\", error_description=\"{}\"",
                self.description
            ),
        };
        let mut response = self.status.into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Finds the bearer token: in the header, or in a `POST`ed form — not both.
pub fn bearer_token<'a>(
    headers: &'a HeaderMap,
    form: Option<&'a Params>,
) -> Result<&'a str, BearerError> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
                .ok_or_else(|| BearerError::invalid_request("use the Bearer scheme"))
        })
        .transpose()?;
    let from_body = form.and_then(|f| f.get("access_token"));
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(BearerError::invalid_request("send the token once")),
        (Some(token), None) | (None, Some(token)) => Ok(token),
        (None, None) => Err(BearerError::missing()),
    }
}

pub async fn userinfo(state: &AppState, headers: &HeaderMap, form: Option<&Params>) -> Response {
    match claims(state, headers, form).await {
        Ok(body) => {
            let mut response = axum::Json(body).into_response();
            super::tokens::no_store(&mut response);
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn claims(
    state: &AppState,
    headers: &HeaderMap,
    form: Option<&Params>,
) -> Result<serde_json::Value, BearerError> {
    let token = bearer_token(headers, form)?;
    let access = super::access_token::validate(state, token)
        .await
        .map_err(|error| {
            tracing::error!(%error, "userinfo: token check failed");
            BearerError::unavailable()
        })?
        .ok_or_else(BearerError::invalid_token)?;
    if !access.scope.split(' ').any(|s| s == "openid") {
        return Err(BearerError::insufficient_scope());
    }
    let sub = access
        .sub
        .parse()
        .map_err(|_| BearerError::invalid_token())?;
    let user = state
        .users
        .get(&state.db, state.clock.as_ref(), sub)
        .await
        .map_err(|error| {
            tracing::error!(%error, "userinfo: user lookup failed");
            BearerError::unavailable()
        })?
        .filter(|u| !u.disabled)
        .ok_or_else(BearerError::invalid_token)?;
    let mut body = super::claims::user_claims(&user, &access.scope, &access.uic);
    body.insert("sub".into(), serde_json::json!(user.id.to_string()));
    Ok(serde_json::Value::Object(body))
}
