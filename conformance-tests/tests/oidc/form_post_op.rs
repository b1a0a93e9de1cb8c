//! Form Post OP (checklist §1.6): the Basic OP essentials again with
//! `response_mode=form_post` on every authorization request. The suite adds
//! these callback checks: the answer reaches the client as a POST of an
//! `application/x-www-form-urlencoded` form, nothing (neither `code` nor
//! `error`) travels in the query, and error responses use `form_post` too.

use conformance_tests::browser::{Browser, Outcome, Page};
use conformance_tests::provider::{CALLBACK, PASSWORD, Provider, RP, SECRET, USERNAME};
use conformance_tests::rp_http_client;
use openidconnect::core::CoreTokenResponse;
use openidconnect::{AuthType, Nonce, TokenResponse as _};
use serde_json::Value;

const STATE: &str = "af0ifjsldk";
const NONCE: &str = "n-0S6_WzA2";
const FORM_POST: (&str, &str) = ("response_mode", "form_post");

/// The suite's 128-character state ending in `-._~` (checklist §0).
fn long_state() -> String {
    format!("{}-._~", "a".repeat(124))
}

/// The suite's request for `client` with `response_mode=form_post`, plus `extra`.
fn form_post_request<'a>(
    client: &'a str,
    state: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![FORM_POST];
    all.extend_from_slice(extra);
    Provider::request(client, state, NONCE, &all)
}

/// The `form_post` page of `outcome`: its action, its fields, the page.
fn expect_form_post(outcome: Outcome) -> (String, Vec<(String, String)>, Page) {
    match outcome {
        Outcome::FormPost {
            action,
            params,
            page,
        } => (action, params, *page),
        other => panic!(
            "expected a form_post to the client, got {}",
            other.describe()
        ),
    }
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Signs in with `form_post`; returns the code after checking the delivery.
async fn form_post_code(p: &Provider, client: &str) -> String {
    let params = form_post_request(client, STATE, &[]);
    let outcome = Browser::new()
        .login(&p.authorize_url(&params), USERNAME, PASSWORD, true, RP)
        .await;
    let (action, fields, _) = expect_form_post(outcome);
    assert_eq!(action, CALLBACK, "posted to the redirect_uri, no query");
    assert_eq!(field(&fields, "state"), Some(STATE));
    field(&fields, "code").expect("a code").to_owned()
}

fn verified_sub(p: &Provider, client: &str, token: &CoreTokenResponse) -> String {
    let rp = p.rp(client);
    token
        .id_token()
        .expect("an ID token")
        .claims(&rp.id_token_verifier(), &Nonce::new(NONCE.to_owned()))
        .unwrap_or_else(|e| panic!("ID token rejected: {e:?}"))
        .subject()
        .to_string()
}

/// The sources of `directive` in a Content-Security-Policy header.
fn csp_sources(page: &Page, directive: &str) -> Vec<String> {
    let policy = page
        .headers
        .get("content-security-policy")
        .expect("a Content-Security-Policy on the form_post page")
        .to_str()
        .unwrap();
    policy
        .split(';')
        .map(str::split_whitespace)
        .find_map(|mut words| {
            (words.next() == Some(directive)).then(|| words.map(str::to_owned).collect())
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn oidcc_server() {
    let p = Provider::start().await;
    let params = form_post_request("client", STATE, &[]);
    let outcome = Browser::new()
        .login(&p.authorize_url(&params), USERNAME, PASSWORD, true, RP)
        .await;
    let (action, fields, page) = expect_form_post(outcome);

    // The response travels in the POST body only: the action is exactly the
    // registered redirect_uri, with no query carrying code or error.
    assert_eq!(action, CALLBACK);
    assert!(
        page.redirects.iter().all(|r| !r.starts_with(RP)),
        "nothing reached the client by redirect: {:?}",
        page.redirects
    );
    assert_eq!(field(&fields, "state"), Some(STATE));
    assert_eq!(
        field(&fields, "iss"),
        Some(p.app.issuer.as_str()),
        "RFC 9207 iss"
    );
    assert_eq!(field(&fields, "error"), None);
    let code = field(&fields, "code").expect("a code");
    assert!(code.len() >= 22, "at least 128 bits");

    // The browser posts it urlencoded: the form sets no other encoding.
    assert!(
        !page.body.contains("multipart/form-data") && !page.body.contains("text/plain"),
        "the form must post application/x-www-form-urlencoded: {}",
        page.body
    );
    // It submits itself with our script, and a person without JavaScript
    // presses Continue.
    assert!(
        page.body
            .contains(r#"<script src="/assets/form_post.js"></script>"#),
        "{}",
        page.body
    );
    assert!(page.text().contains("Continue"), "{}", page.text());
    assert!(
        page.body.contains(">Continue</button>") || page.body.contains(r#"value="Continue""#),
        "Continue is a button: {}",
        page.body
    );
    let script = rp_http_client()
        .get(format!("{}/assets/form_post.js", p.app.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200, "the auto-submit script is served");
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    // The page's own CSP must let the form go to the client's origin.
    let form_action = csp_sources(&page, "form-action");
    assert!(
        form_action.iter().any(|s| s == RP),
        "form-action must allow {RP}: {form_action:?}"
    );

    let token = p.exchange(&p.rp("client"), code, None).await;
    assert_eq!(verified_sub(&p, "client", &token), p.user.to_string());
}

#[tokio::test]
async fn oidcc_response_type_missing() {
    let p = Provider::start().await;
    let mut params = form_post_request("client", STATE, &[]);
    params.retain(|(k, _)| *k != "response_type");
    let outcome = Browser::new().navigate(&p.authorize_url(&params), RP).await;
    let (action, fields, _) = expect_form_post(outcome);
    assert_eq!(action, CALLBACK, "the error is not in a query either");
    assert_eq!(field(&fields, "error"), Some("invalid_request"));
    assert_eq!(field(&fields, "state"), Some(STATE));
    assert_eq!(field(&fields, "code"), None);
}

#[tokio::test]
async fn oidcc_prompt_none_not_logged_in() {
    let p = Provider::start().await;
    let state = long_state();
    let params = form_post_request("client", &state, &[("prompt", "none")]);
    let outcome = Browser::new().navigate(&p.authorize_url(&params), RP).await;
    let (action, fields, _) = expect_form_post(outcome);
    assert_eq!(action, CALLBACK);
    assert_eq!(field(&fields, "error"), Some("login_required"));
    assert_eq!(
        field(&fields, "state"),
        Some(state.as_str()),
        "state echoed byte for byte"
    );
    assert_eq!(field(&fields, "code"), None);
}

#[tokio::test]
async fn oidcc_server_client_secret_post() {
    let p = Provider::start().await;
    let code = form_post_code(&p, "client_post").await;
    let rp = p.rp("client_post").set_auth_type(AuthType::RequestBody);
    let token = p.exchange(&rp, &code, None).await;
    assert_eq!(verified_sub(&p, "client_post", &token), p.user.to_string());
}

#[tokio::test]
async fn oidcc_codereuse() {
    let p = Provider::start().await;
    let code = form_post_code(&p, "client").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let redeem = || p.post_form("/token", Some(("client", SECRET)), &form);
    let first = redeem().await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let access_token = first["access_token"].as_str().unwrap().to_owned();

    let again = redeem().await;
    assert_eq!(again.status(), 400);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let userinfo = rp_http_client()
        .get(format!("{}/userinfo", p.app.issuer))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        userinfo.status(),
        401,
        "tokens from a replayed code are revoked"
    );
}

#[tokio::test]
async fn oidcc_ensure_registered_redirect_uri() {
    let p = Provider::start().await;
    let bogus = format!("{CALLBACK}/x7Gq2pLm0z");
    let params = form_post_request("client", STATE, &[("redirect_uri", &bogus)]);
    let page = Browser::new()
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_page();
    assert_eq!(page.status, 400);
    assert!(
        page.forms.iter().all(|f| !f.action.starts_with(RP)),
        "never a form to an unregistered URI: {}",
        page.body
    );
    assert!(
        page.redirects.iter().all(|r| !r.starts_with(RP)),
        "never redirected to the client"
    );
    assert!(!page.body.contains(&bogus), "the bogus URI is not echoed");
}

#[tokio::test]
async fn an_html_special_state_comes_back_byte_for_byte() {
    let p = Provider::start().await;
    // Quotes, angle brackets, ampersands and a closing tag: a template that
    // forgot to escape would break the form or inject markup.
    let state = r#"a"b<c>&d'e</form><b>x"#;
    let params = form_post_request("client", state, &[]);
    let outcome = Browser::new()
        .login(&p.authorize_url(&params), USERNAME, PASSWORD, true, RP)
        .await;
    let (action, fields, page) = expect_form_post(outcome);
    assert_eq!(action, CALLBACK);
    assert_eq!(field(&fields, "state"), Some(state));
    assert!(field(&fields, "code").is_some());
    assert_eq!(page.forms.len(), 1, "the state added no markup");
    assert!(!page.body.contains("<b>x"), "{}", page.body);

    // The same for an error delivered by form_post.
    let none = form_post_request("client", state, &[("prompt", "none")]);
    let outcome = Browser::new().navigate(&p.authorize_url(&none), RP).await;
    let (_, fields, _) = expect_form_post(outcome);
    assert_eq!(field(&fields, "error"), Some("login_required"));
    assert_eq!(field(&fields, "state"), Some(state));
}
