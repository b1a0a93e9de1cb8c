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
    pub const USERINFO: &str = "/userinfo";
    pub const INTROSPECT: &str = "/introspect";
    pub const REVOKE: &str = "/revoke";
    pub const PAR: &str = "/par";
    pub const END_SESSION: &str = "/end_session";
    pub const DEVICE_AUTHORIZATION: &str = "/device_authorization";
    pub const DEVICE: &str = "/device";
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
    let auth_methods = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ];
    let signing = ["RS256", "ES256", "EdDSA"];
    json!({
        "issuer": issuer,
        "authorization_endpoint": url(paths::AUTHORIZE),
        "token_endpoint": url(paths::TOKEN),
        "userinfo_endpoint": url(paths::USERINFO),
        "jwks_uri": url(paths::JWKS),
        "introspection_endpoint": url(paths::INTROSPECT),
        "revocation_endpoint": url(paths::REVOKE),
        "pushed_authorization_request_endpoint": url(paths::PAR),
        "end_session_endpoint": url(paths::END_SESSION),
        "device_authorization_endpoint": url(paths::DEVICE_AUTHORIZATION),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": [
            "authorization_code", "refresh_token", "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code"
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": signing,
        "scopes_supported": ["openid", "profile", "email", "phone", "offline_access"],
        "claims_supported": super::claims::SUPPORTED.iter()
            .chain(&["iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash"])
            .collect::<Vec<_>>(),
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_pushed_authorization_requests": false,
        "acr_values_supported": [crate::oidc::grant::ACR_PASSWORD],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "ui_locales_supported": ["en"],
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
