//! The baseline for discovery and JWKS in `benches/load.sh`: a bare axum
//! server that answers fixed bytes, with nothing around the handler (no
//! state, middleware, tracing or metrics). Gatehouse serves those two
//! documents pre-serialised too, so the difference between the two under
//! the same `wrk` load is what Gatehouse's router and layers cost.
//!
//! `bare_axum serve --listen ADDR --route PATH=FILE… [--gatehouse-layers]`
//! serves each FILE's bytes at PATH as `application/json`, on the same
//! multi-threaded tokio runtime as `gatehouse serve`; with
//! `--gatehouse-layers`, inside the stateless layers Gatehouse wraps every
//! route in, which splits the difference into "those layers" and "the rest"
//! (the client-address layer and the handler, which each take a clone of
//! `AppState`, and the handler's own headers).
//!
//! With `--token-floor BASIC`, it also answers `POST /token` the cheapest
//! way a `client_credentials` response can be made: check the Basic
//! credentials, sign a fresh ES256 access token (ring, new `jti` and times
//! each time) and answer the JSON. No client lookup, scope, store, metrics or
//! logging: what that costs under the same load is the floor under which no
//! implementation signing ES256 JWTs can go on this machine.
//!
//! With `--flow-floor REDIRECT_URI --flow-password PASSWORD` as well, it
//! answers the whole code flow the load client walks, the same way: see
//! [`flow_floor`].
//!
//! Without a sub-command (as `cargo test --all-targets` runs it) it checks
//! itself on a free port, both ways, and the floor's token.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser as _;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;

mod flow_floor;

use flow_floor::FlowFloor;

#[derive(clap::Parser)]
enum Cli {
    /// Serve fixed documents until interrupted.
    Serve {
        #[arg(long)]
        listen: SocketAddr,
        /// `PATH=FILE`: answer GET PATH with the bytes of FILE.
        #[arg(long = "route", required = true, value_parser = parse_route)]
        routes: Vec<(String, PathBuf)>,
        /// Wrap the handlers in the stateless layers `AppState::router` puts
        /// around every Gatehouse route (request metrics, security headers,
        /// body limit), to tell their cost from the rest of the request.
        #[arg(long)]
        gatehouse_layers: bool,
        /// `base64(client_id:secret)`: also answer `POST /token` with a
        /// freshly signed ES256 token for a request with these credentials.
        #[arg(long)]
        token_floor: Option<String>,
        /// Also answer the hosted login and the code's token request, with
        /// codes sent to this redirect URI (needs `--token-floor`, whose
        /// credentials the token request must carry).
        #[arg(long, requires_all = ["token_floor", "flow_password"])]
        flow_floor: Option<String>,
        /// The password the code-flow floor's sign-ins must give.
        #[arg(long, requires = "flow_floor")]
        flow_password: Option<String>,
    },
}

fn parse_route(value: &str) -> Result<(String, PathBuf), String> {
    match value.split_once('=') {
        Some((path, file)) if path.starts_with('/') => Ok((path.to_owned(), file.into())),
        _ => Err("expected PATH=FILE, PATH starting with /".to_owned()),
    }
}

fn router(routes: Vec<(String, Bytes)>) -> Router {
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, body)| {
            router.route(
                &path,
                get(move || {
                    let body = body.clone();
                    async move { ([(header::CONTENT_TYPE, "application/json")], body) }
                }),
            )
        })
}

/// The JOSE headers of the floors' tokens.
const ACCESS_TOKEN_HEADER: &[u8] = br#"{"alg":"ES256","typ":"at+jwt","kid":"floor"}"#;
const ID_TOKEN_HEADER: &[u8] = br#"{"alg":"ES256","typ":"JWT","kid":"floor"}"#;

/// The `client_credentials` floor: an ES256 key and the one `Authorization`
/// header it answers.
struct Floor {
    key: EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
    authorization: String,
}

impl Floor {
    fn new(basic: &str) -> Result<Self, String> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|e| e.to_string())?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|e| e.to_string())?;
        Ok(Self {
            key,
            rng,
            authorization: format!("Basic {basic}"),
        })
    }

    /// A compact ES256 access token with a fresh `jti` and times.
    fn sign(&self) -> Result<String, ring::error::Unspecified> {
        let now = gatehouse::clock::Clock::unix(&gatehouse::clock::SystemClock);
        let claims = serde_json::json!({
            "iss": "http://127.0.0.1",
            "sub": "cc-client",
            "aud": "http://127.0.0.1",
            "client_id": "cc-client",
            "scope": "",
            "iat": now,
            "exp": now + 300,
            "jti": gatehouse::security::random_token(16),
        });
        self.sign_jwt(ACCESS_TOKEN_HEADER, &claims)
    }

    /// The compact ES256 JWS of `claims` under `header`.
    fn sign_jwt(
        &self,
        header: &[u8],
        claims: &serde_json::Value,
    ) -> Result<String, ring::error::Unspecified> {
        let mut token = String::with_capacity(600);
        URL_SAFE_NO_PAD.encode_string(header, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut token);
        let signature = self.key.sign(&self.rng, token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
        Ok(token)
    }

    /// Whether the request carries the floor's Basic credentials.
    fn authorised(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .is_some_and(|v| bool::from(v.as_bytes().ct_eq(self.authorization.as_bytes())))
    }

    /// `POST /token` with `grant_type=client_credentials`.
    fn answer(&self, headers: &HeaderMap) -> Response {
        if !self.authorised(headers) {
            return (StatusCode::BAD_REQUEST, "refused").into_response();
        }
        let Ok(token) = self.sign() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        token_response(&serde_json::json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
        }))
    }
}

/// A token endpoint's 200 answer (RFC 6749 §5.1: JSON, not cached).
fn token_response(body: &serde_json::Value) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `POST /token` for the floors given: `client_credentials`, and
/// `authorization_code` with the code-flow floor.
fn with_floor(router: Router, floor: Option<Arc<Floor>>, flow: Option<Arc<FlowFloor>>) -> Router {
    let Some(floor) = floor else {
        return router;
    };
    let router = match &flow {
        Some(flow) => flow_floor::routes(router, flow),
        None => router,
    };
    router.route(
        "/token",
        post(move |headers: HeaderMap, body: Bytes| {
            let floor = Arc::clone(&floor);
            let flow = flow.clone();
            async move {
                let grant = url::form_urlencoded::parse(&body)
                    .find(|(k, _)| k == "grant_type")
                    .map(|(_, v)| v.into_owned());
                match (grant.as_deref(), flow) {
                    (Some("client_credentials"), _) => floor.answer(&headers),
                    (Some("authorization_code"), Some(flow)) => flow.token(&headers, &body),
                    _ => (StatusCode::BAD_REQUEST, "refused").into_response(),
                }
            }
        }),
    )
}

/// The layers of `gatehouse::app::AppState::router` that need no state
/// (request metrics, security headers, body limit), in the same order, with
/// the Prometheus recorder installed as `AppState::build` does.
fn with_gatehouse_layers(router: Router) -> Router {
    let _recorder = gatehouse::ops::Metrics::install();
    router
        .layer(axum::middleware::from_fn(gatehouse::ops::track_requests))
        .layer(axum::middleware::from_fn(gatehouse::web::security_headers))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(64 * 1024))
}

async fn serve(
    listen: SocketAddr,
    routes: Vec<(String, PathBuf)>,
    gatehouse_layers: bool,
    token_floor: Option<String>,
    flow_floor: Option<(String, String)>,
) -> Result<(), String> {
    let floor = token_floor
        .map(|basic| Floor::new(&basic).map(Arc::new))
        .transpose()?;
    let flow = match (&floor, flow_floor) {
        (Some(floor), Some((redirect_uri, password))) => Some(Arc::new(
            FlowFloor::with_default_cost(Arc::clone(floor), redirect_uri, &password).await?,
        )),
        _ => None,
    };
    let mut bodies = Vec::with_capacity(routes.len());
    for (path, file) in routes {
        let bytes = tokio::fs::read(&file)
            .await
            .map_err(|e| format!("{}: {e}", file.display()))?;
        bodies.push((path, Bytes::from(bytes)));
    }
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("listen on {listen}: {e}"))?;
    let app = with_floor(router(bodies), floor, flow);
    let app = if gatehouse_layers {
        with_gatehouse_layers(app)
    } else {
        app
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

/// Serves one document on a free port and fetches it back; with the
/// Gatehouse layers, their security headers must be there too.
async fn self_test(gatehouse_layers: bool) -> Result<(), String> {
    let document = Bytes::from_static(br#"{"issuer":"http://127.0.0.1"}"#);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let mut app = router(vec![("/doc".to_owned(), document.clone())]);
    if gatehouse_layers {
        app = with_gatehouse_layers(app);
    }
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let found = http
        .get(format!("http://{address}/doc"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let headers = found.headers().clone();
    let body = found.bytes().await.map_err(|e| e.to_string())?;
    let missing = http
        .get(format!("http://{address}/other"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .status();
    server.abort();
    let content_type = headers.get(header::CONTENT_TYPE);
    if body != document
        || content_type.map(header::HeaderValue::as_bytes) != Some(b"application/json")
    {
        return Err(format!("served {body:?} as {content_type:?}"));
    }
    if missing != reqwest::StatusCode::NOT_FOUND {
        return Err(format!("an unknown path answered {missing}"));
    }
    if headers.contains_key(header::X_CONTENT_TYPE_OPTIONS) != gatehouse_layers {
        return Err(format!(
            "layers {gatehouse_layers}, yet headers {headers:?}"
        ));
    }
    println!(
        "bare_axum: served {} bytes as given (Gatehouse layers: {gatehouse_layers})",
        body.len()
    );
    Ok(())
}

/// The floor answers the right credentials with a token whose signature
/// verifies, a different one each time, and refuses wrong credentials.
async fn floor_self_test() -> Result<(), String> {
    let basic = URL_SAFE_NO_PAD.encode("cc-client:secret");
    let floor = Arc::new(Floor::new(&basic)?);
    let public_key = ring::signature::KeyPair::public_key(&floor.key)
        .as_ref()
        .to_vec();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let app = with_floor(Router::new(), Some(floor), None);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let request = |authorization: String| {
        http.post(format!("http://{address}/token"))
            .header(header::AUTHORIZATION, authorization)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
    };
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let answer: serde_json::Value = request(format!("Basic {basic}"))
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let token = answer["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (signed, signature) = token.rsplit_once('.').ok_or("not a JWT")?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|e| e.to_string())?;
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            &public_key,
        )
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| "the floor's token does not verify".to_owned())?;
        tokens.push(token);
    }
    let refused = request("Basic d3Jvbmc6d3Jvbmc".to_owned())
        .await
        .map_err(|e| e.to_string())?
        .status();
    server.abort();
    if tokens[0] == tokens[1] {
        return Err("the floor answered the same token twice".to_owned());
    }
    if refused != reqwest::StatusCode::BAD_REQUEST {
        return Err(format!("wrong credentials answered {refused}"));
    }
    println!("bare_axum: the token floor signs fresh ES256 tokens and refuses wrong credentials");
    Ok(())
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = if std::env::args().nth(1).as_deref() == Some("serve") {
        let Cli::Serve {
            listen,
            routes,
            gatehouse_layers,
            token_floor,
            flow_floor,
            flow_password,
        } = Cli::parse();
        let flow_floor = flow_floor.zip(flow_password);
        runtime.block_on(serve(
            listen,
            routes,
            gatehouse_layers,
            token_floor,
            flow_floor,
        ))
    } else {
        println!("bare_axum: self-test (run `bare_axum serve --help` to serve)");
        runtime
            .block_on(self_test(false))
            .and_then(|()| runtime.block_on(self_test(true)))
            .and_then(|()| runtime.block_on(floor_self_test()))
            .and_then(|()| runtime.block_on(flow_floor::self_test()))
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
