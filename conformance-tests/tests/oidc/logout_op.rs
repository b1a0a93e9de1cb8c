//! RP-Initiated Logout OP and Back-Channel Logout OP (checklist §1.7, §1.8),
//! each check named after the suite module it mirrors.
//!
//! The suite's rule for the positive cases: after the logout, an
//! authorization request with `prompt=none` must fail, which proves the
//! session ended. Where a check can, it goes further and replays the old
//! session cookie by hand, so a provider that only cleared the cookie (and
//! kept the session) would fail.
//!
//! The negative cases (a hint or URI the provider cannot trust) must never
//! redirect to the relying party; an error page or the logout confirmation
//! page are both acceptable, as in the suite.

use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap as AxumHeaders;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use conformance_tests::browser::{Browser, Page};
use conformance_tests::provider::{CALLBACK, POST_LOGOUT, Provider, RP, client_spec};
use conformance_tests::rp_http_client;
use gatehouse::config::ClientSpec;
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, JwsVerifier};
use josekit::jwt::JwtPayload;
use openidconnect::TokenResponse as _;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

const STATE: &str = "af0ifjsldk";
const NONCE: &str = "n-0S6_WzA2";
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The suite's logout state: 128 characters, random VSCHAR (`%x20-7E`).
/// Every printable ASCII character is here once, so none can be mangled
/// unnoticed.
fn vschar_state() -> String {
    let printable: String = (0x20_u8..=0x7e).map(char::from).collect();
    format!("{printable}{}", "x".repeat(128 - printable.len()))
}

fn end_session_url(p: &Provider, params: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{}/end_session?{query}", p.app.issuer)
}

fn decode_segment(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).expect("a JWS segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// Signs in to `client` in `browser` and returns the ID token.
async fn sign_in(p: &Provider, browser: &Browser, client: &str) -> String {
    let callback = p
        .sign_in(browser, &Provider::request(client, STATE, NONCE, &[]))
        .await;
    let code = callback.param("code").expect("a code");
    let token = p.exchange(&p.rp(client), code, None).await;
    token.id_token().expect("an ID token").to_string()
}

/// The answer to `prompt=none` for `client` in `browser`: the callback's
/// `code` or `error`.
async fn prompt_none(p: &Provider, browser: &Browser) -> Result<String, String> {
    let params = Provider::request("client", STATE, NONCE, &[("prompt", "none")]);
    let callback = browser
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_redirect();
    match (callback.param("code"), callback.param("error")) {
        (Some(code), None) => Ok(code.to_owned()),
        (None, Some(error)) => Err(error.to_owned()),
        _ => panic!("neither code nor error: {callback:?}"),
    }
}

async fn assert_signed_out(p: &Provider, browser: &Browser) {
    assert_eq!(
        prompt_none(p, browser).await,
        Err("login_required".to_owned()),
        "prompt=none after logout"
    );
}

async fn assert_still_signed_in(p: &Provider, browser: &Browser) {
    assert!(
        prompt_none(p, browser).await.is_ok(),
        "the session must survive a logout request nobody confirmed"
    );
}

/// `prompt=none` sent by hand with a session cookie captured earlier: after
/// a logout it must fail even though the cookie is replayed, since the
/// provider has to end the session itself, not only ask the browser to
/// forget it. Returns the callback's `code` or `error`.
async fn prompt_none_with_cookie(p: &Provider, cookie: &str) -> Result<String, String> {
    let params = Provider::request("client", STATE, NONCE, &[("prompt", "none")]);
    let response = rp_http_client()
        .get(p.authorize_url(&params))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(CALLBACK), "{location}");
    let url = url::Url::parse(&location).unwrap();
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    match (param("code"), param("error")) {
        (Some(code), None) => Ok(code),
        (None, Some(error)) => Err(error),
        _ => panic!("neither code nor error: {location}"),
    }
}

async fn assert_session_gone_server_side(p: &Provider, old_cookie: &str) {
    assert_eq!(
        prompt_none_with_cookie(p, old_cookie).await,
        Err("login_required".to_owned()),
        "the old session cookie still works"
    );
}

fn session_cookie(p: &Provider, browser: &Browser) -> String {
    browser
        .cookie_header(&p.app.issuer)
        .expect("a session cookie after signing in")
}

fn is_confirmation_page(page: &Page) -> bool {
    page.form_for("/end_session").is_some_and(|i| {
        let form = &page.forms[i];
        form.method == "post"
            && form.fields.iter().any(|(n, _)| n == "csrf")
            && form
                .buttons
                .iter()
                .any(|(n, v)| n == "confirm" && v == "yes")
    })
}

/// The provider kept the person on its own pages: an error page or the
/// logout confirmation, and no redirect to any relying-party URI.
fn assert_stays_on_provider(page: &Page) {
    assert!(
        page.redirects.iter().all(|r| !r.starts_with(RP)),
        "redirected to the relying party: {:?}",
        page.redirects
    );
    assert!(
        page.forms.iter().all(|f| !f.action.starts_with(RP)),
        "a form posts to the relying party: {}",
        page.body
    );
    let error_page = (400..500).contains(&page.status);
    assert!(
        error_page || (page.status == 200 && is_confirmation_page(page)),
        "expected an error page or the logout confirmation, got {}",
        page.describe()
    );
}

/// Presses "Sign out" on a confirmation page.
async fn confirm(browser: &Browser, page: &Page) -> conformance_tests::browser::Outcome {
    let form = page
        .form_for("/end_session")
        .expect("the confirmation form");
    browser
        .submit(page, form, &[], Some(("confirm", "yes")), RP)
        .await
}

fn assert_signed_out_page(page: &Page) {
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("You are signed out"),
        "{}",
        page.text()
    );
    assert!(
        page.redirects.iter().all(|r| !r.starts_with(RP)),
        "no redirect without a verified post_logout_redirect_uri: {:?}",
        page.redirects
    );
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_discovery_endpoint_verification() {
    let p = Provider::start().await;
    let doc: Value = rp_http_client()
        .get(format!("{}/.well-known/openid-configuration", p.app.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The suite also wants https; the test issuer is http on loopback, so
    // the check here is that the endpoint hangs off the issuer.
    assert_eq!(
        doc["end_session_endpoint"],
        format!("{}/end_session", p.app.issuer)
    );
    for (key, value) in doc.as_object().unwrap() {
        if key.ends_with("_endpoint") {
            assert!(
                value.as_str().unwrap().starts_with(&p.app.issuer),
                "{key} must use the issuer's scheme and host"
            );
        }
    }
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(
        doc["backchannel_logout_session_supported"], true,
        "certification requires sid support"
    );
}

#[tokio::test]
async fn oidcc_rp_initiated_logout() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let id_token = sign_in(&p, &browser, "client").await;
    let old_cookie = session_cookie(&p, &browser);
    let state = vschar_state();

    // Sent as the browser would, but by hand so the status and the exact
    // Location are visible and the browser keeps its (now dead) cookie.
    let response = rp_http_client()
        .get(end_session_url(
            &p,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", POST_LOGOUT),
                ("state", &state),
            ],
        ))
        .header("cookie", &old_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let mut bare = location.clone();
    bare.set_query(None);
    assert_eq!(bare.as_str(), POST_LOGOUT);
    let params: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(
        params,
        vec![("state".to_owned(), state)],
        "exactly the state, byte for byte"
    );

    // The browser still sends the old cookie: only the server side can
    // make this fail.
    assert_signed_out(&p, &browser).await;
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_no_state() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let id_token = sign_in(&p, &browser, "client").await;
    let url = end_session_url(
        &p,
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", POST_LOGOUT),
        ],
    );
    let back = browser.navigate(&url, POST_LOGOUT).await.expect_redirect();
    assert_eq!(back.url, POST_LOGOUT, "no state, nothing else");
    assert!(back.params.is_empty(), "{:?}", back.params);
    assert_signed_out(&p, &browser).await;
    let events = gatehouse::db::audit::find_audit_events(&p.app.state.db, None, 50)
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| e.kind == "logout"),
        "the logout is audited"
    );
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_bad_post_logout_redirect_uri() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let id_token = sign_in(&p, &browser, "client").await;
    let unregistered = format!("{RP}/bad_post_logout_redirect_uri");
    let url = end_session_url(
        &p,
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", &unregistered),
            ("state", STATE),
        ],
    );
    let page = browser.navigate(&url, RP).await.expect_page();
    assert_stays_on_provider(&page);
    assert!(!page.body.contains(&unregistered), "the URI is not linked");
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let id_token = sign_in(&p, &browser, "client").await;
    let with_query = format!("{POST_LOGOUT}?foo=bar");
    let url = end_session_url(
        &p,
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", &with_query),
            ("state", STATE),
        ],
    );
    let page = browser.navigate(&url, RP).await.expect_page();
    assert_stays_on_provider(&page);
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_modified_id_token_hint() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let id_token = sign_in(&p, &browser, "client").await;
    // The suite's tampering: the same claims re-headed as unsigned.
    let payload = id_token.split('.').nth(1).unwrap();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    let unsigned = format!("{none_header}.{payload}.");
    let url = end_session_url(
        &p,
        &[
            ("id_token_hint", &unsigned),
            ("post_logout_redirect_uri", POST_LOGOUT),
            ("state", STATE),
        ],
    );
    let page = browser.navigate(&url, RP).await.expect_page();
    assert_stays_on_provider(&page);
    assert_still_signed_in(&p, &browser).await;
}

/// The provider's RS256 signing key id, to make a forgery look genuine.
async fn provider_rs256_kid(p: &Provider) -> String {
    let jwks = fetch_raw_jwks(p).await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kty"] == "RSA")
        .and_then(|k| k["kid"].as_str())
        .expect("an RSA key with a kid")
        .to_owned()
}

/// A JWT with `claims` signed RS256 by a key the provider never saw.
fn signed_by_a_stranger(claims: &Value, kid: &str) -> String {
    let key = josekit::jws::RS256.generate_key_pair(2048).unwrap();
    let signer = josekit::jws::RS256
        .signer_from_der(key.to_der_private_key())
        .unwrap();
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(kid);
    let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
    josekit::jwt::encode_with_signer(&payload, &header, &signer).unwrap()
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_bad_id_token_hint() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let id_token = sign_in(&p, &browser, "client").await;
    let genuine = decode_segment(&id_token, 1);
    let now = gatehouse::clock::Clock::unix(p.app.clock.as_ref());
    let kid = provider_rs256_kid(&p).await;
    // The suite's token (iss=client_id, aud=issuer), then a lookalike of the
    // genuine one under the provider's own kid: only the signature differs.
    let suite_token = json!({
        "iss": "client", "aud": p.app.issuer, "sub": "SubjectID",
        "nonce": "fake-nonce", "iat": now, "exp": now + 300,
    });
    for (what, hint) in [
        (
            "the suite's token",
            signed_by_a_stranger(&suite_token, "suite-key"),
        ),
        ("a lookalike token", signed_by_a_stranger(&genuine, &kid)),
    ] {
        let url = end_session_url(
            &p,
            &[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", POST_LOGOUT),
                ("state", STATE),
            ],
        );
        let outcome = browser.navigate(&url, RP).await;
        let page = match outcome {
            conformance_tests::browser::Outcome::Page(page) => page,
            other => panic!("{what}: expected a page, got {}", other.describe()),
        };
        assert_stays_on_provider(&page);
        assert_still_signed_in(&p, &browser).await;
    }
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_no_id_token_hint() {
    let p = Provider::start().await;
    let browser = Browser::new();
    sign_in(&p, &browser, "client").await;
    let url = end_session_url(
        &p,
        &[("post_logout_redirect_uri", POST_LOGOUT), ("state", STATE)],
    );
    let page = browser.navigate(&url, RP).await.expect_page();
    assert_stays_on_provider(&page);
    // Nobody can tell who asked: nothing happens before the person confirms.
    assert_still_signed_in(&p, &browser).await;
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_no_params() {
    let p = Provider::start().await;
    let browser = Browser::new();
    sign_in(&p, &browser, "client").await;
    let old_cookie = session_cookie(&p, &browser);
    let page = browser
        .navigate(&format!("{}/end_session", p.app.issuer), RP)
        .await
        .expect_page();
    assert_eq!(page.status, 200);
    assert!(
        is_confirmation_page(&page),
        "the confirmation page: {}",
        page.describe()
    );
    assert!(page.text().contains("Sign out"), "{}", page.text());
    assert_still_signed_in(&p, &browser).await;
    assert!(
        prompt_none_with_cookie(&p, &old_cookie).await.is_ok(),
        "the replayed cookie works while the session lives"
    );

    let done = confirm(&browser, &page).await.expect_page();
    assert_signed_out_page(&done);
    assert_signed_out(&p, &browser).await;
    assert_session_gone_server_side(&p, &old_cookie).await;
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_no_post_logout_redirect_uri() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let id_token = sign_in(&p, &browser, "client").await;
    let old_cookie = session_cookie(&p, &browser);
    let url = end_session_url(&p, &[("id_token_hint", &id_token), ("state", STATE)]);
    let page = browser.navigate(&url, RP).await.expect_page();
    // A valid hint says who asked: no confirmation is needed, but there is
    // nowhere to send the person back to.
    let page = if is_confirmation_page(&page) {
        confirm(&browser, &page).await.expect_page()
    } else {
        page
    };
    assert_signed_out_page(&page);
    assert_signed_out(&p, &browser).await;
    assert_session_gone_server_side(&p, &old_cookie).await;
}

#[tokio::test]
async fn oidcc_rp_initiated_logout_only_state() {
    let p = Provider::start().await;
    let browser = Browser::new();
    sign_in(&p, &browser, "client").await;
    let state = vschar_state();
    let page = browser
        .navigate(&end_session_url(&p, &[("state", &state)]), RP)
        .await
        .expect_page();
    assert!(
        is_confirmation_page(&page),
        "the confirmation page: {}",
        page.describe()
    );
    assert_eq!(
        page.field("state"),
        Some(state.as_str()),
        "the state is carried through the confirmation"
    );
    assert_still_signed_in(&p, &browser).await;

    let done = confirm(&browser, &page).await.expect_page();
    assert_signed_out_page(&done);
    assert_signed_out(&p, &browser).await;
}

#[tokio::test]
async fn confirming_a_logout_with_client_id_returns_to_its_registered_uri() {
    let p = Provider::start().await;
    let browser = Browser::new();
    sign_in(&p, &browser, "client").await;
    let url = end_session_url(
        &p,
        &[
            ("client_id", "client"),
            ("post_logout_redirect_uri", POST_LOGOUT),
            ("state", STATE),
        ],
    );
    let page = browser.navigate(&url, RP).await.expect_page();
    assert!(is_confirmation_page(&page), "{}", page.describe());
    assert_eq!(page.field("client_id"), Some("client"));
    assert_eq!(page.field("post_logout_redirect_uri"), Some(POST_LOGOUT));

    let back = confirm(&browser, &page).await.expect_redirect();
    let mut bare = url::Url::parse(&back.url).unwrap();
    bare.set_query(None);
    assert_eq!(bare.as_str(), POST_LOGOUT);
    assert_eq!(back.params, vec![("state".to_owned(), STATE.to_owned())]);
    assert_signed_out(&p, &browser).await;
}

#[tokio::test]
async fn the_logout_confirmation_without_its_csrf_field_is_refused() {
    let p = Provider::start().await;
    let browser = Browser::new();
    sign_in(&p, &browser, "client").await;
    let page = browser
        .navigate(&format!("{}/end_session", p.app.issuer), RP)
        .await
        .expect_page();
    let index = page
        .form_for("/end_session")
        .expect("the confirmation form");
    let form = &page.forms[index];

    // The field left out, as a cross-site form would have to.
    let mut fields: Vec<(String, String)> = form
        .fields
        .iter()
        .filter(|(name, _)| name != "csrf")
        .cloned()
        .collect();
    fields.push(("confirm".to_owned(), "yes".to_owned()));
    let refused = browser.post(&form.action, &fields, RP).await.expect_page();
    assert!(
        (400..500).contains(&refused.status),
        "{}",
        refused.describe()
    );
    assert!(!refused.text().contains("You are signed out"));
    assert_still_signed_in(&p, &browser).await;

    // A guessed value fares no better.
    let forged = browser
        .submit(
            &page,
            index,
            &[("csrf", "forged-forged-forged-forged-forged-forged-f")],
            Some(("confirm", "yes")),
            RP,
        )
        .await
        .expect_page();
    assert!((400..500).contains(&forged.status), "{}", forged.describe());
    assert_still_signed_in(&p, &browser).await;
}

// Back-channel logout (checklist §1.8).

/// What a back-channel logout receiver got in one POST.
#[derive(Debug)]
struct Delivery {
    content_type: String,
    body: String,
}

/// A relying party's back-channel logout endpoint on a free loopback port,
/// answering as the suite does (200, `Cache-Control: no-store`).
struct Receiver {
    uri: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
}

impl Receiver {
    async fn start() -> Self {
        let (sender, deliveries) = mpsc::unbounded_channel();
        let app = Router::new().route(
            "/backchannel_logout",
            post(move |headers: AxumHeaders, body: String| async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let _ = sender.send(Delivery { content_type, body });
                ([("cache-control", "no-store")], "")
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!(
            "http://{}/backchannel_logout",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { uri, deliveries }
    }

    /// The next delivery; fails the check when none comes in time.
    async fn next(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(10), self.deliveries.recv())
            .await
            .expect("a back-channel logout POST within 10 s")
            .expect("the receiver is running")
    }
}

/// Registers a client that wants back-channel logout at `uri`, with sid.
async fn register_backchannel_client(p: &Provider, client_id: &str, uri: &str) {
    p.app
        .create_client(ClientSpec {
            backchannel_logout_uri: Some(uri.to_owned()),
            backchannel_logout_session_required: true,
            ..client_spec(
                client_id,
                "client_secret_basic",
                &["authorization_code", "refresh_token"],
            )
        })
        .await;
}

async fn fetch_raw_jwks(p: &Provider) -> Value {
    rp_http_client()
        .get(p.metadata.jwks_uri().as_str())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn kty_for(alg: &str) -> &'static str {
    match alg {
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => "RSA",
        "ES256" | "ES384" | "ES512" => "EC",
        "EdDSA" => "OKP",
        other => panic!("unexpected alg {other}"),
    }
}

/// Verifies `token` against the provider's JWKS with the suite's key rules
/// (checklist §2.2): a kid in the header, exactly one JWK with that kid whose
/// kty fits the alg, whose `alg` (if any) is the header's and whose `use`
/// (if any) is `sig`. Returns the verified header and claims.
async fn verify_with_jwks(p: &Provider, token: &str) -> (Map<String, Value>, Map<String, Value>) {
    let header = decode_segment(token, 0);
    let alg = header["alg"].as_str().expect("an alg");
    let kid = header["kid"].as_str().expect("a kid in the header");
    let jwks = fetch_raw_jwks(p).await;
    let candidates: Vec<&Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kid"] == kid && k["kty"] == kty_for(alg))
        .filter(|k| k.get("alg").is_none_or(|a| a == alg))
        .filter(|k| k.get("use").is_none_or(|u| u == "sig"))
        .collect();
    assert_eq!(candidates.len(), 1, "exactly one JWK for kid {kid}");
    let jwk = Jwk::from_map(candidates[0].as_object().unwrap().clone()).unwrap();
    let verifier: Box<dyn JwsVerifier> = match alg {
        "RS256" => Box::new(josekit::jws::RS256.verifier_from_jwk(&jwk).unwrap()),
        "ES256" => Box::new(josekit::jws::ES256.verifier_from_jwk(&jwk).unwrap()),
        "EdDSA" => Box::new(josekit::jws::EdDSA.verifier_from_jwk(&jwk).unwrap()),
        other => panic!("unexpected alg {other}"),
    };
    let (payload, header) = josekit::jwt::decode_with_verifier(token, verifier.as_ref())
        .unwrap_or_else(|e| panic!("the logout token does not verify: {e}"));
    (header.claims_set().clone(), payload.claims_set().clone())
}

#[tokio::test]
async fn oidcc_backchannel_rp_initiated_logout() {
    let p = Provider::start().await;
    let mut receiver = Receiver::start().await;
    register_backchannel_client(&p, "rp_bc", &receiver.uri).await;
    let browser = Browser::new();
    let id_token = sign_in(&p, &browser, "rp_bc").await;
    let id_claims = decode_segment(&id_token, 1);
    let sid = id_claims["sid"].as_str().expect("a sid in the ID token");

    let url = end_session_url(
        &p,
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", POST_LOGOUT),
            ("state", STATE),
        ],
    );
    let back = browser.navigate(&url, POST_LOGOUT).await.expect_redirect();
    assert_eq!(back.params, vec![("state".to_owned(), STATE.to_owned())]);

    let delivery = receiver.next().await;
    assert!(
        delivery
            .content_type
            .starts_with("application/x-www-form-urlencoded"),
        "{delivery:?}"
    );
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(delivery.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(fields.len(), 1, "only logout_token: {fields:?}");
    assert_eq!(fields[0].0, "logout_token");
    let (header, claims) = verify_with_jwks(&p, &fields[0].1).await;

    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(claims["iss"], p.app.issuer.as_str());
    assert!(
        claims["aud"] == "rp_bc"
            || claims["aud"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == "rp_bc")),
        "aud: {}",
        claims["aud"]
    );
    let now = gatehouse::clock::Clock::unix(p.app.clock.as_ref());
    let iat = claims["iat"].as_i64().expect("iat");
    assert!(
        iat <= now + 300 && iat >= now - 86_400,
        "iat {iat}, now {now}"
    );
    // Back-Channel Logout 1.0 §2.4 makes exp required too.
    assert!(claims["exp"].as_i64().expect("exp") > iat);
    assert!(
        claims["jti"].as_str().is_some_and(|j| !j.is_empty()),
        "a jti"
    );
    let events = claims["events"].as_object().expect("events is an object");
    assert_eq!(events.len(), 1, "exactly one event: {events:?}");
    assert_eq!(events[BACKCHANNEL_EVENT], json!({}));
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert_eq!(claims["sub"], p.user.to_string());
    assert_eq!(claims["sid"], sid);
    assert!(claims.get("nonce").is_none(), "a logout token has no nonce");

    assert_signed_out(&p, &browser).await;
}

#[tokio::test]
async fn a_client_that_took_no_part_in_the_session_is_not_told() {
    let p = Provider::start().await;
    let mut participant = Receiver::start().await;
    let mut bystander = Receiver::start().await;
    register_backchannel_client(&p, "rp_bc", &participant.uri).await;
    register_backchannel_client(&p, "rp_idle", &bystander.uri).await;
    let browser = Browser::new();
    let id_token = sign_in(&p, &browser, "rp_bc").await;

    let url = end_session_url(
        &p,
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", POST_LOGOUT),
        ],
    );
    browser.navigate(&url, POST_LOGOUT).await.expect_redirect();

    // Deliveries finish before the logout answers; the participant's
    // arrival shows they ran, so the bystander's silence is meaningful.
    let delivery = participant.next().await;
    assert!(delivery.body.starts_with("logout_token="));
    assert!(
        bystander.deliveries.try_recv().is_err(),
        "a client outside the session was told"
    );
    assert!(
        participant.deliveries.try_recv().is_err(),
        "the participant is told once"
    );
}

#[tokio::test]
async fn a_receiver_that_is_down_does_not_stop_the_logout() {
    let p = Provider::start().await;
    // A port that was just free and is now closed: connections are refused.
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let uri = format!("http://{closed}/backchannel_logout");
    register_backchannel_client(&p, "rp_down", &uri).await;
    let browser = Browser::new();
    let id_token = sign_in(&p, &browser, "rp_down").await;
    let old_cookie = session_cookie(&p, &browser);

    let url = end_session_url(
        &p,
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", POST_LOGOUT),
            ("state", STATE),
        ],
    );
    let back = browser.navigate(&url, POST_LOGOUT).await.expect_redirect();
    assert_eq!(back.param("state"), Some(STATE));
    assert_signed_out(&p, &browser).await;
    assert_session_gone_server_side(&p, &old_cookie).await;
}
