//! The relying-party examples (`examples/console_rp.rs`,
//! `examples/api_gateway.rs`) run against a real Gatehouse: the files are
//! compiled in here as modules and served on free loopback ports, so the
//! documentation customers copy is known to work.

#[allow(
    dead_code,
    reason = "main() and Settings::from_env serve `cargo run --example`"
)]
#[path = "../../../examples/console_rp.rs"]
mod console_rp;

#[allow(
    dead_code,
    reason = "main() and Settings::from_env serve `cargo run --example`"
)]
#[path = "../../../examples/api_gateway.rs"]
mod api_gateway;

use std::net::SocketAddr;

use conformance_tests::browser::Browser;
use conformance_tests::provider::{PASSWORD, Provider, RP, SECRET, USERNAME, client_spec};
use conformance_tests::rp_http_client;
use gatehouse::clock::Clock as _;
use gatehouse::config::ClientSpec;
use gatehouse::keys::Alg;
use openidconnect::OAuth2TokenResponse as _;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

const STATE: &str = "af0ifjsldk";
const NONCE: &str = "n-0S6_WzA2";
/// A `stop_at` no walk reaches, so the browser follows every redirect.
const NOWHERE: &str = "https://nowhere.example/";
const RP_CLIENT: &str = "console-rp";
const GATEWAY_CLIENT: &str = "api-gateway";

/// A free loopback port and the base URL it will serve.
async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    (listener, base)
}

fn serve(listener: TcpListener, router: axum::Router) {
    tokio::spawn(async move { axum::serve(listener, router).await });
}

/// Registers the console RP at Gatehouse, as the README says, and serves it.
async fn start_console_rp(p: &Provider) -> String {
    let (listener, base) = bind().await;
    p.app
        .create_client(ClientSpec {
            redirect_uris: vec![format!("{base}/callback")],
            post_logout_redirect_uris: vec![format!("{base}/")],
            first_party: true,
            ..client_spec(RP_CLIENT, "client_secret_basic", &["authorization_code"])
        })
        .await;
    let settings = console_rp::Settings {
        issuer: p.app.issuer.clone(),
        client_id: RP_CLIENT.to_owned(),
        client_secret: SECRET.to_owned(),
        base_url: base.clone(),
        listen: listener.local_addr().unwrap(),
    };
    serve(listener, console_rp::app(settings).await.unwrap());
    base
}

/// Signs in at Gatehouse from the RP's `/login`; returns the callback URL
/// Gatehouse sent the browser to, not yet delivered.
async fn callback_from_login(browser: &Browser, base: &str) -> String {
    browser
        .login(
            &format!("{base}/login"),
            USERNAME,
            PASSWORD,
            true,
            &format!("{base}/"),
        )
        .await
        .expect_redirect()
        .url
}

/// `prompt=none` for the first-party `console` client: a code while
/// Gatehouse's session lives, `login_required` once it is gone.
async fn silent_sign_in(p: &Provider, browser: &Browser) -> (Option<String>, Option<String>) {
    let params = Provider::request("console", STATE, NONCE, &[("prompt", "none")]);
    let callback = browser
        .navigate(&p.authorize_url(&params), RP)
        .await
        .expect_redirect();
    (
        callback.param("code").map(str::to_owned),
        callback.param("error").map(str::to_owned),
    )
}

#[tokio::test]
async fn a_person_signs_in_to_the_console_rp_and_out_again() {
    let p = Provider::start().await;
    let base = start_console_rp(&p).await;
    let browser = Browser::new();

    let home = browser
        .navigate(&format!("{base}/"), NOWHERE)
        .await
        .expect_page();
    assert!(
        home.body.contains(r#"<a href="/login">Sign in</a>"#),
        "{}",
        home.body
    );

    let callback = callback_from_login(&browser, &base).await;
    assert!(
        callback.starts_with(&format!("{base}/callback?")),
        "{callback}"
    );
    let signed_in = browser.navigate(&callback, NOWHERE).await.expect_page();
    assert_eq!(
        signed_in.url,
        format!("{base}/"),
        "back home after the callback"
    );
    assert!(
        signed_in
            .text()
            .contains("Signed in as buffy (Buffy Summers)."),
        "{}",
        signed_in.body
    );
    assert!(
        silent_sign_in(&p, &browser).await.0.is_some(),
        "Gatehouse has a session"
    );

    let logout = signed_in.form_for("/logout").expect("a Sign out button");
    let signed_out = browser
        .submit(&signed_in, logout, &[], None, NOWHERE)
        .await
        .expect_page();
    let end_session = format!("{}/end_session?", p.app.issuer);
    assert!(
        signed_out
            .redirects
            .iter()
            .any(|r| r.starts_with(&end_session)),
        "went through Gatehouse's end_session: {:?}",
        signed_out.redirects
    );
    assert_eq!(
        signed_out.url.split('?').next(),
        Some(format!("{base}/").as_str())
    );
    assert!(
        signed_out.text().contains("You are signed out."),
        "the RP recognised its logout state: {}",
        signed_out.body
    );
    assert!(!signed_out.text().contains("Signed in as"));
    assert_eq!(
        silent_sign_in(&p, &browser).await,
        (None, Some("login_required".to_owned())),
        "Gatehouse's session ended too"
    );
    let later = browser
        .navigate(&format!("{base}/"), NOWHERE)
        .await
        .expect_page();
    assert!(later.text().contains("Sign in") && !later.text().contains("signed out"));
}

#[tokio::test]
async fn a_tampered_state_at_the_callback_is_refused_by_the_console_rp() {
    let p = Provider::start().await;
    let base = start_console_rp(&p).await;
    let browser = Browser::new();

    let callback = callback_from_login(&browser, &base).await;
    let mut tampered = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = tampered.query_pairs().into_owned().collect();
    tampered
        .query_pairs_mut()
        .clear()
        .extend_pairs(pairs.iter().map(|(k, v)| {
            (
                k.as_str(),
                if k == "state" { "tampered" } else { v.as_str() },
            )
        }));
    let refused = browser
        .navigate(tampered.as_str(), NOWHERE)
        .await
        .expect_page();
    assert_eq!(refused.status, 400);
    assert!(
        refused.text().contains("does not match the request"),
        "{}",
        refused.body
    );

    // The attempt is spent: the genuine response cannot be played afterwards.
    let replayed = browser.navigate(&callback, NOWHERE).await.expect_page();
    assert_eq!(replayed.status, 400);
    let home = browser
        .navigate(&format!("{base}/"), NOWHERE)
        .await
        .expect_page();
    assert!(!home.text().contains("Signed in as"), "{}", home.body);

    // A response this browser never asked for is refused as well.
    let stranger = Browser::new()
        .navigate(&callback, NOWHERE)
        .await
        .expect_page();
    assert_eq!(stranger.status, 400);
}

/// Registers the gateway's introspection client and serves the gateway.
async fn start_gateway(p: &Provider) -> (String, api_gateway::Gateway) {
    p.app
        .create_client(client_spec(
            GATEWAY_CLIENT,
            "client_secret_basic",
            &["client_credentials"],
        ))
        .await;
    let (listener, base) = bind().await;
    let gateway = api_gateway::Gateway::discover(api_gateway::Settings {
        issuer: p.app.issuer.clone(),
        introspection_client_id: GATEWAY_CLIENT.to_owned(),
        introspection_client_secret: SECRET.to_owned(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
    })
    .await
    .unwrap();
    serve(listener, gateway.router());
    (base, gateway)
}

async fn call(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = rp_http_client().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn challenge(response: &reqwest::Response) -> String {
    response.headers()[reqwest::header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned()
}

/// A `client_credentials` token of `service`, scope `gateway`.
async fn service_token(p: &Provider) -> String {
    let response = p
        .post_form(
            "/token",
            Some(("service", SECRET)),
            &[("grant_type", "client_credentials"), ("scope", "gateway")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// The access token of a password sign-in through `client_id`.
async fn user_token(p: &Provider, client_id: &str) -> String {
    let callback = p
        .sign_in(
            &Browser::new(),
            &Provider::request(client_id, STATE, NONCE, &[]),
        )
        .await;
    let token = p
        .exchange(&p.rp(client_id), callback.param("code").unwrap(), None)
        .await;
    token.access_token().secret().clone()
}

/// An access token signed by Gatehouse's own keys, with `edit` applied to
/// the claims a sign-in with a second factor would give.
fn mint(p: &Provider, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    mint_typed(p, "at+jwt", edit)
}

fn mint_typed(p: &Provider, typ: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let now = p.app.clock.unix();
    let mut claims = json!({
        "iss": p.app.issuer, "sub": p.user.to_string(), "aud": p.app.issuer,
        "client_id": "console", "scope": "openid", "iat": now, "exp": now + 300,
        "jti": uuid::Uuid::new_v4().to_string(), "acr": api_gateway::ACR_MFA, "amr": ["pwd", "otp"],
    });
    edit(claims.as_object_mut().unwrap());
    let Value::Object(claims) = claims else {
        unreachable!()
    };
    p.app
        .state
        .keys
        .sign(Alg::Es256, Some(typ), &claims)
        .unwrap()
}

#[tokio::test]
async fn a_client_credentials_token_with_scope_gateway_reads_data() {
    let p = Provider::start().await;
    let (gateway, _) = start_gateway(&p).await;
    let token = service_token(&p).await;

    let response = call(&format!("{gateway}/data"), Some(&token)).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["client_id"], "service");
    assert_eq!(body["scope"], "gateway");
}

#[tokio::test]
async fn missing_garbage_and_foreign_tokens_get_401_with_a_bearer_challenge() {
    let p = Provider::start().await;
    let (gateway, _) = start_gateway(&p).await;
    let data = format!("{gateway}/data");
    assert_eq!(call(&format!("{gateway}/public"), None).await.status(), 200);

    let none = call(&data, None).await;
    assert_eq!(none.status(), 401);
    assert_eq!(
        challenge(&none),
        "Bearer",
        "RFC 6750 §3: no error without a token"
    );

    let id_token = {
        let callback = p
            .sign_in(
                &Browser::new(),
                &Provider::request("console", STATE, NONCE, &[]),
            )
            .await;
        let token = p
            .exchange(&p.rp("console"), callback.param("code").unwrap(), None)
            .await;
        openidconnect::TokenResponse::id_token(&token)
            .unwrap()
            .to_string()
    };
    let tampered = {
        let token = mint(&p, |_| {});
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let last = parts[1].pop().unwrap();
        parts[1].push(if last == 'A' { 'B' } else { 'A' });
        parts.join(".")
    };
    let refused = [
        ("garbage", "not-a-token".to_owned()),
        ("JWT-shaped garbage", "a.b.c".to_owned()),
        ("an ID token", id_token),
        (
            "a JWT that is not typed as an access token",
            mint_typed(&p, "JWT", |_| {}),
        ),
        ("a tampered token", tampered),
        (
            "an expired token",
            mint(&p, |c| c["exp"] = json!(p.app.clock.unix() - 1)),
        ),
        (
            "another issuer's token",
            mint(&p, |c| c["iss"] = json!("https://evil.example")),
        ),
        (
            "a token for another audience",
            mint(&p, |c| c["aud"] = json!("https://other.example")),
        ),
    ];
    for (what, token) in refused {
        let response = call(&data, Some(&token)).await;
        assert_eq!(response.status(), 401, "{what}");
        assert!(
            challenge(&response).starts_with(r#"Bearer error="invalid_token""#),
            "{what}: {}",
            challenge(&response)
        );
    }
}

#[tokio::test]
async fn a_token_without_a_gateway_scope_is_forbidden_with_insufficient_scope() {
    let p = Provider::start().await;
    let (gateway, _) = start_gateway(&p).await;

    let response = call(
        &format!("{gateway}/data"),
        Some(&mint(&p, |c| c["scope"] = json!("email"))),
    )
    .await;

    assert_eq!(response.status(), 403);
    assert_eq!(
        challenge(&response),
        r#"Bearer error="insufficient_scope", scope="gateway""#
    );
}

#[tokio::test]
async fn an_opaque_token_is_validated_by_introspection() {
    let p = Provider::start().await;
    let (gateway, _) = start_gateway(&p).await;
    let token = user_token(&p, "opaque").await;
    assert_eq!(token.split('.').count(), 1, "not a JWT: {token}");

    let response = call(&format!("{gateway}/data"), Some(&token)).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["sub"], p.user.to_string());
    assert_eq!(body["client_id"], "opaque");
}

#[tokio::test]
async fn a_revoked_opaque_token_is_refused() {
    let p = Provider::start().await;
    let (gateway, _) = start_gateway(&p).await;
    let token = user_token(&p, "opaque").await;

    let revoked = p
        .post_form("/revoke", Some(("opaque", SECRET)), &[("token", &token)])
        .await;
    assert_eq!(revoked.status(), 200);
    let response = call(&format!("{gateway}/data"), Some(&token)).await;

    assert_eq!(response.status(), 401);
    assert!(challenge(&response).contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn a_password_only_token_gets_insufficient_user_authentication_at_admin() {
    let p = Provider::start().await;
    let (gateway, _) = start_gateway(&p).await;
    let admin = format!("{gateway}/admin");
    let expected = r#"Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:gatehouse:acr:mfa""#;

    for (what, token) in [
        ("a JWT", user_token(&p, "console").await),
        ("an opaque token", user_token(&p, "opaque").await),
    ] {
        let data = call(&format!("{gateway}/data"), Some(&token)).await;
        assert_eq!(data.status(), 200, "{what} is good enough for /data");
        let response = call(&admin, Some(&token)).await;
        assert_eq!(response.status(), 403, "{what}");
        assert_eq!(challenge(&response), expected, "{what}");
    }
    let machine = call(&admin, Some(&service_token(&p).await)).await;
    assert_eq!(machine.status(), 403, "no person, no acr");

    let second_factor = call(&admin, Some(&mint(&p, |_| {}))).await;
    assert_eq!(second_factor.status(), 200);
    let body: Value = second_factor.json().await.unwrap();
    assert_eq!(body["acr"], api_gateway::ACR_MFA);
}

#[tokio::test]
async fn the_jwks_is_fetched_once_for_many_requests_and_unknown_keys_refetch_it_at_most_once() {
    let p = Provider::start().await;
    let (gateway, handle) = start_gateway(&p).await;
    let data = format!("{gateway}/data");
    let token = service_token(&p).await;
    assert_eq!(handle.jwks_fetches(), 0, "fetched on first use");

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (data, token) = (data.clone(), token.clone());
        calls.spawn(async move { call(&data, Some(&token)).await.status() });
    }
    for status in calls.join_all().await {
        assert_eq!(status, 200);
    }
    assert_eq!(call(&data, Some(&token)).await.status(), 200);
    assert_eq!(handle.jwks_fetches(), 1);

    // Tokens naming a key Gatehouse never published: the first makes the
    // gateway look again, the next ones within 30 s do not.
    for _ in 0..3 {
        let response = call(&data, Some(&foreign_key_token(&p))).await;
        assert_eq!(response.status(), 401);
    }
    assert_eq!(handle.jwks_fetches(), 2);
    assert_eq!(call(&data, Some(&token)).await.status(), 200);
    assert_eq!(handle.jwks_fetches(), 2);
}

/// A well-formed access token signed by a key that is not Gatehouse's.
fn foreign_key_token(p: &Provider) -> String {
    use josekit::jws::{ES256, JwsHeader};
    use josekit::jwt::JwtPayload;

    let mut jwk = ES256.generate_key_pair().unwrap().to_jwk_key_pair();
    jwk.set_key_id("not-one-of-gatehouse's");
    let mut header = JwsHeader::new();
    header.set_token_type("at+jwt");
    header.set_key_id("not-one-of-gatehouse's");
    let now = p.app.clock.unix();
    let payload = JwtPayload::from_map(
        json!({
            "iss": p.app.issuer, "aud": p.app.issuer, "sub": "service", "client_id": "service",
            "scope": "gateway", "iat": now, "exp": now + 300,
        })
        .as_object()
        .unwrap()
        .clone(),
    )
    .unwrap();
    josekit::jwt::encode_with_signer(&payload, &header, &ES256.signer_from_jwk(&jwk).unwrap())
        .unwrap()
}
