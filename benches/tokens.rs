//! Criterion micro-benchmarks of the token path: JWS signing per algorithm
//! (RFC 7518 §3.3, §3.4; RFC 8037), minting an ID token (OpenID Connect Core
//! §2) and a JWT access token (RFC 9068), validating that access token, the
//! authorization code → token exchange (RFC 6749 §4.1.3), and argon2id at
//! the production cost for comparison with the complete code flow.
//!
//! Decisions:
//! - Everything runs against a real `AppState` (`TestApp`: SQLite in memory,
//!   the memory store), so the exchange includes client authentication, the
//!   atomic take of the code, the user lookup and, with `offline_access`,
//!   the refresh-token insert — what `POST /token` does minus HTTP.
//! - A code is issued in the `iter_batched` setup, so only its redemption is
//!   timed; one runtime thread drives both, as one request would be.
//! - `cargo test --all-targets` runs each benchmark once (criterion's test
//!   mode); the checks in [`Fixture::new`] and [`exchange_succeeds`] then act
//!   as a smoke test of the path being measured. No timing is asserted.

#![allow(
    clippy::expect_used,
    reason = "benchmark setup: a failure should stop the run loudly"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use base64::Engine as _;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gatehouse::config::ClientSpec;
use gatehouse::db::clients::ClientRecord;
use gatehouse::db::entity::users::Model as User;
use gatehouse::domain::SecretString;
use gatehouse::keys::Alg;
use gatehouse::login::Session;
use gatehouse::oidc::authorize::params::Params;
use gatehouse::oidc::authorize::request::{AuthorizationRequest, Prompt, ResponseMode};
use gatehouse::oidc::grant::{ACR_PASSWORD, ClaimsRequest, Grant};
use gatehouse::oidc::{access_token, code, token, tokens};
use gatehouse::security::{HashParams, PasswordHasher};
use gatehouse::testing::TestApp;
use tokio::runtime::Runtime;

const CLIENT_ID: &str = "bench-console";
const CLIENT_SECRET: &str = "bench-console-secret-0123456789abcdef";
const REDIRECT_URI: &str = "https://console.example.com/callback";
const PASSWORD: &str = "Correct-h0rse";

/// A running app with one user, one first-party client, and what tokens
/// are minted from.
struct Fixture {
    runtime: Runtime,
    app: TestApp,
    client: Arc<ClientRecord>,
    user: User,
    grant: Grant,
    session: Session,
    basic_auth: HeaderMap,
}

impl Fixture {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (app, client, user) = runtime.block_on(async {
            let app = TestApp::builder().spawn().await;
            let sub = app.create_user("bench.user", PASSWORD).await;
            app.create_client(ClientSpec {
                client_id: CLIENT_ID.into(),
                secret: Some(SecretString::from(CLIENT_SECRET)),
                redirect_uris: vec![REDIRECT_URI.into()],
                grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                first_party: true,
                ..ClientSpec::default()
            })
            .await;
            let state = &app.state;
            let client = state
                .clients
                .get(&state.db, state.clock.as_ref(), CLIENT_ID)
                .await
                .expect("client lookup")
                .expect("the client was just created");
            let user = gatehouse::db::users::find_user_by_id(&state.db, sub)
                .await
                .expect("user lookup")
                .expect("the user was just created");
            (app, client, user)
        });
        let now = app.state.clock.unix();
        let session = Session {
            sid: "bench-session-id".into(),
            sub: user.id,
            auth_time: now,
            acr: ACR_PASSWORD.into(),
            amr: vec!["pwd".into()],
            clients: vec![CLIENT_ID.into()],
            expires_at: now + 3_600,
            key: String::new(),
        };
        let grant = Grant {
            sub: Some(user.id),
            client_id: CLIENT_ID.into(),
            scope: "openid profile email".into(),
            nonce: Some("n-0S6_WzA2Mj".into()),
            auth_time: Some(now),
            acr: Some(ACR_PASSWORD.into()),
            amr: vec!["pwd".into()],
            sid: Some(session.sid.clone()),
            claims: ClaimsRequest::default(),
        };
        let credentials = base64::engine::general_purpose::STANDARD
            .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
        let mut basic_auth = HeaderMap::new();
        basic_auth.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {credentials}")).expect("header value"),
        );
        Self {
            runtime,
            app,
            client,
            user,
            grant,
            session,
            basic_auth,
        }
    }

    fn access_claims(&self) -> tokens::AccessClaims {
        tokens::access_claims(&self.app.state, &self.grant, "bench-jti", None)
    }

    fn authorization_request(scope: &str) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: CLIENT_ID.into(),
            redirect_uri: REDIRECT_URI.into(),
            response_mode: ResponseMode::Query,
            scope: scope.into(),
            state: Some("af0ifjsldkj".into()),
            nonce: Some("n-0S6_WzA2Mj".into()),
            code_challenge: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            hint_sub: None,
            acr_values: Vec::new(),
            claims: ClaimsRequest::default(),
        }
    }

    /// A fresh code for `request`, as the authorization endpoint stores it.
    fn issue_code(&self, request: &AuthorizationRequest) -> String {
        self.runtime
            .block_on(code::issue(&self.app.state, request, &self.session))
            .expect("issue a code")
    }

    /// `POST /token` for `code`, minus HTTP.
    fn redeem(&self, code: &str) -> axum::response::Response {
        let params = Params::from_pairs(vec![
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), code.to_owned()),
            ("redirect_uri".into(), REDIRECT_URI.into()),
        ]);
        self.runtime
            .block_on(token::token(&self.app.state, &self.basic_auth, params))
    }
}

/// The claims as the signer takes them.
fn claims_map(claims: &tokens::AccessClaims) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(claims).expect("claims serialise") {
        serde_json::Value::Object(map) => map,
        other => panic!("claims serialised to {other}"),
    }
}

fn signing(c: &mut Criterion, fixture: &Fixture) {
    let claims = claims_map(&fixture.access_claims());
    let keys = &fixture.app.state.keys;
    let mut group = c.benchmark_group("sign");
    for (name, alg) in [
        ("ES256", Alg::Es256),
        ("RS256", Alg::Rs256),
        ("EdDSA", Alg::EdDsa),
    ] {
        let jws = keys.sign(alg, Some("at+jwt"), &claims).expect("sign");
        assert_eq!(
            keys.verify(&jws).expect("our own signature verifies"),
            claims,
            "{name}: the signed claims come back unchanged"
        );
        group.bench_function(name, |b| {
            b.iter(|| keys.sign(alg, Some("at+jwt"), black_box(&claims)));
        });
    }
    group.finish();
}

fn minting(c: &mut Criterion, fixture: &Fixture) {
    let state = &fixture.app.state;
    let claims = fixture.access_claims();
    let access = fixture
        .runtime
        .block_on(tokens::access_token(state, &fixture.client, &claims))
        .expect("mint an access token");
    assert_eq!(
        access.split('.').count(),
        3,
        "the client gets JWT access tokens"
    );

    let mut group = c.benchmark_group("mint");
    group.bench_function("id_token_RS256", |b| {
        b.iter(|| {
            tokens::id_token(
                state,
                &fixture.client,
                &fixture.grant,
                &fixture.user,
                Some(black_box(&access)),
            )
        });
    });
    group.bench_function("access_token_jwt_ES256", |b| {
        b.iter(|| {
            fixture.runtime.block_on(tokens::access_token(
                state,
                &fixture.client,
                black_box(&claims),
            ))
        });
    });
    group.finish();

    let validated = fixture
        .runtime
        .block_on(access_token::validate(state, &access))
        .expect("the store answers");
    assert_eq!(
        validated.as_deref(),
        Some(&claims),
        "a fresh access token is valid"
    );
    // The first presentation checks the signature; later ones find the
    // verified claims (expiry and revocation are checked every time).
    c.bench_function("verify/access_token_jwt_ES256_signature", |b| {
        b.iter(|| state.keys.verify(black_box(&access)));
    });
    c.bench_function("validate/access_token_jwt_ES256_seen_before", |b| {
        b.iter(|| {
            fixture
                .runtime
                .block_on(access_token::validate(state, black_box(&access)))
        });
    });
}

/// Redeems one code and checks the token response has what `scope` asks for.
fn exchange_succeeds(fixture: &Fixture, scope: &str) {
    let code = fixture.issue_code(&Fixture::authorization_request(scope));
    let response = fixture.redeem(&code);
    assert_eq!(response.status(), StatusCode::OK, "the code is redeemed");
    let body = fixture
        .runtime
        .block_on(axum::body::to_bytes(response.into_body(), 64 * 1024))
        .expect("response body");
    let json: serde_json::Value = serde_json::from_slice(&body).expect("a JSON token response");
    assert!(json["access_token"].is_string(), "{json}");
    assert!(json["id_token"].is_string(), "{json}");
    assert_eq!(
        json["refresh_token"].is_string(),
        scope.contains("offline_access"),
        "a refresh token comes with offline_access only: {json}"
    );
    let replay = fixture.redeem(&code);
    assert_eq!(
        replay.status(),
        StatusCode::BAD_REQUEST,
        "a code works once"
    );
}

fn code_exchange(c: &mut Criterion, fixture: &Fixture) {
    let mut group = c.benchmark_group("code_exchange");
    for (name, scope) in [
        ("openid", "openid profile email"),
        (
            "openid_offline_access",
            "openid profile email offline_access",
        ),
    ] {
        exchange_succeeds(fixture, scope);
        let request = Fixture::authorization_request(scope);
        group.bench_function(name, |b| {
            b.iter_batched(
                || fixture.issue_code(&request),
                |code| fixture.redeem(&code),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

/// argon2id at the production cost (m=19456 KiB, t=2, p=1): the part of a
/// complete code flow the 0.5 ms budget comes on top of.
fn password_hash(c: &mut Criterion, fixture: &Fixture) {
    let hasher = PasswordHasher::new(
        HashParams {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        },
        1,
    )
    .expect("valid parameters");
    let password = SecretString::from(PASSWORD);
    let stored = fixture
        .runtime
        .block_on(hasher.hash(&password))
        .expect("hash");
    let verified = fixture
        .runtime
        .block_on(hasher.verify(&password, Some(&stored)))
        .expect("verify");
    assert!(verified, "the right password matches its hash");
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("argon2id_verify_default_cost", |b| {
        b.iter(|| {
            fixture
                .runtime
                .block_on(hasher.verify(black_box(&password), Some(&stored)))
        });
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let fixture = Fixture::new();
    signing(c, &fixture);
    minting(c, &fixture);
    code_exchange(c, &fixture);
    password_hash(c, &fixture);
}

criterion_group!(token_path, benches);
criterion_main!(token_path);
