//! The code-flow floor: the five requests of a sign-in as
//! `load_client code-flow` walks them (`GET /authorize`, the login page, the
//! username step, the password step, `POST /token`), answered the cheapest
//! way that still does what no provider can skip. The password step verifies
//! the submitted password with Gatehouse's own [`PasswordHasher`] (the
//! blocking pool, the default cost, as many at once as `gatehouse serve`
//! allows), and the token request signs an ID token and an access token
//! (ES256, ring). Nothing else: no session, transaction, code or refresh
//! token is stored or checked, no page template is rendered, nothing is
//! logged.
//!
//! Under the same load as Gatehouse's code-flow run, its CPU per flow
//! besides the hash is what five HTTP requests, the hash's round trip to its
//! thread and two signatures cost on this machine: the part of the
//! "hash + 0.5 ms" allowance no implementation gets back. `GET /metrics`
//! serves the hash's CPU time (`password_hash_cpu_seconds`) as Gatehouse
//! does, so `benches/load.sh` splits both flows the same way.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse::config::PasswordConfig;
use gatehouse::domain::SecretString;
use gatehouse::ops::Metrics;
use gatehouse::security::{HashParams, PasswordHasher};

use super::Floor;

/// The login page's form, as far as the load client reads it.
const LOGIN_PAGE: &str = r#"<!doctype html><title>Sign in</title><form method="post" action="/login/username"><input type="hidden" name="csrf" value="CSRF"><input name="username"><button>Next</button></form>"#;
/// The password page.
const PASSWORD_PAGE: &str = r#"<!doctype html><title>Sign in</title><form method="post" action="/login/password"><input type="password" name="password"><button>Sign in</button></form>"#;

/// What the floor's sign-ins are checked against.
pub struct FlowFloor {
    signer: Arc<Floor>,
    hasher: PasswordHasher,
    stored_hash: String,
    redirect_uri: String,
    metrics: Metrics,
}

impl FlowFloor {
    /// A floor whose one account has `password`, hashed with `params`, and
    /// whose codes go to `redirect_uri`.
    pub async fn new(
        signer: Arc<Floor>,
        redirect_uri: String,
        password: &str,
        params: HashParams,
    ) -> Result<Self, String> {
        let metrics = Metrics::install();
        let hasher = PasswordHasher::new(params, PasswordConfig::default().concurrent_hashes())
            .map_err(|e| e.to_string())?;
        let stored_hash = hasher
            .hash(&SecretString::from(password.to_owned()))
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            signer,
            hasher,
            stored_hash,
            redirect_uri,
            metrics,
        })
    }

    /// With the hash parameters `gatehouse serve` uses by default.
    pub async fn with_default_cost(
        signer: Arc<Floor>,
        redirect_uri: String,
        password: &str,
    ) -> Result<Self, String> {
        let params = PasswordConfig::default().hash_params();
        Self::new(signer, redirect_uri, password, params).await
    }

    /// `POST /login/password`: a redirect with a fresh code when the
    /// password matches, 400 otherwise.
    async fn password_step(&self, body: &[u8]) -> Response {
        let password = url::form_urlencoded::parse(body)
            .find(|(name, _)| name == "password")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        match self
            .hasher
            .verify(&SecretString::from(password), Some(&self.stored_hash))
            .await
        {
            Ok(true) => {
                let location = format!("{}?code={}&state=load", self.redirect_uri, random());
                (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
            }
            Ok(false) => (StatusCode::BAD_REQUEST, "wrong password").into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }

    /// `POST /token` with `grant_type=authorization_code`: any code from the
    /// right client gets an ID token, an access token and a refresh token.
    pub fn token(&self, headers: &HeaderMap, body: &[u8]) -> Response {
        let has_code = url::form_urlencoded::parse(body).any(|(k, v)| k == "code" && !v.is_empty());
        if !self.signer.authorised(headers) || !has_code {
            return (StatusCode::BAD_REQUEST, "refused").into_response();
        }
        let now = gatehouse::clock::Clock::unix(&gatehouse::clock::SystemClock);
        let id_claims = serde_json::json!({
            "iss": "http://127.0.0.1",
            "sub": "floor-user",
            "aud": "cc-client",
            "nonce": "load",
            "auth_time": now,
            "iat": now,
            "exp": now + 300,
        });
        let access_claims = serde_json::json!({
            "iss": "http://127.0.0.1",
            "sub": "floor-user",
            "aud": "http://127.0.0.1",
            "client_id": "cc-client",
            "scope": "openid profile email offline_access",
            "iat": now,
            "exp": now + 300,
            "jti": random(),
        });
        let (Ok(id_token), Ok(access_token)) = (
            self.signer.sign_jwt(super::ID_TOKEN_HEADER, &id_claims),
            self.signer
                .sign_jwt(super::ACCESS_TOKEN_HEADER, &access_claims),
        ) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        super::token_response(&serde_json::json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
            "refresh_token": random(),
        }))
    }
}

/// 128 random bits, base64url: a transaction id, CSRF token, code or
/// refresh token as the floor hands them out.
fn random() -> String {
    gatehouse::security::random_token(16)
}

/// The login's four routes and `/metrics` (the token route is shared with
/// the `client_credentials` floor).
pub fn routes(router: Router, floor: &Arc<FlowFloor>) -> Router {
    let password_floor = Arc::clone(floor);
    let metrics = floor.metrics.clone();
    router
        .route(
            "/authorize",
            get(|| async {
                let location = format!("/login?tx={}", random());
                (StatusCode::SEE_OTHER, [(header::LOCATION, location)])
            }),
        )
        .route(
            "/login",
            get(|| async { Html(LOGIN_PAGE.replacen("CSRF", &random(), 1)) }),
        )
        .route("/login/username", post(|| async { Html(PASSWORD_PAGE) }))
        .route(
            "/login/password",
            post(move |body: Bytes| {
                let floor = Arc::clone(&password_floor);
                async move { floor.password_step(&body).await }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move { metrics.render() }
            }),
        )
}

/// Walks the floor's flow once as the load client does (with argon2 at its
/// least cost): the right password ends in tokens whose signatures verify
/// and a recorded hash; a wrong one, or the token request without the
/// client's credentials, is refused.
pub async fn self_test() -> Result<(), String> {
    const REDIRECT_URI: &str = "https://rp.example/callback";
    let basic = URL_SAFE_NO_PAD.encode("cc-client:secret");
    let signer = Arc::new(Floor::new(&basic)?);
    let public_key = ring::signature::KeyPair::public_key(&signer.key)
        .as_ref()
        .to_vec();
    let least_cost = HashParams {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
    let floor =
        Arc::new(FlowFloor::new(signer, REDIRECT_URI.to_owned(), "right", least_cost).await?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let app = super::with_floor(Router::new(), Some(Arc::clone(&floor.signer)), Some(floor));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let outcome = async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let code = sign_in(&http, &base, REDIRECT_URI).await?;
        redeem(&http, &base, &code, &basic, &public_key).await?;
        let metrics = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        if metrics.contains("password_hash_cpu_seconds_count") {
            Ok(())
        } else {
            Err("/metrics does not show the hash's CPU time".to_owned())
        }
    }
    .await;
    server.abort();
    outcome?;
    println!(
        "bare_axum: the code-flow floor signs in the right password only and issues verifiable tokens"
    );
    Ok(())
}

/// The login as far as the code, with a wrong password tried first.
async fn sign_in(http: &reqwest::Client, base: &str, redirect_uri: &str) -> Result<String, String> {
    let fail = |e: reqwest::Error| e.to_string();
    let login = http
        .get(format!("{base}/authorize"))
        .send()
        .await
        .map_err(fail)?;
    let login_path = login
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|path| path.starts_with("/login?tx="))
        .ok_or("/authorize did not send to the login page")?
        .to_owned();
    let page = http
        .get(format!("{base}{login_path}"))
        .send()
        .await
        .map_err(fail)?;
    if !page
        .text()
        .await
        .map_err(fail)?
        .contains(r#"name="csrf" value=""#)
    {
        return Err("the login page has no csrf field".to_owned());
    }
    let username = http
        .post(format!("{base}/login/username"))
        .send()
        .await
        .map_err(fail)?;
    if username.status() != StatusCode::OK {
        return Err(format!("the username step answered {}", username.status()));
    }
    let password_step = |password: &'static str| {
        http.post(format!("{base}/login/password"))
            .form(&[("username", "someone"), ("password", password)])
            .send()
    };
    let wrong = password_step("wrong").await.map_err(fail)?.status();
    if wrong != StatusCode::BAD_REQUEST {
        return Err(format!("a wrong password answered {wrong}"));
    }
    let callback = password_step("right").await.map_err(fail)?;
    callback
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|location| location.strip_prefix(&format!("{redirect_uri}?code=")))
        .and_then(|rest| rest.split('&').next())
        .map(str::to_owned)
        .ok_or_else(|| "the password step did not send the code to the redirect URI".to_owned())
}

/// The token request for `code`: refused without the client's credentials,
/// answered with it by tokens whose signatures verify.
async fn redeem(
    http: &reqwest::Client,
    base: &str,
    code: &str,
    basic: &str,
    public_key: &[u8],
) -> Result<(), String> {
    let fail = |e: reqwest::Error| e.to_string();
    let token = |authorization: String| {
        http.post(format!("{base}/token"))
            .header(header::AUTHORIZATION, authorization)
            .form(&[("grant_type", "authorization_code"), ("code", code)])
            .send()
    };
    let anonymous = token("Basic d3Jvbmc6d3Jvbmc".to_owned())
        .await
        .map_err(fail)?
        .status();
    if anonymous != StatusCode::BAD_REQUEST {
        return Err(format!(
            "the token request without credentials answered {anonymous}"
        ));
    }
    let answer: serde_json::Value = token(format!("Basic {basic}"))
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    for name in ["id_token", "access_token"] {
        let jwt = answer[name].as_str().ok_or(format!("no {name}"))?;
        let (signed, signature) = jwt.rsplit_once('.').ok_or("not a JWT")?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|e| e.to_string())?;
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            public_key,
        )
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| format!("the {name} does not verify"))?;
    }
    if answer["refresh_token"].as_str().is_none_or(str::is_empty) {
        return Err("no refresh_token".to_owned());
    }
    Ok(())
}
