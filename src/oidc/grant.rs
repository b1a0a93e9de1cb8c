//! What a user authorized a client to do: the record behind a code, a
//! refresh-token family or a device code, from which every token is minted.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `acr` of a password sign-in. A second factor raises it (see `mfa`).
pub const ACR_PASSWORD: &str = "urn:gatehouse:acr:password";

/// Claims asked for with the `claims` request parameter (OpenID Connect Core
/// §5.5): only the names are kept; `essential` and `values` only matter for
/// `acr`, which Gatehouse answers from the sign-in itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClaimsRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub userinfo: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token: Vec<String>,
}

impl ClaimsRequest {
    /// Parses the JSON of the `claims` parameter; `None` when it is not an
    /// object of objects.
    pub fn parse(json: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(json).ok()?;
        let object = value.as_object()?;
        let names = |key: &str| -> Option<Vec<String>> {
            match object.get(key) {
                None | Some(serde_json::Value::Null) => Some(Vec::new()),
                Some(serde_json::Value::Object(members)) => Some(members.keys().cloned().collect()),
                Some(_) => None,
            }
        };
        Some(Self {
            userinfo: names("userinfo")?,
            id_token: names("id_token")?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.userinfo.is_empty() && self.id_token.is_empty()
    }
}

/// An authorization: who, which client, what scope, and how the person signed in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grant {
    /// The user's `sub`; `None` for `client_credentials`.
    pub sub: Option<Uuid>,
    pub client_id: String,
    /// Space-separated granted scopes.
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: Option<i64>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    /// The SSO session's public id (the `sid` claim).
    pub sid: Option<String>,
    pub claims: ClaimsRequest,
}

impl Grant {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claims_parameter_keeps_requested_names_per_target() {
        let parsed = ClaimsRequest::parse(
            r#"{"userinfo":{"name":{"essential":true},"email":null},"id_token":{"acr":{"values":["x"]}}}"#,
        )
        .unwrap();
        let mut userinfo = parsed.userinfo.clone();
        userinfo.sort();
        assert_eq!(userinfo, vec!["email", "name"]);
        assert_eq!(parsed.id_token, vec!["acr"]);
        assert!(ClaimsRequest::parse("[1]").is_none());
        assert!(ClaimsRequest::parse(r#"{"userinfo":"name"}"#).is_none());
        assert!(ClaimsRequest::parse("{").is_none());
    }
}
