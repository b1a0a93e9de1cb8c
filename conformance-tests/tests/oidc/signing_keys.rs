//! Tokens signed with Gatehouse's keys verify with a relying-party library
//! against the published JWKS, for every algorithm offered.

use std::str::FromStr as _;

use conformance_tests::{TestApp, discover, fetch_jwks};
use gatehouse::keys::Alg;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJwsSigningAlgorithm};
use openidconnect::{ClientId, Nonce};

async fn sign_and_verify(alg: Alg, rp_alg: CoreJwsSigningAlgorithm) {
    let app = TestApp::spawn().await;
    let metadata = discover(&app).await;
    let jwks = fetch_jwks(&metadata).await;
    let now = gatehouse::clock::Clock::unix(app.clock.as_ref());
    let claims = serde_json::json!({
        "iss": app.issuer, "sub": "2c8d6b4e-0d9a-4b7e-9f51-1f1f7c1d2a3b", "aud": "console",
        "iat": now, "exp": now + 300, "nonce": "n-0S6_WzA2Mj",
    });
    let token = app
        .state
        .keys
        .sign(alg, None, claims.as_object().unwrap())
        .unwrap();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new("console".into()),
        metadata.issuer().clone(),
        jwks,
    )
    .set_allowed_algs([rp_alg]);
    let id_token = CoreIdToken::from_str(&token).unwrap();
    let claims_seen = id_token
        .claims(&verifier, &Nonce::new("n-0S6_WzA2Mj".into()))
        .unwrap_or_else(|e| panic!("{alg:?} token did not verify: {e:?}"));
    assert_eq!(
        claims_seen.subject().as_str(),
        "2c8d6b4e-0d9a-4b7e-9f51-1f1f7c1d2a3b"
    );

    // One flipped payload character and the same library refuses it.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let flipped = if parts[1].ends_with('A') { 'B' } else { 'A' };
    parts[1].pop();
    parts[1].push(flipped);
    let forged = CoreIdToken::from_str(&parts.join("."));
    assert!(
        forged.is_err()
            || forged
                .unwrap()
                .claims(&verifier, &Nonce::new("n-0S6_WzA2Mj".into()))
                .is_err(),
        "a tampered {alg:?} token must not verify"
    );
}

#[tokio::test]
async fn rs256_tokens_verify_against_the_jwks() {
    sign_and_verify(Alg::Rs256, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256).await;
}

#[tokio::test]
async fn es256_tokens_verify_against_the_jwks() {
    sign_and_verify(Alg::Es256, CoreJwsSigningAlgorithm::EcdsaP256Sha256).await;
}

#[tokio::test]
async fn eddsa_tokens_verify_against_the_jwks() {
    sign_and_verify(Alg::EdDsa, CoreJwsSigningAlgorithm::EdDsa).await;
}
