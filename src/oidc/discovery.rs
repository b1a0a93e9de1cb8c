//! Provider metadata: `OpenID` Connect Discovery 1.0 §3 and RFC 8414 §2.
//!
//! The document is built once from the config and kept as bytes: it is the
//! most requested resource of a provider and never changes while it runs.
//! It lists only what Gatehouse implements; each protocol feature adds its
//! own entries here as it lands.

use axum::body::Bytes;
use serde_json::json;

use crate::config::Config;

/// The endpoint paths, relative to the issuer.
pub mod paths {
    pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
    pub const OAUTH_AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";
    pub const JWKS: &str = "/jwks.json";
    pub const AUTHORIZE: &str = "/authorize";
    pub const TOKEN: &str = "/token";
}

/// The serialised metadata documents.
#[derive(Clone)]
pub struct Discovery {
    openid: Bytes,
}

impl Discovery {
    pub fn new(config: &Config) -> Self {
        let document = document(&config.issuer);
        Self {
            openid: Bytes::from(document.to_string()),
        }
    }

    /// The same document answers both well-known URIs: RFC 8414 §2 allows
    /// the `OpenID` Connect members in `OAuth` metadata.
    pub fn json(&self) -> Bytes {
        self.openid.clone()
    }
}

/// The metadata as JSON.
pub fn document(issuer: &str) -> serde_json::Value {
    let url = |path: &str| format!("{issuer}{path}");
    json!({
        "issuer": issuer,
        "authorization_endpoint": url(paths::AUTHORIZE),
        "token_endpoint": url(paths::TOKEN),
        "jwks_uri": url(paths::JWKS),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "scopes_supported": ["openid", "profile", "email", "phone", "offline_access"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
            "name", "given_name", "family_name", "preferred_username", "email",
            "email_verified", "phone_number", "phone_number_verified"
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_hangs_off_the_issuer() {
        let doc = document("https://id.example.com");
        assert_eq!(doc["issuer"], "https://id.example.com");
        for (key, value) in doc.as_object().unwrap() {
            if key.ends_with("_endpoint") || key == "jwks_uri" {
                assert!(
                    value
                        .as_str()
                        .unwrap()
                        .starts_with("https://id.example.com/"),
                    "{key}"
                );
            }
        }
    }

    #[test]
    fn rs256_is_offered_for_id_tokens_as_openid_connect_requires() {
        let doc = document("https://id.example.com");
        let algs = doc["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap();
        assert!(algs.iter().any(|a| a == "RS256"));
    }
}
