//! Client authentication at the token endpoint: `private_key_jwt` (RFC 7523
//! §2.2 and §3, OpenID Connect Core §9), the secret methods (RFC 6749 §2.3.1)
//! and the error answers of RFC 6749 §5.2. The one OpenID Foundation module
//! that touches this, `oidcc-ensure-client-assertion-with-iss-aud-succeeds`,
//! keeps its name; the other checks are sentences.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use conformance_tests::provider::{Provider, SECRET, client_spec};
use gatehouse::clock::Clock as _;
use gatehouse::config::ClientSpec;
use josekit::jws::alg::ecdsa::EcdsaJwsSigner;
use josekit::jws::{ES256, JwsHeader};
use josekit::jwt::{self, JwtPayload};
use openidconnect::CsrfToken;
use serde_json::{Value, json};

const JWT_CLIENT: &str = "jwt_client";
const KID: &str = "client-key-1";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const WRONG_SECRET: &str = "wrong-secret-wrong-secret-wrong-secret";

/// A fresh ES256 key pair: the public JWK (with [`KID`]) and a signer.
fn es256_key() -> (Value, EcdsaJwsSigner) {
    let pair = ES256.generate_key_pair().unwrap();
    let mut public = pair.to_jwk_public_key();
    public.set_key_id(KID);
    let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
    (Value::Object(public.as_ref().clone()), signer)
}

/// A provider with [`JWT_CLIENT`] registered for `private_key_jwt` with the
/// public half of the returned key.
async fn provider_with_jwt_client() -> (Provider, EcdsaJwsSigner) {
    let p = Provider::start().await;
    let (public, signer) = es256_key();
    p.app
        .create_client(ClientSpec {
            jwks: Some(json!({ "keys": [public] })),
            scopes: vec!["gateway".into()],
            ..client_spec(JWT_CLIENT, "private_key_jwt", &["client_credentials"])
        })
        .await;
    (p, signer)
}

/// The claims RFC 7523 §3 asks for, valid for a minute from the provider's now.
fn assertion_claims(p: &Provider, aud: &str) -> Value {
    let now = p.app.clock.unix();
    json!({
        "iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": aud,
        "iat": now, "exp": now + 60, "jti": CsrfToken::new_random().secret(),
    })
}

fn token_endpoint(p: &Provider) -> String {
    p.metadata.token_endpoint().unwrap().as_str().to_owned()
}

fn sign(claims: &Value, signer: &EcdsaJwsSigner) -> String {
    let mut header = JwsHeader::new();
    header.set_key_id(KID);
    let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
    jwt::encode_with_signer(&payload, &header, signer).unwrap()
}

/// A `client_credentials` request authenticated by `assertion` alone.
async fn with_assertion(p: &Provider, assertion: &str) -> reqwest::Response {
    p.post_form(
        "/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "gateway"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
    )
    .await
}

/// The status, `error` and `error_description` of a refusal.
async fn refusal(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert!(body.get("access_token").is_none(), "no token: {body}");
    let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    (status, field("error"), field("error_description"))
}

async fn client_credentials(p: &Provider, basic: Option<(&str, &str)>) -> reqwest::Response {
    p.post_form(
        "/token",
        basic,
        &[("grant_type", "client_credentials"), ("scope", "gateway")],
    )
    .await
}

#[tokio::test]
async fn private_key_jwt_authenticates_a_client_credentials_request() {
    let (p, signer) = provider_with_jwt_client().await;
    let assertion = sign(&assertion_claims(&p, &token_endpoint(&p)), &signer);
    let response = with_assertion(&p, &assertion).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "gateway");
    let payload = body["access_token"].as_str().unwrap().split('.').nth(1);
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.unwrap()).unwrap()).unwrap();
    assert_eq!(claims["client_id"], JWT_CLIENT);
}

#[tokio::test]
async fn a_replayed_client_assertion_is_invalid_client() {
    let (p, signer) = provider_with_jwt_client().await;
    let assertion = sign(&assertion_claims(&p, &token_endpoint(&p)), &signer);
    assert_eq!(with_assertion(&p, &assertion).await.status(), 200);
    let (status, error, _) = refusal(with_assertion(&p, &assertion).await).await;
    assert_eq!(
        (status, error.as_str()),
        (401, "invalid_client"),
        "RFC 7523 §3 item 7: jti is single-use"
    );
}

#[tokio::test]
async fn forged_expired_misaddressed_and_unsigned_assertions_are_invalid_client() {
    let (p, signer) = provider_with_jwt_client().await;
    let endpoint = token_endpoint(&p);
    let (_, stranger) = es256_key();
    let mut expired = assertion_claims(&p, &endpoint);
    let now = p.app.clock.unix();
    expired["iat"] = json!(now - 300);
    expired["exp"] = json!(now - 240);
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": KID}).to_string()),
        URL_SAFE_NO_PAD.encode(assertion_claims(&p, &endpoint).to_string()),
    );
    let cases = [
        (
            "signed by another key",
            sign(&assertion_claims(&p, &endpoint), &stranger),
        ),
        ("expired", sign(&expired, &signer)),
        (
            "for another audience",
            sign(&assertion_claims(&p, "https://rp.example/token"), &signer),
        ),
        ("alg none", unsigned),
    ];
    for (case, assertion) in cases {
        let (status, error, _) = refusal(with_assertion(&p, &assertion).await).await;
        assert_eq!((status, error.as_str()), (401, "invalid_client"), "{case}");
    }
    // The client itself is fine: a proper assertion still works.
    let good = sign(&assertion_claims(&p, &endpoint), &signer);
    assert_eq!(with_assertion(&p, &good).await.status(), 200);
}

#[tokio::test]
async fn oidcc_ensure_client_assertion_with_iss_aud_succeeds() {
    let (p, signer) = provider_with_jwt_client().await;
    let assertion = sign(&assertion_claims(&p, &p.app.issuer), &signer);
    assert_eq!(with_assertion(&p, &assertion).await.status(), 200);
}

#[tokio::test]
async fn a_wrong_basic_secret_is_401_with_a_basic_challenge() {
    let p = Provider::start().await;
    let right = client_credentials(&p, Some(("service", SECRET))).await;
    assert_eq!(right.status(), 200, "the right secret works");
    let wrong = client_credentials(&p, Some(("service", WRONG_SECRET))).await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"),
        "RFC 6749 §5.2: 401 with WWW-Authenticate for the scheme used"
    );
    assert_eq!(refusal(wrong).await.1, "invalid_client");
}

#[tokio::test]
async fn a_basic_client_cannot_switch_to_client_secret_post() {
    let p = Provider::start().await;
    let response = p
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "gateway"),
                ("client_id", "service"),
                ("client_secret", SECRET),
            ],
        )
        .await;
    let (status, error, _) = refusal(response).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));
}

#[tokio::test]
async fn a_basic_header_and_a_body_secret_together_are_invalid_request() {
    let p = Provider::start().await;
    let response = p
        .post_form(
            "/token",
            Some(("service", SECRET)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "gateway"),
                ("client_id", "service"),
                ("client_secret", SECRET),
            ],
        )
        .await;
    let (status, error, _) = refusal(response).await;
    assert_eq!(
        (status, error.as_str()),
        (400, "invalid_request"),
        "RFC 6749 §2.3: one authentication method per request"
    );
}

#[tokio::test]
async fn an_unknown_client_is_answered_exactly_like_a_wrong_secret() {
    let p = Provider::start().await;
    let unknown = client_credentials(&p, Some(("nobody", WRONG_SECRET))).await;
    let unknown_challenge = unknown.headers().get("www-authenticate").cloned();
    let wrong = client_credentials(&p, Some(("service", WRONG_SECRET))).await;
    let wrong_challenge = wrong.headers().get("www-authenticate").cloned();
    let unknown = refusal(unknown).await;
    assert_eq!((unknown.0, unknown.1.as_str()), (401, "invalid_client"));
    assert_eq!(
        unknown,
        refusal(wrong).await,
        "nothing tells which clients exist"
    );
    assert_eq!(unknown_challenge, wrong_challenge);
}

#[tokio::test]
async fn a_public_client_cannot_use_client_credentials() {
    let p = Provider::start().await;
    let response = p
        .post_form(
            "/token",
            None,
            &[("grant_type", "client_credentials"), ("client_id", "cli")],
        )
        .await;
    let (status, error, _) = refusal(response).await;
    assert_eq!(
        (status, error.as_str()),
        (400, "unauthorized_client"),
        "RFC 6749 §4.4: confidential clients only"
    );
}
