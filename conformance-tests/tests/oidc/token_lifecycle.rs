//! A token's life after it is issued: JWT access tokens (RFC 9068) from the
//! client credentials grant (RFC 6749 §4.4), introspection (RFC 7662),
//! revocation (RFC 7009), and refresh-token rotation with reuse detection
//! (RFC 9700 §4.14.2). Beyond `oidcc-refresh-token` (in `basic_op.rs`) no
//! OpenID Foundation module covers these, so the names are sentences.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use conformance_tests::browser::Browser;
use conformance_tests::provider::{CALLBACK, Provider, SECRET};
use conformance_tests::rp_http_client;
use gatehouse::clock::Clock as _;
use josekit::jwk::Jwk;
use josekit::jws::ES256;
use serde_json::{Value, json};

const STATE: &str = "lifecycle-state";
const NONCE: &str = "lifecycle-nonce";
const OFFLINE: &str = "openid offline_access";

/// Signs in to `client` with `scope` and redeems the code: the token response.
async fn user_tokens(p: &Provider, client: &str, scope: &str) -> Value {
    let params = Provider::request(client, STATE, NONCE, &[("scope", scope)]);
    let callback = p.sign_in(&Browser::new(), &params).await;
    let response = p
        .post_form(
            "/token",
            Some((client, SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", callback.param("code").unwrap()),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn text<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} missing from {body}"))
}

/// What the resource server `service` learns about `token`.
async fn introspect(p: &Provider, token: &str) -> Value {
    let response = p
        .post_form(
            "/introspect",
            Some(("service", SECRET)),
            &[("token", token)],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    response.json().await.unwrap()
}

async fn is_active(p: &Provider, token: &str) -> bool {
    introspect(p, token).await["active"]
        .as_bool()
        .expect("active is a boolean")
}

async fn userinfo_status(p: &Provider, access_token: &str) -> u16 {
    rp_http_client()
        .get(format!("{}/userinfo", p.app.issuer))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `refresh_token` redeemed by `client`, with `scope` when given.
async fn refresh(p: &Provider, client: &str, token: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend(scope.map(|s| ("scope", s)));
    let response = p.post_form("/token", Some((client, SECRET)), &form).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn refresh_error(p: &Provider, client: &str, token: &str, scope: Option<&str>) -> String {
    let (status, body) = refresh(p, client, token, scope).await;
    assert_eq!(status, 400, "{body}");
    text(&body, "error").to_owned()
}

async fn revoke(p: &Provider, client: &str, token: &str) -> u16 {
    p.post_form("/revoke", Some((client, SECRET)), &[("token", token)])
        .await
        .status()
        .as_u16()
}

/// The decoded header and claims of a compact JWS, unverified.
fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode = || {
        let part = parts.next().expect("a JWT has three parts");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    (decode(), decode())
}

#[tokio::test]
async fn client_credentials_access_tokens_are_rfc_9068_jwts() {
    let p = Provider::start().await;
    let response = p
        .post_form(
            "/token",
            Some(("service", SECRET)),
            &[("grant_type", "client_credentials"), ("scope", "gateway")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert!(text(&body, "token_type").eq_ignore_ascii_case("bearer"));
    assert!(
        body.get("refresh_token").is_none() && body.get("id_token").is_none(),
        "RFC 6749 §4.4.3: no refresh token, and no user for an ID token"
    );
    let token = text(&body, "access_token");
    let (header, claims) = jwt_parts(token);
    assert_eq!(header["typ"], "at+jwt", "RFC 9068 §2.1");
    assert_eq!(claims["iss"], p.app.issuer);
    assert_eq!(claims["sub"], "service", "RFC 9068 §2.2: the client itself");
    assert!(!claims["aud"].is_null());
    assert_eq!(claims["client_id"], "service");
    assert_eq!(claims["scope"], "gateway");
    assert!(!claims["jti"].as_str().unwrap().is_empty());
    let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64().unwrap());
    assert_eq!(exp - iat.unwrap(), body["expires_in"].as_i64().unwrap());

    // The signature verifies with the published key it names.
    let jwks: Value = p.app.get("/jwks.json").await.json().await.unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's kid is in the JWKS");
    let verifier = ES256
        .verifier_from_jwk(&Jwk::from_map(key.as_object().unwrap().clone()).unwrap())
        .unwrap();
    josekit::jwt::decode_with_verifier(token, &verifier).expect("a genuine signature");
}

#[tokio::test]
async fn client_credentials_refuses_scopes_outside_the_registration() {
    let p = Provider::start().await;
    for scope in ["admin", "gateway admin", "openid"] {
        let response = p
            .post_form(
                "/token",
                Some(("service", SECRET)),
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_eq!(response.status(), 400, "{scope}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_scope", "{scope}");
    }
}

#[tokio::test]
async fn introspection_describes_a_users_access_token() {
    let p = Provider::start().await;
    let tokens = user_tokens(&p, "client", "openid email").await;
    let about = introspect(&p, text(&tokens, "access_token")).await;
    assert_eq!(about["active"], true, "{about}");
    assert_eq!(about["sub"], p.user.to_string());
    assert_eq!(about["scope"], "openid email");
    assert_eq!(about["client_id"], "client");
    assert!(about["exp"].as_i64().unwrap() > p.app.clock.unix());
    assert!(text(&about, "token_type").eq_ignore_ascii_case("bearer"));
}

#[tokio::test]
async fn an_unknown_token_is_only_inactive() {
    let p = Provider::start().await;
    assert_eq!(
        introspect(&p, "never-issued-token").await,
        json!({ "active": false }),
        "RFC 7662 §2.2: nothing beyond active"
    );
}

#[tokio::test]
async fn an_expired_access_token_is_inactive() {
    let p = Provider::start().await;
    let tokens = user_tokens(&p, "client", "openid").await;
    let access = text(&tokens, "access_token");
    assert!(is_active(&p, access).await);
    let lifetime = tokens["expires_in"].as_u64().unwrap();
    p.app.clock.advance(Duration::from_secs(lifetime + 1));
    assert_eq!(introspect(&p, access).await, json!({ "active": false }));
    assert_eq!(userinfo_status(&p, access).await, 401);
}

#[tokio::test]
async fn an_opaque_access_token_is_introspectable_and_works_at_userinfo() {
    let p = Provider::start().await;
    let tokens = user_tokens(&p, "opaque", "openid").await;
    let access = text(&tokens, "access_token");
    assert_ne!(access.split('.').count(), 3, "not a JWT: {access}");
    let about = introspect(&p, access).await;
    assert_eq!(about["active"], true, "{about}");
    assert_eq!(about["client_id"], "opaque");
    assert_eq!(about["sub"], p.user.to_string());
    assert_eq!(userinfo_status(&p, access).await, 200);
}

#[tokio::test]
async fn introspection_requires_client_authentication() {
    let p = Provider::start().await;
    let tokens = user_tokens(&p, "client", "openid").await;
    let access = text(&tokens, "access_token");
    let anonymous = p.post_form("/introspect", None, &[("token", access)]).await;
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body.get("active").is_none());
}

#[tokio::test]
async fn a_public_client_cannot_introspect() {
    let p = Provider::start().await;
    let tokens = user_tokens(&p, "client", "openid").await;
    let response = p
        .post_form(
            "/introspect",
            None,
            &[
                ("client_id", "cli"),
                ("token", text(&tokens, "access_token")),
            ],
        )
        .await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("active").is_none(), "{body}");
}

#[tokio::test]
async fn revoking_an_unknown_token_answers_200() {
    let p = Provider::start().await;
    assert_eq!(
        revoke(&p, "client", "never-issued-token").await,
        200,
        "RFC 7009 §2.2"
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_takes_its_access_token_with_it() {
    let p = Provider::start().await;
    let tokens = user_tokens(&p, "client", OFFLINE).await;
    let (access, refresh_token) = (
        text(&tokens, "access_token"),
        text(&tokens, "refresh_token"),
    );
    assert_eq!(userinfo_status(&p, access).await, 200);
    assert_eq!(revoke(&p, "client", refresh_token).await, 200);
    assert_eq!(
        refresh_error(&p, "client", refresh_token, None).await,
        "invalid_grant"
    );
    assert!(!is_active(&p, access).await, "RFC 7009 §2.1");
    assert_eq!(userinfo_status(&p, access).await, 401);
}

#[tokio::test]
async fn a_revoked_jwt_access_token_is_inactive() {
    let p = Provider::start().await;
    let tokens = user_tokens(&p, "client", "openid").await;
    let access = text(&tokens, "access_token");
    assert!(is_active(&p, access).await);
    assert_eq!(revoke(&p, "client", access).await, 200);
    assert!(!is_active(&p, access).await);
    assert_eq!(userinfo_status(&p, access).await, 401);
}

#[tokio::test]
async fn a_revoked_opaque_access_token_is_gone() {
    let p = Provider::start().await;
    let tokens = user_tokens(&p, "opaque", "openid").await;
    let access = text(&tokens, "access_token");
    assert_eq!(userinfo_status(&p, access).await, 200);
    assert_eq!(revoke(&p, "opaque", access).await, 200);
    assert_eq!(introspect(&p, access).await, json!({ "active": false }));
    assert_eq!(userinfo_status(&p, access).await, 401);
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_tokens() {
    let p = Provider::start().await;
    let tokens = user_tokens(&p, "client", OFFLINE).await;
    let (access, refresh_token) = (
        text(&tokens, "access_token"),
        text(&tokens, "refresh_token"),
    );
    assert_eq!(revoke(&p, "client2", access).await, 200);
    assert_eq!(revoke(&p, "client2", refresh_token).await, 200);
    assert!(is_active(&p, access).await, "RFC 7009 §2.1: not its token");
    let (status, body) = refresh(&p, "client", refresh_token, None).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_replayed_refresh_token_revokes_its_whole_family() {
    let p = Provider::start().await;
    let tokens = user_tokens(&p, "client", OFFLINE).await;
    let first = text(&tokens, "refresh_token");
    let (status, rotated) = refresh(&p, "client", first, None).await;
    assert_eq!(status, 200, "{rotated}");
    let (second, access) = (
        text(&rotated, "refresh_token"),
        text(&rotated, "access_token"),
    );
    assert_ne!(first, second, "rotated");
    assert!(is_active(&p, access).await);

    assert_eq!(
        refresh_error(&p, "client", first, None).await,
        "invalid_grant"
    );
    assert_eq!(
        refresh_error(&p, "client", second, None).await,
        "invalid_grant",
        "RFC 9700 §4.14.2: the live token of the family is revoked too"
    );
    assert!(!is_active(&p, access).await);
    assert_eq!(userinfo_status(&p, access).await, 401);
    let events = gatehouse::db::audit::find_audit_events(&p.app.state.db, None, 50)
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| e.kind == "refresh_token.reused"),
        "the reuse is audited"
    );
}

/// Refresh tokens now lead with their issue time (`oidc::refresh::new_token`)
/// and are stored under a key that does too. One an earlier version issued
/// (43 random characters, stored under its bare SHA-256) must still rotate
/// once, and its replay still revokes the family.
#[tokio::test]
async fn a_refresh_token_issued_before_tokens_led_with_their_time_still_rotates_once() {
    let p = Provider::start().await;
    let tokens = user_tokens(&p, "client", OFFLINE).await;
    let current = text(&tokens, "refresh_token");
    assert_eq!(current.len(), 55, "issue time, then 43 random characters");
    let (_, claims) = jwt_parts(text(&tokens, "access_token"));
    let family_id = claims["fid"].as_str().unwrap().parse().unwrap();
    // An earlier version rotated the current token and handed out `earlier`.
    let earlier = gatehouse::security::random_token(32);
    let rotation = gatehouse::db::refresh_tokens::Rotation {
        old_hash: gatehouse::oidc::refresh::hash(current),
        new_hash: gatehouse::security::sha256_b64url(earlier.as_bytes()),
        family_id,
        at: p.app.clock.unix(),
    };
    gatehouse::db::refresh_tokens::record_rotations(&p.app.state.db, &[rotation])
        .await
        .unwrap();

    let (status, body) = refresh(&p, "client", &earlier, None).await;
    assert_eq!(status, 200, "{body}");
    let next = text(&body, "refresh_token").to_owned();
    assert_eq!(next.len(), 55, "its successor has the new form");
    assert_eq!(
        refresh_error(&p, "client", &earlier, None).await,
        "invalid_grant",
        "spent"
    );
    assert_eq!(
        refresh_error(&p, "client", &next, None).await,
        "invalid_grant",
        "the replay revoked the family"
    );
}

#[tokio::test]
async fn refresh_can_narrow_the_scope_but_not_widen_it() {
    let p = Provider::start().await;
    let tokens = user_tokens(&p, "client", "openid email offline_access").await;
    let (status, narrowed) =
        refresh(&p, "client", text(&tokens, "refresh_token"), Some(OFFLINE)).await;
    assert_eq!(status, 200, "{narrowed}");
    assert_eq!(narrowed["scope"], OFFLINE);
    let about = introspect(&p, text(&narrowed, "access_token")).await;
    assert_eq!(about["scope"], OFFLINE);

    let next = text(&narrowed, "refresh_token");
    assert_eq!(
        refresh_error(&p, "client", next, Some("openid offline_access profile")).await,
        "invalid_scope",
        "RFC 6749 §6: nothing beyond the original grant"
    );
}

/// Refresh tokens are spent in the store and written to the database behind
/// it (`oidc::refresh`). Restarting with an empty store (the in-memory one)
/// must lose no rotation and forget no spend: the newest token still works,
/// and the one spent before the restart is still a replay.
#[tokio::test]
async fn a_restart_with_an_empty_store_keeps_every_rotation_and_spend() {
    let dir = std::env::temp_dir().join(format!("gatehouse-restart-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite://{}", dir.join("gatehouse.db").display());
    let p = Provider::start_with(gatehouse::testing::TestApp::builder().database(&database)).await;
    let tokens = user_tokens(&p, "client", OFFLINE).await;
    let spent = text(&tokens, "refresh_token").to_owned();
    let (status, body) = refresh(&p, "client", &spent, None).await;
    assert_eq!(status, 200, "{body}");
    let newest = text(&body, "refresh_token").to_owned();
    p.app.stop().await;

    let restarted = gatehouse::testing::TestApp::builder()
        .database(&database)
        .spawn()
        .await;
    let redeem = async |token: &str| {
        let response = rp_http_client()
            .post(format!("{}/token", restarted.issuer))
            .basic_auth("client", Some(SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    let (status, body) = redeem(&newest).await;
    assert_eq!(status, 200, "the newest token survives the restart: {body}");
    let after_restart = text(&body, "refresh_token").to_owned();
    let (status, body) = redeem(&spent).await;
    assert_eq!((status, text(&body, "error")), (400, "invalid_grant"));
    let (status, body) = redeem(&after_restart).await;
    assert_eq!(
        (status, text(&body, "error")),
        (400, "invalid_grant"),
        "the replay of a token spent before the restart revoked the family"
    );
    restarted.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
