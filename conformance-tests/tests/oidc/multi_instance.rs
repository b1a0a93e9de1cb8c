//! Several instances of Gatehouse behind a load balancer: two instances on
//! one PostgreSQL and one Redis, sharing one issuer, with no sticky sessions.
//! Any step of a flow may land on either instance.

use conformance_tests::browser::{Browser, Page};
use conformance_tests::provider::{CALLBACK, PASSWORD, Provider, RP, SECRET, USERNAME};
use conformance_tests::rp_http_client;
use gatehouse::testing::TestApp;
use gatehouse::testing::services::{postgres, redis};
use openidconnect::{OAuth2TokenResponse as _, TokenResponse as _};
use serde_json::Value;

const STATE: &str = "multi-state";
const NONCE: &str = "multi-nonce";

/// Points the forms of `page`, served by one instance, at `other` instead:
/// the load balancer sent the next request elsewhere.
fn rebased(page: &Page, from: &str, other: &str) -> Page {
    let mut page = page.clone();
    for form in &mut page.forms {
        form.action = form.action.replacen(from, other, 1);
    }
    page
}

async fn second_instance(a: &Provider, pg: &str, rd: &str) -> TestApp {
    let issuer = a.app.issuer.clone();
    TestApp::builder()
        .database(pg)
        .store(rd)
        .config(move |c| c.issuer = issuer)
        .spawn()
        .await
}

/// Walks the login, the username page on `first` and everything after on `second`.
async fn sign_in_across(first: &str, second: &str, authorize_url: &str) -> String {
    let browser = Browser::new();
    let page = browser.navigate(authorize_url, RP).await.expect_page();
    assert!(page.url.starts_with(first));
    let page = rebased(&page, first, second);
    let i = page.form_for("/login/username").expect("the username page");
    let page = browser
        .submit(&page, i, &[("username", USERNAME)], None, RP)
        .await
        .expect_page();
    assert!(page.url.starts_with(second), "served by the other instance");
    let i = page.form_for("/login/password").expect("the password page");
    let callback = browser
        .submit(&page, i, &[("password", PASSWORD)], None, RP)
        .await
        .expect_redirect();
    assert_eq!(callback.param("state"), Some(STATE));
    callback.param("code").unwrap().to_owned()
}

async fn redeem(base: &str, code: &str) -> reqwest::Response {
    rp_http_client()
        .post(format!("{base}/token"))
        .basic_auth("console", Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .unwrap()
}

/// 50 redemptions of one code at once, spread over `bases`: exactly one wins.
async fn race(bases: &[String], code: &str) -> usize {
    let mut tasks = Vec::new();
    for i in 0..50 {
        let base = bases[i % bases.len()].clone();
        let code = code.to_owned();
        tasks.push(tokio::spawn(async move {
            redeem(&base, &code).await.status().as_u16()
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            200 => wins += 1,
            400 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    wins
}

#[tokio::test]
async fn two_instances_share_flows_codes_and_refresh_tokens() {
    let (Some(pg), Some(rd)) = (
        postgres("conformance::multi_instance"),
        redis("conformance::multi_instance"),
    ) else {
        return;
    };
    let a = Provider::start_with(TestApp::builder().database(&pg.url).store(&rd.url)).await;
    let b = second_instance(&a, &pg.url, &rd.url).await;
    let (a_url, b_url) = (a.app.issuer.clone(), b.issuer.clone());

    // Both publish the same keys: one key set in the shared database.
    let jwks_a: Value = rp_http_client()
        .get(format!("{a_url}/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks_b: Value = rp_http_client()
        .get(format!("{b_url}/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks_a, jwks_b);

    // An authorization started on A completes on B; B's code is redeemed at A.
    let params = Provider::request(
        "console",
        STATE,
        NONCE,
        &[("scope", "openid offline_access")],
    );
    let code = sign_in_across(&a_url, &b_url, &a.authorize_url(&params)).await;
    let token = a.exchange(&a.rp("console"), &code, None).await;
    let claims = token
        .id_token()
        .unwrap()
        .claims(
            &a.rp("console").id_token_verifier(),
            &openidconnect::Nonce::new(NONCE.into()),
        )
        .unwrap();
    assert_eq!(
        claims.issuer().as_str(),
        a_url,
        "one issuer whichever instance answers"
    );
    // The access token from A works at B's userinfo.
    let info = rp_http_client()
        .get(format!("{b_url}/userinfo"))
        .bearer_auth(token.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);

    // A refresh token rotated at A is refused as replayed at B, and the
    // family is revoked for both.
    let rt1 = token.refresh_token().unwrap().secret().clone();
    let rotated = a
        .post_form(
            "/token",
            Some(("console", SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        )
        .await;
    assert_eq!(rotated.status(), 200);
    let rt2 = rotated.json::<Value>().await.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let replay = rp_http_client()
        .post(format!("{b_url}/token"))
        .basic_auth("console", Some(SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt1.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let after = a
        .post_form(
            "/token",
            Some(("console", SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
        )
        .await;
    assert_eq!(after.status(), 400, "the whole family is revoked");

    // 50 concurrent redemptions of one code over both instances: one success.
    let params = Provider::request("console", STATE, NONCE, &[]);
    let code = sign_in_across(&a_url, &b_url, &a.authorize_url(&params)).await;
    assert_eq!(race(&[a_url.clone(), b_url.clone()], &code).await, 1);
}

#[tokio::test]
async fn concurrent_redemptions_on_the_memory_store_yield_exactly_one_success() {
    let p = Provider::start().await;
    let params = Provider::request("console", STATE, NONCE, &[]);
    let callback = p.sign_in(&Browser::new(), &params).await;
    let code = callback.param("code").unwrap();
    assert_eq!(race(std::slice::from_ref(&p.app.issuer), code).await, 1);
}
