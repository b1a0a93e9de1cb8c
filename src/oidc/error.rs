//! Protocol errors, each exactly an RFC error code, and how each reaches the
//! client: a JSON body from the token-side endpoints (RFC 6749 §5.2), or a
//! redirect to the client's registered `redirect_uri` from `/authorize`
//! (RFC 6749 §4.1.2.1). Errors that cannot be trusted to a redirect (unknown
//! client, unregistered redirect URI) are pages, never redirects.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An OAuth error code with a description safe to show to the client
/// developer (RFC 6749 §5.2: printable ASCII without `"` or `\`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
    pub status: StatusCode,
    /// Set when the client authenticated with HTTP Basic (RFC 6749 §5.2).
    pub basic_challenge: bool,
}

impl OAuthError {
    fn new(code: &'static str, status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: sanitize(&description.into()),
            status,
            basic_challenge: false,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", StatusCode::BAD_REQUEST, description)
    }
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new("invalid_client", StatusCode::UNAUTHORIZED, description)
    }
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", StatusCode::BAD_REQUEST, description)
    }
    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new("unauthorized_client", StatusCode::BAD_REQUEST, description)
    }
    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(
            "unsupported_grant_type",
            StatusCode::BAD_REQUEST,
            description,
        )
    }
    pub fn unsupported_token_type(description: impl Into<String>) -> Self {
        Self::new(
            "unsupported_token_type",
            StatusCode::BAD_REQUEST,
            description,
        )
    }
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new("invalid_scope", StatusCode::BAD_REQUEST, description)
    }
    pub fn authorization_pending() -> Self {
        Self::new(
            "authorization_pending",
            StatusCode::BAD_REQUEST,
            "the user has not answered yet",
        )
    }
    pub fn slow_down() -> Self {
        Self::new("slow_down", StatusCode::BAD_REQUEST, "poll less often")
    }
    pub fn expired_token(description: impl Into<String>) -> Self {
        Self::new("expired_token", StatusCode::BAD_REQUEST, description)
    }
    pub fn access_denied(description: impl Into<String>) -> Self {
        Self::new("access_denied", StatusCode::BAD_REQUEST, description)
    }
    pub fn server_error() -> Self {
        Self::new(
            "server_error",
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not complete the request",
        )
    }
    pub fn temporarily_unavailable() -> Self {
        Self::new(
            "temporarily_unavailable",
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is temporarily unavailable",
        )
    }

    #[must_use]
    pub fn with_basic_challenge(mut self) -> Self {
        self.basic_challenge = true;
        self
    }
}

impl From<crate::oidc::client_auth::ClientAuthError> for OAuthError {
    fn from(error: crate::oidc::client_auth::ClientAuthError) -> Self {
        let out = match error.error_code() {
            "invalid_request" => Self::invalid_request(error.description()),
            "invalid_client" => Self::invalid_client(error.description()),
            _ => {
                tracing::error!(%error, "client authentication could not complete");
                Self::temporarily_unavailable()
            }
        };
        if error.challenge_basic() {
            out.with_basic_challenge()
        } else {
            out
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "error_description": self.description });
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(crate::oidc::client_auth::BASIC_CHALLENGE),
            );
        }
        response
    }
}

/// Keeps only the characters RFC 6749 allows in `error_description`.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_never_carry_quotes_backslashes_or_control_characters() {
        assert_eq!(sanitize("bad \"x\" \\ é\n"), "bad 'x' ' ??");
    }

    #[tokio::test]
    async fn errors_are_json_with_no_store_and_basic_challenge_when_asked() {
        let response = OAuthError::invalid_client("nope")
            .with_basic_challenge()
            .into_response();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"], "invalid_client");
    }
}
