//! Config OP: `oidcc-discovery-endpoint-verification` and the JWKS checks every
//! module runs in its configure phase (checklist §2.1, §2.2).

use conformance_tests::{TestApp, discover, fetch_jwks, rp_http_client};
use openidconnect::core::{CoreJwsSigningAlgorithm, CoreResponseType};
use openidconnect::{JsonWebKey as _, ResponseTypes};
use serde_json::Value;

#[tokio::test]
async fn oidcc_discovery_endpoint_verification() {
    let app = TestApp::spawn().await;
    let metadata = discover(&app).await;

    assert_eq!(metadata.issuer().as_str(), app.issuer);
    assert!(
        metadata
            .id_token_signing_alg_values_supported()
            .contains(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
        "RS256 must be offered for ID tokens"
    );
    assert!(
        metadata
            .response_types_supported()
            .contains(&ResponseTypes::new(vec![CoreResponseType::Code]))
    );
    assert!(!metadata.subject_types_supported().is_empty());
    assert!(
        metadata
            .scopes_supported()
            .is_some_and(|s| s.iter().any(|s| s.as_str() == "openid"))
    );

    // Raw checks the library does not make.
    let response = rp_http_client()
        .get(format!("{}/.well-known/openid-configuration", app.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: Value = response.json().await.unwrap();
    for (key, value) in doc.as_object().unwrap() {
        if key.ends_with("_endpoint") || key == "jwks_uri" {
            assert!(
                value.as_str().unwrap().starts_with(&app.issuer),
                "{key} must hang off the issuer"
            );
        }
        if key.ends_with("_supported") {
            assert!(
                value.is_array() || value.is_boolean(),
                "{key} has the wrong type"
            );
        }
    }
}

#[tokio::test]
async fn jwks_keys_parse_have_unique_kids_and_no_private_members() {
    let app = TestApp::spawn().await;
    let metadata = discover(&app).await;
    let jwks = fetch_jwks(&metadata).await;
    assert_eq!(jwks.keys().len(), 3);
    let mut kids: Vec<String> = jwks
        .keys()
        .iter()
        .map(|k| k.key_id().expect("every key has a kid").to_string())
        .collect();
    kids.sort();
    kids.dedup();
    assert_eq!(kids.len(), 3);

    let raw: Value = rp_http_client()
        .get(metadata.jwks_uri().as_str())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in raw["keys"].as_array().unwrap() {
        for member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(member).is_none(), "private member {member}");
        }
        for (name, value) in key.as_object().unwrap() {
            if let Some(s) = value.as_str()
                && ["n", "e", "x", "y"].contains(&name.as_str())
            {
                assert!(!s.contains('='), "{name} must be unpadded base64url");
            }
        }
    }
}
