//! Basic OP (checklist §1.3): `response_type=code`, `client_secret_basic`, each
//! check named after the suite module it mirrors.

use std::time::Duration;

use conformance_tests::browser::Browser;
use conformance_tests::provider::{CALLBACK, PASSWORD, Provider, RP, SECRET, USERNAME};
use conformance_tests::rp_http_client;
use openidconnect::core::{CoreAuthenticationFlow, CoreIdTokenClaims};
use openidconnect::{
    AccessTokenHash, AuthType, CsrfToken, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge,
    Scope, TokenResponse as _,
};
use serde_json::Value;

const STATE: &str = "af0ifjsldk";
const NONCE: &str = "n-0S6_WzA2";

/// The suite's 128-character state ending in `-._~` (checklist §0).
fn long_state() -> String {
    format!("{}-._~", "a".repeat(124))
}

fn verified(
    p: &Provider,
    client: &str,
    token: &openidconnect::core::CoreTokenResponse,
    nonce: &str,
) -> CoreIdTokenClaims {
    let rp = p.rp(client);
    let id_token = token.id_token().expect("an ID token");
    id_token
        .claims(&rp.id_token_verifier(), &Nonce::new(nonce.to_owned()))
        .unwrap_or_else(|e| panic!("ID token rejected: {e:?}"))
        .clone()
}

async fn userinfo(p: &Provider, access_token: &str) -> reqwest::Response {
    rp_http_client()
        .get(format!("{}/userinfo", p.app.issuer))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

/// Signs in with the suite's usual request plus `extra`; returns the code.
async fn code_for(p: &Provider, browser: &Browser, client: &str, extra: &[(&str, &str)]) -> String {
    let callback = p
        .sign_in(browser, &Provider::request(client, STATE, NONCE, extra))
        .await;
    assert_eq!(callback.param("state"), Some(STATE));
    callback.param("code").expect("a code").to_owned()
}

#[tokio::test]
async fn oidcc_server() {
    let p = Provider::start().await;
    let rp = p.rp("client");
    let (url, csrf, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let callback = Browser::new()
        .login(url.as_str(), USERNAME, PASSWORD, true, RP)
        .await
        .expect_redirect();
    assert!(callback.url.starts_with(CALLBACK));
    assert_eq!(callback.param("state"), Some(csrf.secret().as_str()));
    assert_eq!(
        callback.param("iss"),
        Some(p.app.issuer.as_str()),
        "RFC 9207 iss"
    );
    let code = callback.param("code").unwrap();
    assert!(code.len() >= 22, "at least 128 bits");

    let token = p.exchange(&rp, code, None).await;
    assert!(token.expires_in().is_some());
    let claims = verified(&p, "client", &token, nonce.secret());
    assert_eq!(claims.subject().as_str(), p.user.to_string());
    assert!(claims.auth_time().is_some());
    assert!(claims.name().is_none(), "no unrequested claims");
    let id_token = token.id_token().unwrap();
    let expected = AccessTokenHash::from_token(
        token.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&rp.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected), "at_hash");
    let info: openidconnect::core::CoreUserInfoClaims = rp
        .user_info(token.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request_async(&rp_http_client())
        .await
        .unwrap();
    assert_eq!(info.subject(), claims.subject());
}

#[tokio::test]
async fn token_responses_are_never_cached() {
    let p = Provider::start().await;
    let code = code_for(&p, &Browser::new(), "client", &[]).await;
    let response = p
        .post_form(
            "/token",
            Some(("client", SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert!(
        body["token_type"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("bearer")
    );
}

#[tokio::test]
async fn oidcc_response_type_missing() {
    let p = Provider::start().await;
    let mut params = Provider::request("client", STATE, NONCE, &[]);
    params.retain(|(k, _)| *k != "response_type");
    let callback = Browser::new()
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_redirect();
    assert_eq!(callback.param("error"), Some("invalid_request"));
    assert_eq!(callback.param("state"), Some(STATE));
    assert_eq!(callback.param("code"), None);
}

#[tokio::test]
async fn oidcc_userinfo_get_post_header_and_post_body() {
    let p = Provider::start().await;
    let code = code_for(&p, &Browser::new(), "client", &[]).await;
    let token = p.exchange(&p.rp("client"), &code, None).await;
    let at = token.access_token().secret();
    let get = userinfo(&p, at).await;
    assert_eq!(get.status(), 200);
    assert!(
        get.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let url = format!("{}/userinfo", p.app.issuer);
    let header = rp_http_client()
        .post(&url)
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), 200);
    let body = rp_http_client()
        .post(&url)
        .form(&[("access_token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(body.status(), 200);
    let claims: Value = body.json().await.unwrap();
    assert_eq!(claims["sub"], p.user.to_string());
}

#[tokio::test]
async fn userinfo_refuses_missing_garbage_and_tampered_tokens() {
    let p = Provider::start().await;
    let url = format!("{}/userinfo", p.app.issuer);
    let none = rp_http_client().get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let garbage = userinfo(&p, "not-a-token").await;
    assert_eq!(garbage.status(), 401);
    assert!(
        garbage.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    let code = code_for(&p, &Browser::new(), "client", &[]).await;
    let token = p.exchange(&p.rp("client"), &code, None).await;
    let at = token.access_token().secret();
    let mut parts: Vec<String> = at.split('.').map(str::to_owned).collect();
    let last = parts[1].pop().unwrap();
    parts[1].push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        userinfo(&p, &parts.join(".")).await.status(),
        401,
        "a tampered token is refused"
    );
    // An ID token is not an access token.
    assert_eq!(
        userinfo(&p, &token.id_token().unwrap().to_string())
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow() {
    let p = Provider::start().await;
    let mut params = Provider::request("client", STATE, NONCE, &[]);
    params.retain(|(k, _)| *k != "nonce");
    let callback = p.sign_in(&Browser::new(), &params).await;
    assert!(callback.param("code").is_some());
    assert_eq!(callback.param("error"), None);
}

async fn scope_check(scope: &str, expected: &[&str], absent_from_id_token: &[&str]) {
    let p = Provider::start().await;
    let code = code_for(&p, &Browser::new(), "client", &[("scope", scope)]).await;
    let token = p.exchange(&p.rp("client"), &code, None).await;
    let info: Value = userinfo(&p, token.access_token().secret())
        .await
        .json()
        .await
        .unwrap();
    for claim in expected {
        assert!(
            info.get(*claim).is_some(),
            "{claim} missing for {scope}: {info}"
        );
    }
    let id: Value = serde_json::from_slice(&base64_url_decode(
        token
            .id_token()
            .unwrap()
            .to_string()
            .split('.')
            .nth(1)
            .unwrap(),
    ))
    .unwrap();
    for claim in absent_from_id_token {
        assert!(
            id.get(*claim).is_none(),
            "{claim} should not be in the ID token"
        );
    }
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

#[tokio::test]
async fn oidcc_scope_profile() {
    scope_check(
        "openid profile",
        &[
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "updated_at",
        ],
        &["name"],
    )
    .await;
}

#[tokio::test]
async fn oidcc_scope_email() {
    scope_check(
        "openid email",
        &["email", "email_verified"],
        &["email", "name"],
    )
    .await;
}

#[tokio::test]
async fn oidcc_scope_phone() {
    scope_check(
        "openid phone",
        &["phone_number", "phone_number_verified"],
        &["phone_number"],
    )
    .await;
}

#[tokio::test]
async fn oidcc_scope_all() {
    scope_check(
        "openid profile email phone",
        &["name", "email", "phone_number"],
        &["email"],
    )
    .await;
}

#[tokio::test]
async fn oidcc_alternate_happy_flow() {
    let p = Provider::start().await;
    let params = [
        ("nonce", NONCE),
        ("state", STATE),
        ("scope", "email openid"),
        ("response_type", "code"),
        ("redirect_uri", CALLBACK),
        ("client_id", "client"),
    ];
    let callback = p.sign_in(&Browser::new(), &params).await;
    let token = p
        .exchange(&p.rp("client"), callback.param("code").unwrap(), None)
        .await;
    let info: Value = userinfo(&p, token.access_token().secret())
        .await
        .json()
        .await
        .unwrap();
    assert!(info.get("email").is_some());
    assert!(
        info.get("name").is_none(),
        "scope email does not release name"
    );
}

#[tokio::test]
async fn oidcc_prompt_login() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let first = code_for(&p, &browser, "client", &[]).await;
    let first = verified(
        &p,
        "client",
        &p.exchange(&p.rp("client"), &first, None).await,
        NONCE,
    );
    p.app.clock.advance(Duration::from_secs(2));
    // Browser::login insists on seeing the username page: the session must not skip it.
    let second = code_for(&p, &browser, "client", &[("prompt", "login")]).await;
    let second = verified(
        &p,
        "client",
        &p.exchange(&p.rp("client"), &second, None).await,
        NONCE,
    );
    assert!(second.auth_time().unwrap() > first.auth_time().unwrap());
}

#[tokio::test]
async fn oidcc_prompt_none_not_logged_in() {
    let p = Provider::start().await;
    let state = long_state();
    let params = Provider::request("client", &state, NONCE, &[("prompt", "none")]);
    let callback = Browser::new()
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_redirect();
    assert_eq!(callback.param("error"), Some("login_required"));
    assert_eq!(
        callback.param("state"),
        Some(state.as_str()),
        "state echoed byte for byte"
    );
    assert_eq!(callback.param("code"), None);
}

#[tokio::test]
async fn oidcc_prompt_none_logged_in() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let first = code_for(&p, &browser, "client", &[]).await;
    let first = verified(
        &p,
        "client",
        &p.exchange(&p.rp("client"), &first, None).await,
        NONCE,
    );
    let params = Provider::request("client", STATE, NONCE, &[("prompt", "none")]);
    let callback = browser
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_redirect();
    let second = p
        .exchange(&p.rp("client"), callback.param("code").unwrap(), None)
        .await;
    let second = verified(&p, "client", &second, NONCE);
    assert_eq!(second.subject(), first.subject());
    assert_eq!(second.auth_time(), first.auth_time());
}

#[tokio::test]
async fn oidcc_max_age_1() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let first = code_for(&p, &browser, "client", &[]).await;
    let first = verified(
        &p,
        "client",
        &p.exchange(&p.rp("client"), &first, None).await,
        NONCE,
    );
    p.app.clock.advance(Duration::from_secs(2));
    let second = code_for(&p, &browser, "client", &[("max_age", "1")]).await;
    let second = verified(
        &p,
        "client",
        &p.exchange(&p.rp("client"), &second, None).await,
        NONCE,
    );
    assert!(
        second
            .auth_time()
            .expect("auth_time is required with max_age")
            > first.auth_time().unwrap()
    );
}

#[tokio::test]
async fn oidcc_max_age_10000() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let first = code_for(&p, &browser, "client", &[("max_age", "15000")]).await;
    let first = verified(
        &p,
        "client",
        &p.exchange(&p.rp("client"), &first, None).await,
        NONCE,
    );
    let params = Provider::request("client", STATE, NONCE, &[("max_age", "10000")]);
    let callback = browser
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_redirect();
    let second = p
        .exchange(&p.rp("client"), callback.param("code").unwrap(), None)
        .await;
    let second = verified(&p, "client", &second, NONCE);
    assert!(first.auth_time().is_some());
    assert_eq!(second.auth_time(), first.auth_time());
    assert_eq!(second.subject(), first.subject());
}

#[tokio::test]
async fn oidcc_ensure_request_with_unknown_parameter_succeeds() {
    let p = Provider::start().await;
    code_for(&p, &Browser::new(), "client", &[("extra", "foobar")]).await;
}

#[tokio::test]
async fn oidcc_id_token_hint() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let code = code_for(&p, &browser, "client", &[]).await;
    let token = p.exchange(&p.rp("client"), &code, None).await;
    let hint = token.id_token().unwrap().to_string();
    let params = Provider::request(
        "client",
        STATE,
        NONCE,
        &[("prompt", "none"), ("id_token_hint", &hint)],
    );
    let callback = browser
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_redirect();
    assert!(callback.param("code").is_some(), "{callback:?}");
    // A hint for someone else than the session's person: prompt=none must fail.
    let other = Provider::start().await;
    let foreign = code_for(&other, &Browser::new(), "client", &[]).await;
    let foreign = other
        .exchange(&other.rp("client"), &foreign, None)
        .await
        .id_token()
        .unwrap()
        .to_string();
    let params = Provider::request(
        "client",
        STATE,
        NONCE,
        &[("prompt", "none"), ("id_token_hint", &foreign)],
    );
    let refused = browser
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_redirect();
    assert_eq!(
        refused.param("error"),
        Some("invalid_request"),
        "a hint not issued here is refused"
    );
}

#[tokio::test]
async fn oidcc_login_hint() {
    let p = Provider::start().await;
    let params = Provider::request("client", STATE, NONCE, &[("login_hint", USERNAME)]);
    let page = Browser::new()
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_page();
    assert_eq!(
        page.field("username"),
        Some(USERNAME),
        "the username is prefilled"
    );
}

#[tokio::test]
async fn oidcc_ui_locales_and_claims_locales() {
    let p = Provider::start().await;
    code_for(
        &p,
        &Browser::new(),
        "client",
        &[("ui_locales", "se"), ("claims_locales", "se")],
    )
    .await;
}

#[tokio::test]
async fn oidcc_ensure_request_with_acr_values_succeeds() {
    let p = Provider::start().await;
    let code = code_for(
        &p,
        &Browser::new(),
        "client",
        &[("acr_values", "urn:gatehouse:acr:password")],
    )
    .await;
    let claims = verified(
        &p,
        "client",
        &p.exchange(&p.rp("client"), &code, None).await,
        NONCE,
    );
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:gatehouse:acr:password")
    );
}

async fn reuse_check(wait: Duration) {
    let p = Provider::start().await;
    let code = code_for(&p, &Browser::new(), "client", &[]).await;
    let first = p.exchange(&p.rp("client"), &code, None).await;
    assert_eq!(
        userinfo(&p, first.access_token().secret()).await.status(),
        200
    );
    p.app.clock.advance(wait);
    let again = p
        .post_form(
            "/token",
            Some(("client", SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
    assert_eq!(again.status(), 400);
    assert!(
        again.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        userinfo(&p, first.access_token().secret()).await.status(),
        401,
        "tokens from a replayed code are revoked"
    );
    assert!(
        audit_kinds(&p)
            .await
            .contains(&"authorization_code.replayed".to_owned())
    );
}

/// The kinds of the audit events recorded so far.
async fn audit_kinds(p: &Provider) -> Vec<String> {
    gatehouse::db::audit::find_audit_events(&p.app.state.db, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[tokio::test]
async fn sign_in_and_consent_are_audited() {
    let p = Provider::start().await;
    code_for(&p, &Browser::new(), "client", &[]).await;
    let kinds = audit_kinds(&p).await;
    assert!(kinds.contains(&"login.succeeded".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"consent.granted".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn oidcc_codereuse() {
    reuse_check(Duration::ZERO).await;
}

#[tokio::test]
async fn oidcc_codereuse_30seconds() {
    reuse_check(Duration::from_secs(30)).await;
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let p = Provider::start().await;
    let code = code_for(&p, &Browser::new(), "client", &[]).await;
    p.app.clock.advance(Duration::from_secs(61));
    let response = p
        .post_form(
            "/token",
            Some(("client", SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn oidcc_ensure_registered_redirect_uri() {
    let p = Provider::start().await;
    let bogus = format!("{CALLBACK}/x7Gq2pLm0z");
    let params = Provider::request("client", STATE, NONCE, &[("redirect_uri", &bogus)]);
    let page = Browser::new()
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_page();
    assert_eq!(page.status, 400);
    assert!(
        page.redirects.iter().all(|r| !r.starts_with(RP)),
        "never redirected to the client"
    );
}

#[tokio::test]
async fn oidcc_ensure_redirect_uri_in_authorization_request() {
    let p = Provider::start().await;
    let mut params = Provider::request("client", STATE, NONCE, &[]);
    params.retain(|(k, _)| *k != "redirect_uri");
    let page = Browser::new()
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_page();
    assert_eq!(page.status, 400);
}

#[tokio::test]
async fn an_unknown_client_gets_an_error_page_not_a_redirect() {
    let p = Provider::start().await;
    let params = Provider::request("nobody", STATE, NONCE, &[]);
    let page = Browser::new()
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_page();
    assert_eq!(page.status, 400);
    assert!(page.text().contains("not known"), "{}", page.text());
}

#[tokio::test]
async fn oidcc_ensure_post_request_succeeds() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let params: Vec<(String, String)> = Provider::request("client", STATE, NONCE, &[])
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let page = browser
        .post(&format!("{}/authorize", p.app.issuer), &params, RP)
        .await
        .expect_page();
    let index = page.form_for("/login/username").expect("the username page");
    let page = browser
        .submit(&page, index, &[("username", USERNAME)], None, RP)
        .await
        .expect_page();
    let index = page.form_for("/login/password").expect("the password page");
    let page = browser
        .submit(&page, index, &[("password", PASSWORD)], None, RP)
        .await
        .expect_page();
    let index = page.form_for("/consent").expect("the consent page");
    let callback = browser
        .submit(&page, index, &[], Some(("decision", "allow")), RP)
        .await
        .expect_redirect();
    assert!(callback.param("code").is_some());
}

#[tokio::test]
async fn oidcc_server_client_secret_post() {
    let p = Provider::start().await;
    let code = code_for(&p, &Browser::new(), "client_post", &[]).await;
    let rp = p.rp("client_post").set_auth_type(AuthType::RequestBody);
    let token = p.exchange(&rp, &code, None).await;
    verified(&p, "client_post", &token, NONCE);
    // The same client through Basic is refused: its method is registered.
    let code = code_for(&p, &Browser::new(), "client_post", &[]).await;
    let response = p
        .post_form(
            "/token",
            Some(("client_post", SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn oidcc_unsigned_request_object_is_rejected_as_unsupported() {
    let p = Provider::start().await;
    let params = Provider::request(
        "client",
        STATE,
        NONCE,
        &[("request", "eyJhbGciOiJub25lIn0.e30.")],
    );
    let callback = Browser::new()
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_redirect();
    assert_eq!(callback.param("error"), Some("request_not_supported"));
    assert_eq!(callback.param("state"), Some(STATE));
}

#[tokio::test]
async fn oidcc_ensure_request_object_with_redirect_uri() {
    let p = Provider::start().await;
    let bad = format!("{CALLBACK}_invalid");
    let params = Provider::request(
        "client",
        STATE,
        NONCE,
        &[
            ("redirect_uri", &bad),
            ("request", "eyJhbGciOiJub25lIn0.e30."),
        ],
    );
    let page = Browser::new()
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_page();
    assert_eq!(
        page.status, 400,
        "an error page, never request_not_supported at a redirect"
    );
}

#[tokio::test]
async fn oidcc_claims_essential() {
    let p = Provider::start().await;
    let claims = r#"{"userinfo":{"name":{"essential":true}}}"#;
    let code = code_for(&p, &Browser::new(), "client", &[("claims", claims)]).await;
    let token = p.exchange(&p.rp("client"), &code, None).await;
    let id = verified(&p, "client", &token, NONCE);
    assert!(id.name().is_none(), "name was asked for userinfo only");
    let info: Value = userinfo(&p, token.access_token().secret())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["name"], "Buffy Summers");
}

#[tokio::test]
async fn oidcc_refresh_token() {
    let p = Provider::start().await;
    let extra = [("scope", "openid offline_access"), ("prompt", "consent")];
    let code = code_for(&p, &Browser::new(), "client", &extra).await;
    let rp = p.rp("client");
    let first = p.exchange(&rp, &code, None).await;
    let first_claims = verified(&p, "client", &first, NONCE);
    let refresh = first
        .refresh_token()
        .expect("a refresh token for offline_access")
        .clone();
    p.app.clock.advance(Duration::from_secs(1));
    let refreshed = rp
        .exchange_refresh_token(&refresh)
        .unwrap()
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("offline_access".into()))
        .request_async(&rp_http_client())
        .await
        .unwrap();
    let new_id = refreshed.id_token().expect("an ID token on refresh");
    let new_claims = new_id
        .claims(&rp.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .unwrap();
    assert_eq!(new_claims.subject(), first_claims.subject());
    assert_eq!(new_claims.issuer(), first_claims.issuer());
    assert_eq!(new_claims.audiences(), first_claims.audiences());
    assert!(
        new_claims.issue_time() > first_claims.issue_time(),
        "a new iat"
    );
    assert_eq!(new_claims.auth_time(), first_claims.auth_time());
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret(),
        "rotated"
    );
    assert_eq!(
        userinfo(&p, refreshed.access_token().secret())
            .await
            .status(),
        200
    );

    // client2's refresh token presented by client: invalid_grant.
    let code2 = code_for(&p, &Browser::new(), "client2", &extra).await;
    let second = p.exchange(&p.rp("client2"), &code2, None).await;
    let foreign = second.refresh_token().unwrap().secret().clone();
    let response = p
        .post_form(
            "/token",
            Some(("client", SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", &foreign)],
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    // …and it still works for its own client: nothing was revoked.
    let own = p
        .post_form(
            "/token",
            Some(("client2", SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", &foreign)],
        )
        .await;
    assert_eq!(own.status(), 200);
}

#[tokio::test]
async fn no_refresh_token_without_offline_access() {
    let p = Provider::start().await;
    let code = code_for(&p, &Browser::new(), "client", &[]).await;
    let token = p.exchange(&p.rp("client"), &code, None).await;
    assert!(token.refresh_token().is_none());
}

#[tokio::test]
async fn oidcc_ensure_request_with_valid_pkce_succeeds() {
    let p = Provider::start().await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let code = code_for(
        &p,
        &Browser::new(),
        "client",
        &[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let token = p
        .exchange(&p.rp("client"), &code, Some(verifier.secret()))
        .await;
    verified(&p, "client", &token, NONCE);
}

#[tokio::test]
async fn pkce_mistakes_are_refused() {
    let p = Provider::start().await;
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let code = code_for(
        &p,
        &Browser::new(),
        "client",
        &[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let wrong = PkceCodeChallenge::new_random_sha256().1;
    let response = p
        .post_form(
            "/token",
            Some(("client", SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", wrong.secret()),
            ],
        )
        .await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let plain = Provider::request(
        "client",
        STATE,
        NONCE,
        &[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "plain"),
        ],
    );
    let callback = Browser::new()
        .navigate(&p.authorize_url(&plain), RP)
        .await
        .expect_redirect();
    assert_eq!(
        callback.param("error"),
        Some("invalid_request"),
        "plain is refused"
    );

    let public = Provider::request("cli", STATE, NONCE, &[]);
    let callback = Browser::new()
        .navigate(&p.authorize_url(&public), RP)
        .await
        .expect_redirect();
    assert_eq!(
        callback.param("error"),
        Some("invalid_request"),
        "public clients must use PKCE"
    );
}

#[tokio::test]
async fn a_public_client_completes_the_code_flow_with_pkce_and_no_secret() {
    let p = Provider::start().await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let code = code_for(
        &p,
        &Browser::new(),
        "cli",
        &[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let response = p
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "cli"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", verifier.secret()),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn wrong_client_credentials_get_401_with_a_basic_challenge() {
    let p = Provider::start().await;
    let response = p
        .post_form(
            "/token",
            Some(("client", "wrong-secret-wrong-secret-wrong-secret")),
            &[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
}

#[tokio::test]
async fn a_scope_the_client_may_not_use_is_invalid_scope() {
    let p = Provider::start().await;
    let params = Provider::request("client", STATE, NONCE, &[("scope", "openid admin")]);
    let callback = Browser::new()
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_redirect();
    assert_eq!(callback.param("error"), Some("invalid_scope"));
}

#[tokio::test]
async fn a_wrong_password_gets_one_generic_message_and_no_code() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let params = Provider::request("client", STATE, NONCE, &[]);
    for username in [USERNAME, "nobody-here"] {
        let page = browser
            .navigate(&p.authorize_url(&params), RP)
            .await
            .expect_page();
        let i = page.form_for("/login/username").unwrap();
        let page = browser
            .submit(&page, i, &[("username", username)], None, RP)
            .await
            .expect_page();
        let i = page
            .form_for("/login/password")
            .expect("the password page, known user or not");
        let page = browser
            .submit(&page, i, &[("password", "Wrong#Password1")], None, RP)
            .await
            .expect_page();
        assert!(
            page.text().contains("Wrong username or password."),
            "{}",
            page.text()
        );
    }
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let params = Provider::request("client", STATE, NONCE, &[]);
    let page = browser
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_page();
    let i = page.form_for("/login/username").unwrap();
    let page = browser
        .submit(
            &page,
            i,
            &[("username", USERNAME), ("csrf", "forged")],
            None,
            RP,
        )
        .await
        .expect_page();
    assert_eq!(page.status, 400);
    assert!(!page.has_field("password"));
}

/// Submits `password` for `username` through the hosted pages; returns the last page.
async fn try_password(
    p: &Provider,
    username: &str,
    password: &str,
) -> conformance_tests::browser::Page {
    let browser = Browser::new();
    let params = Provider::request("client", STATE, NONCE, &[]);
    let page = browser
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_page();
    let i = page.form_for("/login/username").unwrap();
    let page = browser
        .submit(&page, i, &[("username", username)], None, RP)
        .await
        .expect_page();
    let i = page.form_for("/login/password").unwrap();
    browser
        .submit(&page, i, &[("password", password)], None, RP)
        .await
        .expect_page()
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_a_username_whether_it_exists_or_not() {
    let p = Provider::start().await;
    for username in [USERNAME, "nobody-here"] {
        for _ in 0..10 {
            let page = try_password(&p, username, "Wrong#Password1").await;
            assert_eq!(page.status, 200);
        }
        let locked = try_password(&p, username, PASSWORD).await;
        assert_eq!(
            locked.status,
            429,
            "even the right password waits: {}",
            locked.text()
        );
    }
    // The lock lifts after the window.
    p.app.clock.advance(Duration::from_secs(15 * 60 + 1));
    let page = try_password(&p, USERNAME, PASSWORD).await;
    assert_ne!(page.status, 429);
}
