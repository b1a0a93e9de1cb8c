//! Pushed authorization requests (RFC 9126): the client posts the request to
//! `/par` over its authenticated back channel (§2), gets a short-lived,
//! single-use `request_uri` (§2.2), and sends the browser to `/authorize`
//! with only that and its `client_id` (§4). The OpenID Foundation runs these
//! checks in its FAPI 2 plans only, so the names here are sentences.

use std::time::Duration;

use conformance_tests::browser::Browser;
use conformance_tests::provider::{CALLBACK, Provider, RP, SECRET, client_spec};
use gatehouse::config::ClientSpec;
use openidconnect::core::CoreIdTokenClaims;
use openidconnect::{Nonce, PkceCodeChallenge, TokenResponse as _};
use serde_json::Value;

const STATE: &str = "par-state-7Qx";
const NONCE: &str = "par-nonce-4kW";
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The usual request of `client_id` plus `extra`, as the pushed body.
fn pushed<'a>(client_id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = Provider::request(client_id, STATE, NONCE, extra);
    params.retain(|(name, _)| *name != "client_id");
    params
}

/// Pushes `form` as `client` with `client_secret_basic`; returns the raw answer.
async fn push_basic(p: &Provider, client: &str, form: &[(&str, &str)]) -> reqwest::Response {
    p.post_form("/par", Some((client, SECRET)), form).await
}

/// Pushes and returns the `request_uri`, insisting on 201.
async fn request_uri(p: &Provider, client: &str, form: &[(&str, &str)]) -> String {
    let response = push_basic(p, client, form).await;
    assert_eq!(response.status(), 201, "RFC 9126 §2.2: 201 Created");
    let body: Value = response.json().await.unwrap();
    body["request_uri"].as_str().unwrap().to_owned()
}

/// `/authorize` with only `client_id` and `request_uri` (RFC 9126 §4).
fn authorize_by_reference(p: &Provider, client_id: &str, request_uri: &str) -> String {
    p.authorize_url(&[("client_id", client_id), ("request_uri", request_uri)])
}

/// The page `url` leads to, checking it never sends the browser to the client.
async fn error_page(url: &str) -> conformance_tests::browser::Page {
    let page = Browser::new().navigate(url, RP).await.expect_page();
    assert!(
        page.redirects.iter().all(|r| !r.starts_with(RP)),
        "never redirected to the client: {:?}",
        page.redirects
    );
    page
}

/// A JSON error answered on the back channel: its status and `error`.
async fn json_error(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "errors are JSON (RFC 9126 §2.3)"
    );
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_pushed_request_yields_a_code_and_tokens() {
    let p = Provider::start().await;
    let discovery: Value = p
        .app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["pushed_authorization_request_endpoint"],
        format!("{}/par", p.app.issuer),
        "RFC 9126 §5: the endpoint is advertised"
    );

    let response = push_basic(&p, "client", &pushed("client", &[])).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let request_uri = body["request_uri"].as_str().unwrap();
    assert!(
        request_uri.starts_with(REQUEST_URI_PREFIX) && request_uri.len() > REQUEST_URI_PREFIX.len(),
        "{request_uri}"
    );
    assert!(body["expires_in"].as_u64().unwrap() > 0);

    let callback = p
        .sign_in(
            &Browser::new(),
            &[("client_id", "client"), ("request_uri", request_uri)],
        )
        .await;
    assert!(callback.url.starts_with(CALLBACK));
    assert_eq!(callback.param("state"), Some(STATE), "the pushed state");
    let rp = p.rp("client");
    let token = p.exchange(&rp, callback.param("code").unwrap(), None).await;
    let claims: &CoreIdTokenClaims = token
        .id_token()
        .expect("an ID token")
        .claims(&rp.id_token_verifier(), &Nonce::new(NONCE.to_owned()))
        .unwrap_or_else(|e| panic!("ID token rejected: {e:?}"));
    assert_eq!(claims.subject().as_str(), p.user.to_string());
}

#[tokio::test]
async fn parameters_beside_the_request_uri_are_ignored() {
    let p = Provider::start().await;
    let request_uri = request_uri(&p, "client", &pushed("client", &[])).await;
    let callback = p
        .sign_in(
            &Browser::new(),
            &[
                ("client_id", "client"),
                ("request_uri", &request_uri),
                ("state", "from-the-browser"),
            ],
        )
        .await;
    assert_eq!(
        callback.param("state"),
        Some(STATE),
        "RFC 9126 §4: only the pushed parameters count"
    );
}

#[tokio::test]
async fn a_request_uri_can_be_used_only_once() {
    let p = Provider::start().await;
    let request_uri = request_uri(&p, "client", &pushed("client", &[])).await;
    let url = authorize_by_reference(&p, "client", &request_uri);
    let first = Browser::new().navigate(&url, RP).await.expect_page();
    assert!(
        first.form_for("/login/username").is_some(),
        "the first use starts the sign-in: {}",
        first.describe()
    );
    let second = error_page(&url).await;
    assert_eq!(second.status, 400);
    assert!(second.form_for("/login/username").is_none());
}

#[tokio::test]
async fn a_request_uri_expires() {
    let p = Provider::start().await;
    let response = push_basic(&p, "client", &pushed("client", &[])).await;
    let body: Value = response.json().await.unwrap();
    let request_uri = body["request_uri"].as_str().unwrap();
    let lifetime = body["expires_in"].as_u64().unwrap();
    p.app.clock.advance(Duration::from_secs(lifetime + 1));
    let page = error_page(&authorize_by_reference(&p, "client", request_uri)).await;
    assert_eq!(page.status, 400);
    assert!(page.form_for("/login/username").is_none());
}

#[tokio::test]
async fn a_request_uri_presented_with_another_client_id_is_refused() {
    let p = Provider::start().await;
    let request_uri = request_uri(&p, "client", &pushed("client", &[])).await;
    let page = error_page(&authorize_by_reference(&p, "client2", &request_uri)).await;
    assert_eq!(page.status, 400, "RFC 9126 §4: client_id must match");
    assert!(page.form_for("/login/username").is_none());
}

#[tokio::test]
async fn invalid_pushed_parameters_are_answered_on_the_back_channel() {
    let p = Provider::start().await;
    let bogus = format!("{CALLBACK}/not-registered");
    let bad_redirect = pushed("client", &[("redirect_uri", &bogus)]);
    assert_eq!(
        json_error(push_basic(&p, "client", &bad_redirect).await).await,
        (400, "invalid_request".to_owned())
    );
    let bad_scope = pushed("client", &[("scope", "openid admin")]);
    assert_eq!(
        json_error(push_basic(&p, "client", &bad_scope).await).await,
        (400, "invalid_scope".to_owned())
    );
}

#[tokio::test]
async fn an_unauthenticated_push_is_invalid_client() {
    let p = Provider::start().await;
    let mut form = pushed("client", &[]);
    form.push(("client_id", "client"));
    let no_secret = p.post_form("/par", None, &form).await;
    assert_eq!(
        json_error(no_secret).await,
        (401, "invalid_client".to_owned())
    );
    let wrong_secret = p
        .post_form(
            "/par",
            Some(("client", "wrong-secret-wrong-secret-wrong-secret")),
            &pushed("client", &[]),
        )
        .await;
    assert_eq!(
        json_error(wrong_secret).await,
        (401, "invalid_client".to_owned())
    );
}

#[tokio::test]
async fn a_client_that_requires_par_is_refused_without_it_and_served_with_it() {
    let p = Provider::start().await;
    p.app
        .create_client(ClientSpec {
            require_par: true,
            ..client_spec(
                "par_only",
                "client_secret_basic",
                &["authorization_code", "refresh_token"],
            )
        })
        .await;
    let direct = Provider::request("par_only", STATE, NONCE, &[]);
    let refused = Browser::new()
        .navigate(&p.authorize_url(&direct), RP)
        .await
        .expect_redirect();
    assert_eq!(refused.param("error"), Some("invalid_request"));
    assert_eq!(refused.param("state"), Some(STATE));
    assert_eq!(refused.param("code"), None);

    let request_uri = request_uri(&p, "par_only", &pushed("par_only", &[])).await;
    let callback = p
        .sign_in(
            &Browser::new(),
            &[("client_id", "par_only"), ("request_uri", &request_uri)],
        )
        .await;
    assert!(callback.param("code").is_some(), "{callback:?}");
}

#[tokio::test]
async fn a_public_client_pushes_with_its_client_id_and_pkce() {
    let p = Provider::start().await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut form = pushed(
        "cli",
        &[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    );
    form.push(("client_id", "cli"));
    let response = p.post_form("/par", None, &form).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let request_uri = body["request_uri"].as_str().unwrap();

    let callback = p
        .sign_in(
            &Browser::new(),
            &[("client_id", "cli"), ("request_uri", request_uri)],
        )
        .await;
    let token = p
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "cli"),
                ("code", callback.param("code").unwrap()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", verifier.secret()),
            ],
        )
        .await;
    assert_eq!(token.status(), 200);
    let token: Value = token.json().await.unwrap();
    assert!(token["access_token"].is_string() && token["id_token"].is_string());
}

#[tokio::test]
async fn a_pushed_request_cannot_carry_a_request_uri() {
    let p = Provider::start().await;
    let nested = format!("{REQUEST_URI_PREFIX}nested");
    let form = pushed("client", &[("request_uri", &nested)]);
    assert_eq!(
        json_error(push_basic(&p, "client", &form).await).await,
        (400, "invalid_request".to_owned()),
        "RFC 9126 §2.1: request_uri MUST NOT be pushed"
    );
}
