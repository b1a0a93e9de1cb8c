//! The device authorization grant (RFC 8628), as the command-line tool `cli`
//! uses it: ask `/device_authorization` for codes (§3.1–3.2), poll the token
//! endpoint (§3.4–3.5) while the person types the user code on `/device`,
//! signs in and approves (§3.3). No OpenID Foundation module covers it, so
//! the names here are sentences.

use std::str::FromStr as _;
use std::time::Duration;

use conformance_tests::browser::{Browser, Page};
use conformance_tests::provider::{PASSWORD, Provider, RP, SECRET, USERNAME, client_spec};
use conformance_tests::{fetch_jwks, rp_http_client};
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier};
use openidconnect::{ClientId, Nonce};
use serde_json::Value;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const SCOPE: &str = "openid offline_access";

/// What `/device_authorization` answered (§3.2).
struct Codes {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: u64,
    interval: u64,
}

/// Asks for codes as the public client `client_id` (`client_id` in the body).
async fn device_codes(p: &Provider, client_id: &str) -> Codes {
    let response = p
        .post_form(
            "/device_authorization",
            None,
            &[("client_id", client_id), ("scope", SCOPE)],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let text = |name: &str| {
        body[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} missing from {body}"))
            .to_owned()
    };
    let number = |name: &str| {
        body[name]
            .as_u64()
            .unwrap_or_else(|| panic!("{name} missing from {body}"))
    };
    Codes {
        device_code: text("device_code"),
        user_code: text("user_code"),
        verification_uri: text("verification_uri"),
        verification_uri_complete: text("verification_uri_complete"),
        expires_in: number("expires_in"),
        interval: number("interval"),
    }
}

/// One poll of the token endpoint by `client_id`: the status and the body.
async fn poll(p: &Provider, client_id: &str, device_code: &str) -> (u16, Value) {
    let response = p
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", DEVICE_GRANT),
                ("client_id", client_id),
                ("device_code", device_code),
            ],
        )
        .await;
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The `error` of a poll that must fail with 400 (§3.5).
async fn poll_error(p: &Provider, client_id: &str, device_code: &str) -> String {
    let (status, body) = poll(p, client_id, device_code).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.get("access_token").is_none(), "no tokens: {body}");
    body["error"].as_str().unwrap().to_owned()
}

/// `BCDF-GHJK` → `bcdfghjk`: how a person might well type it.
fn sloppy(user_code: &str) -> String {
    user_code.replace('-', "").to_lowercase()
}

/// Opens `/device` and submits `typed`; returns where that led.
async fn enter_code(p: &Provider, browser: &Browser, typed: &str) -> Page {
    let page = browser
        .navigate(&format!("{}/device", p.app.issuer), RP)
        .await
        .expect_page();
    let form = page.form_for("/device").expect("the device code page");
    assert!(page.has_field("csrf") && page.has_field("user_code"));
    browser
        .submit(&page, form, &[("user_code", typed)], None, RP)
        .await
        .expect_page()
}

/// Types the code, signs in when asked, and checks the confirm page.
async fn reach_confirmation(p: &Provider, browser: &Browser, codes: &Codes) -> Page {
    let page = enter_code(p, browser, &sloppy(&codes.user_code)).await;
    let form = page
        .form_for("/login/username")
        .unwrap_or_else(|| panic!("sign-in first: {}", page.describe()));
    let page = browser
        .submit(&page, form, &[("username", USERNAME)], None, RP)
        .await
        .expect_page();
    let form = page.form_for("/login/password").expect("the password page");
    let page = browser
        .submit(&page, form, &[("password", PASSWORD)], None, RP)
        .await
        .expect_page();
    assert!(
        page.redirects.iter().any(|r| r.contains("/device")),
        "back to /device after signing in: {:?}",
        page.redirects
    );
    assert!(
        page.text().contains("The cli app"),
        "the confirm page names the client: {}",
        page.text()
    );
    page
}

/// Presses `decision` (allow or deny) on the confirm page.
async fn decide(browser: &Browser, confirm: &Page, decision: &str) -> Page {
    let form = confirm.form_for("/device").expect("the confirm form");
    let buttons = &confirm.forms[form].buttons;
    assert!(
        buttons
            .iter()
            .any(|(n, v)| n == "decision" && v == decision),
        "{buttons:?}"
    );
    browser
        .submit(confirm, form, &[], Some(("decision", decision)), RP)
        .await
        .expect_page()
}

#[tokio::test]
async fn a_device_gets_tokens_once_the_person_approves() {
    let p = Provider::start().await;
    let codes = device_codes(&p, "cli").await;
    let shape = codes.user_code.char_indices().all(|(i, c)| {
        if i == 4 {
            c == '-'
        } else {
            c.is_ascii_uppercase()
        }
    });
    assert!(
        shape && codes.user_code.len() == 9,
        "XXXX-XXXX: {}",
        codes.user_code
    );
    assert_eq!(codes.verification_uri, format!("{}/device", p.app.issuer));
    assert!(
        codes
            .verification_uri_complete
            .starts_with(&codes.verification_uri)
    );
    assert!(codes.expires_in > 0 && codes.interval > 0);

    // §3.5: before the person answers, pending; too fast, slow down.
    assert_eq!(
        poll_error(&p, "cli", &codes.device_code).await,
        "authorization_pending"
    );
    assert_eq!(poll_error(&p, "cli", &codes.device_code).await, "slow_down");

    let browser = Browser::new();
    let confirm = reach_confirmation(&p, &browser, &codes).await;
    let done = decide(&browser, &confirm, "allow").await;
    assert_eq!(done.status, 200);
    assert!(
        done.text().contains("device is connected"),
        "{}",
        done.text()
    );

    // §3.5: slow_down adds 5 seconds to the interval.
    p.app.clock.advance(Duration::from_secs(codes.interval + 5));
    let (status, token) = poll(&p, "cli", &codes.device_code).await;
    assert_eq!(status, 200, "{token}");
    assert!(
        token["refresh_token"].is_string(),
        "offline_access: {token}"
    );
    let userinfo = rp_http_client()
        .get(format!("{}/userinfo", p.app.issuer))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200);
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new("cli".into()),
        p.metadata.issuer().clone(),
        fetch_jwks(&p.metadata).await,
    );
    let id_token = CoreIdToken::from_str(token["id_token"].as_str().unwrap()).unwrap();
    let claims = id_token
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .unwrap_or_else(|e| panic!("ID token rejected: {e:?}"));
    assert_eq!(claims.subject().as_str(), p.user.to_string());

    // The device code is spent.
    p.app.clock.advance(Duration::from_secs(codes.interval + 5));
    let again = poll_error(&p, "cli", &codes.device_code).await;
    assert!(
        matches!(again.as_str(), "invalid_grant" | "expired_token"),
        "{again}"
    );
}

#[tokio::test]
async fn the_verification_uri_complete_fills_in_the_code() {
    let p = Provider::start().await;
    let codes = device_codes(&p, "cli").await;
    let page = Browser::new()
        .navigate(&codes.verification_uri_complete, RP)
        .await
        .expect_page();
    assert!(page.form_for("/device").is_some(), "{}", page.describe());
    let shown = page.field("user_code").unwrap().replace('-', "");
    assert_eq!(shown.to_uppercase(), codes.user_code.replace('-', ""));
}

#[tokio::test]
async fn a_denied_device_gets_access_denied() {
    let p = Provider::start().await;
    let codes = device_codes(&p, "cli").await;
    let browser = Browser::new();
    let confirm = reach_confirmation(&p, &browser, &codes).await;
    let done = decide(&browser, &confirm, "deny").await;
    assert_eq!(done.status, 200);
    assert!(
        !done.text().contains("device is connected"),
        "{}",
        done.text()
    );
    assert_eq!(
        poll_error(&p, "cli", &codes.device_code).await,
        "access_denied"
    );
}

#[tokio::test]
async fn a_device_code_expires() {
    let p = Provider::start().await;
    let codes = device_codes(&p, "cli").await;
    p.app
        .clock
        .advance(Duration::from_secs(codes.expires_in + 1));
    assert_eq!(
        poll_error(&p, "cli", &codes.device_code).await,
        "expired_token"
    );
    let page = enter_code(&p, &Browser::new(), &codes.user_code).await;
    assert_eq!(page.status, 400, "an expired user code is refused");
    assert!(page.form_for("/login/username").is_none());
}

#[tokio::test]
async fn a_wrong_user_code_shows_the_code_page_again_with_an_error() {
    let p = Provider::start().await;
    let codes = device_codes(&p, "cli").await;
    let wrong = if codes.user_code == "ZZZZ-ZZZZ" {
        "BBBB-BBBB"
    } else {
        "ZZZZ-ZZZZ"
    };
    let browser = Browser::new();
    let fresh = browser
        .navigate(&format!("{}/device", p.app.issuer), RP)
        .await
        .expect_page();
    let page = enter_code(&p, &browser, wrong).await;
    assert_eq!(page.status, 400);
    assert!(page.form_for("/device").is_some(), "{}", page.describe());
    assert!(page.has_field("user_code"));
    assert_ne!(page.text(), fresh.text(), "the page says what went wrong");
    assert_eq!(
        poll_error(&p, "cli", &codes.device_code).await,
        "authorization_pending",
        "the real code is untouched"
    );
}

#[tokio::test]
async fn another_clients_device_code_is_invalid_grant() {
    let p = Provider::start().await;
    p.app
        .create_client(client_spec("tv", "none", &[DEVICE_GRANT]))
        .await;
    let codes = device_codes(&p, "cli").await;
    assert_eq!(
        poll_error(&p, "tv", &codes.device_code).await,
        "invalid_grant"
    );
    assert_eq!(
        poll_error(&p, "cli", &codes.device_code).await,
        "authorization_pending",
        "still usable by its own client"
    );
}

#[tokio::test]
async fn a_client_without_the_device_grant_is_unauthorized_client() {
    let p = Provider::start().await;
    let response = p
        .post_form(
            "/device_authorization",
            Some(("client", SECRET)),
            &[("scope", SCOPE)],
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    assert!(body.get("device_code").is_none());
}

#[tokio::test]
async fn guessing_user_codes_is_cut_off_after_twenty_wrong_tries() {
    let p = Provider::start().await;
    let browser = Browser::new();
    let page = browser
        .navigate(&format!("{}/device", p.app.issuer), RP)
        .await
        .expect_page();
    let i = page.form_for("/device").unwrap();
    for _ in 0..20 {
        let wrong = browser
            .submit(&page, i, &[("user_code", "BCDF-GHJK")], None, RP)
            .await
            .expect_page();
        assert_eq!(wrong.status, 400);
    }
    let cut_off = browser
        .submit(&page, i, &[("user_code", "BCDF-GHJK")], None, RP)
        .await
        .expect_page();
    assert_eq!(cut_off.status, 429);
}
