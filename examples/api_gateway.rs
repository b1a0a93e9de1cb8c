//! A resource server that accepts Gatehouse access tokens: bearer tokens
//! (RFC 6750) that are either JWTs (RFC 9068), checked against Gatehouse's
//! JWKS, or opaque, checked at the introspection endpoint (RFC 7662); and a
//! route that asks for a stronger sign-in than the token shows (RFC 9470).
//!
//! Run it against `scripts/serve` (see "Relying-party examples" in the README
//! for registering its client first):
//!
//! ```sh
//! ISSUER=http://localhost:8080 INTROSPECTION_CLIENT_ID=api-gateway \
//!   INTROSPECTION_CLIENT_SECRET=… cargo run --example api_gateway
//! curl -H "Authorization: Bearer $TOKEN" http://localhost:3001/data
//! ```
//!
//! Settings, from environment variables:
//! - `ISSUER`: Gatehouse's issuer URL (default `http://localhost:8080`).
//! - `INTROSPECTION_CLIENT_ID`, `INTROSPECTION_CLIENT_SECRET`: the gateway's
//!   own confidential client, used only to call the introspection endpoint.
//! - `LISTEN`: the address to bind (default `127.0.0.1:3001`).
//!
//! Routes: `/public` needs no token; `/data` wants any valid token with scope
//! `gateway` (machines) or `openid` (people); `/admin` also wants a sign-in
//! with a second factor (`acr` at least `urn:gatehouse:acr:mfa`).
//!
//! A JWT access token is accepted when (RFC 9068 §4):
//! 1. its header says `typ: at+jwt`, so an ID token cannot pass for one;
//! 2. its `kid` names a key of Gatehouse's JWKS, of the algorithm in the
//!    header (never `none`);
//! 3. the signature verifies with that key;
//! 4. `iss` is the issuer, `aud` is the issuer (Gatehouse's audience for
//!    the API), and `exp` has not passed.
//!
//! Decisions:
//! - The JWKS (from discovery's `jwks_uri`) is fetched on first use and kept.
//!   An unknown `kid` makes the gateway look again (Gatehouse publishes keys
//!   before signing with them, so a new key is found at once), but at most
//!   once per 30 s, so forged tokens cannot turn the gateway against
//!   Gatehouse. The set is also refreshed every hour, so retired keys stop
//!   being accepted; a failed fetch is retried after 30 s.
//! - Anything that is not a JWT goes to introspection, with the gateway's own
//!   credentials. Positive answers are cached until the token's `exp` but at
//!   most 30 s: a revoked token may pass for up to 30 s, the price of not
//!   asking Gatehouse on every request. Negative answers are not cached.
//! - A missing or unknown `acr` ranks below every level, so a token without
//!   a person behind it never reaches `/admin`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::{ES256, EdDSA, JwsVerifier, RS256};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

pub const ACR_PASSWORD: &str = "urn:gatehouse:acr:password";
pub const ACR_MFA: &str = "urn:gatehouse:acr:mfa";
/// Gatehouse's authentication levels, weakest first.
const ACR_LEVELS: &[&str] = &[ACR_PASSWORD, ACR_MFA];
/// `/data` and `/admin` accept a token with any of these scopes.
const DATA_SCOPES: &[&str] = &["gateway", "openid"];

const JWKS_MIN_REFETCH: Duration = Duration::from_secs(30);
const JWKS_MAX_AGE: Duration = Duration::from_hours(1);
const INTROSPECTION_CACHE_MAX: Duration = Duration::from_secs(30);
/// Expired introspection answers are swept once the cache is this big.
const INTROSPECTION_CACHE_SWEEP: usize = 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    pub introspection_client_id: String,
    pub introspection_client_secret: String,
    pub listen: SocketAddr,
}

impl Settings {
    pub fn from_env() -> Result<Self, GatewayError> {
        let var = |name: &'static str, default: Option<&str>| {
            std::env::var(name)
                .ok()
                .or_else(|| default.map(str::to_owned))
                .ok_or(GatewayError::Setting(name))
        };
        Ok(Self {
            issuer: var("ISSUER", Some("http://localhost:8080"))?,
            introspection_client_id: var("INTROSPECTION_CLIENT_ID", None)?,
            introspection_client_secret: var("INTROSPECTION_CLIENT_SECRET", None)?,
            listen: var("LISTEN", Some("127.0.0.1:3001"))?
                .parse()
                .map_err(|_| GatewayError::Setting("LISTEN"))?,
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let settings = Settings::from_env()?;
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let gateway = Gateway::discover(settings).await?;
    println!("api_gateway on {}", listener.local_addr()?);
    axum::serve(listener, gateway.router()).await?;
    Ok(())
}

/// The gateway: what it learnt from discovery and what it caches.
#[derive(Clone)]
pub struct Gateway(Arc<Inner>);

struct Inner {
    issuer: String,
    http: reqwest::Client,
    keys: KeyCache,
    introspection_endpoint: String,
    client_id: String,
    client_secret: String,
    /// Positive introspection answers, by token, until the instant given.
    introspected: Mutex<HashMap<String, (Claims, Instant)>>,
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
    introspection_endpoint: String,
}

impl Gateway {
    /// Reads Gatehouse's metadata (RFC 8414); keys are fetched on first use.
    pub async fn discover(settings: Settings) -> Result<Self, GatewayError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| GatewayError::Discovery(e.into()))?;
        let issuer = settings.issuer.trim_end_matches('/').to_owned();
        let metadata: Metadata =
            get_json(&http, &format!("{issuer}/.well-known/openid-configuration"))
                .await
                .map_err(GatewayError::Discovery)?;
        if metadata.issuer != issuer {
            return Err(GatewayError::Discovery(
                "discovery names another issuer".into(),
            ));
        }
        Ok(Self(Arc::new(Inner {
            issuer,
            http,
            keys: KeyCache::new(metadata.jwks_uri),
            introspection_endpoint: metadata.introspection_endpoint,
            client_id: settings.introspection_client_id,
            client_secret: settings.introspection_client_secret,
            introspected: Mutex::default(),
        })))
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/public", get(public))
            .route("/data", get(data))
            .route("/admin", get(admin))
            .with_state(self.clone())
    }

    /// How many times the JWKS was fetched: worth exporting as a metric.
    pub fn jwks_fetches(&self) -> u64 {
        self.0.keys.fetches.load(Ordering::Relaxed)
    }

    async fn authenticate(&self, token: &str) -> Result<Claims, GatewayError> {
        let claims = if token.split('.').count() == 3 {
            self.verify_jwt(token).await?
        } else {
            self.introspect(token).await?
        };
        claims.check(&self.0.issuer, unix_now())?;
        Ok(claims)
    }

    async fn verify_jwt(&self, token: &str) -> Result<Claims, GatewayError> {
        let invalid = |_| GatewayError::InvalidToken;
        // 1. An access token, not an ID token or any other JWT.
        let header = josekit::jwt::decode_header(token).map_err(invalid)?;
        let claim = |name| header.claim(name).and_then(Value::as_str);
        let typ = claim("typ").unwrap_or_default().to_ascii_lowercase();
        if !matches!(typ.as_str(), "at+jwt" | "application/at+jwt") {
            return Err(GatewayError::InvalidToken);
        }
        // 2. The key it names, of the algorithm it says.
        let kid = claim("kid").ok_or(GatewayError::InvalidToken)?;
        let jwk = self
            .0
            .keys
            .key(&self.0.http, kid)
            .await?
            .ok_or(GatewayError::InvalidToken)?;
        if jwk.algorithm() != claim("alg") {
            return Err(GatewayError::InvalidToken);
        }
        let verifier: Box<dyn JwsVerifier> = match jwk.algorithm() {
            Some("ES256") => Box::new(ES256.verifier_from_jwk(&jwk).map_err(invalid)?),
            Some("RS256") => Box::new(RS256.verifier_from_jwk(&jwk).map_err(invalid)?),
            Some("EdDSA") => Box::new(EdDSA.verifier_from_jwk(&jwk).map_err(invalid)?),
            _ => return Err(GatewayError::InvalidToken),
        };
        // 3. The signature; step 4 is `Claims::check`.
        let (payload, _) =
            josekit::jwt::decode_with_verifier(token, &*verifier).map_err(invalid)?;
        let claims: serde_json::Map<String, Value> = payload.into();
        serde_json::from_value(Value::Object(claims)).map_err(|_| GatewayError::InvalidToken)
    }

    async fn introspect(&self, token: &str) -> Result<Claims, GatewayError> {
        if let Some(claims) = self.cached(token) {
            return Ok(claims);
        }
        // RFC 6749 §2.3.1: the credentials are form-encoded inside Basic.
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let response = self
            .0
            .http
            .post(&self.0.introspection_endpoint)
            .basic_auth(
                encode(&self.0.client_id),
                Some(encode(&self.0.client_secret)),
            )
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(e.into()))?;
        if !response.status().is_success() {
            let status = response.status();
            return Err(GatewayError::Unavailable(
                format!("introspection answered {status}").into(),
            ));
        }
        let answer: Value = response
            .json()
            .await
            .map_err(|e| GatewayError::Unavailable(e.into()))?;
        // RFC 7662 §2.2: an inactive token says nothing else. A refresh
        // token is active too, but it is not for resource servers.
        if answer["active"] != true || answer["token_type"] == "refresh_token" {
            return Err(GatewayError::InvalidToken);
        }
        let claims: Claims =
            serde_json::from_value(answer).map_err(|_| GatewayError::InvalidToken)?;
        claims.check(&self.0.issuer, unix_now())?;
        self.remember(token, &claims);
        Ok(claims)
    }

    fn cached(&self, token: &str) -> Option<Claims> {
        let cache = self
            .0
            .introspected
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache
            .get(token)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(claims, _)| claims.clone())
    }

    fn remember(&self, token: &str, claims: &Claims) {
        let left = u64::try_from(claims.exp - unix_now()).unwrap_or(0);
        let until = Instant::now() + INTROSPECTION_CACHE_MAX.min(Duration::from_secs(left));
        let mut cache = self
            .0
            .introspected
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= INTROSPECTION_CACHE_SWEEP {
            let now = Instant::now();
            cache.retain(|_, (_, until)| now < *until);
        }
        cache.insert(token.to_owned(), (claims.clone(), until));
    }
}

/// Gatehouse's signing keys, fetched when needed and no more often.
struct KeyCache {
    uri: String,
    keys: tokio::sync::Mutex<Keys>,
    fetches: AtomicU64,
}

struct Keys {
    set: JwkSet,
    /// When the set is due for its scheduled refresh (`None`: never fetched).
    refresh_at: Option<Instant>,
    /// Before this, an unknown `kid` does not make us look again.
    next_lookup_at: Option<Instant>,
}

impl KeyCache {
    fn new(uri: String) -> Self {
        Self {
            uri,
            keys: tokio::sync::Mutex::new(Keys {
                set: JwkSet::new(),
                refresh_at: None,
                next_lookup_at: None,
            }),
            fetches: AtomicU64::new(0),
        }
    }

    /// The key called `kid`. The lock is held while fetching, so requests
    /// arriving meanwhile wait for that one fetch instead of starting theirs.
    async fn key(&self, http: &reqwest::Client, kid: &str) -> Result<Option<Jwk>, GatewayError> {
        let mut keys = self.keys.lock().await;
        let known = keys.set.get(kid).first().map(|jwk| (*jwk).clone());
        let now = Instant::now();
        let due = keys.refresh_at.is_none_or(|at| now >= at);
        let look_again = known.is_none() && keys.next_lookup_at.is_none_or(|at| now >= at);
        if !due && !look_again {
            return Ok(known);
        }
        if !due {
            keys.next_lookup_at = Some(now + JWKS_MIN_REFETCH);
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match fetch_key_set(http, &self.uri).await {
            Ok(set) => {
                keys.set = set;
                keys.refresh_at = Some(now + JWKS_MAX_AGE);
            }
            Err(error) => {
                keys.refresh_at = Some(now + JWKS_MIN_REFETCH);
                if known.is_none() {
                    return Err(GatewayError::Unavailable(error));
                }
                // The old set still holds the key: keep using it meanwhile.
                eprintln!("api_gateway: JWKS refresh failed: {error}");
            }
        }
        Ok(keys.set.get(kid).first().map(|jwk| (*jwk).clone()))
    }
}

async fn fetch_key_set(http: &reqwest::Client, uri: &str) -> Result<JwkSet, BoxError> {
    let body = http
        .get(uri)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    Ok(JwkSet::from_bytes(body)?)
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, BoxError> {
    Ok(http
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// What the routes learn about the caller, from either kind of token.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    #[serde(default)]
    pub scope: String,
    pub client_id: Option<String>,
    pub acr: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Claims {
    /// Step 4: ours, meant for the API, not expired.
    fn check(&self, issuer: &str, now: i64) -> Result<(), GatewayError> {
        let for_us = match &self.aud {
            Audience::One(aud) => aud == issuer,
            Audience::Many(auds) => auds.iter().any(|aud| aud == issuer),
        };
        if self.iss != issuer || !for_us || self.exp <= now {
            return Err(GatewayError::InvalidToken);
        }
        Ok(())
    }
}

/// A caller with a valid bearer token. A handler that takes one cannot
/// forget to check the token; scope and `acr` it checks itself.
pub struct Caller(pub Claims);

impl FromRequestParts<Gateway> for Caller {
    type Rejection = GatewayError;

    async fn from_request_parts(
        parts: &mut Parts,
        gateway: &Gateway,
    ) -> Result<Self, Self::Rejection> {
        // RFC 6750 §2.1; another scheme counts as no bearer token at all.
        let Some((scheme, token)) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
        else {
            return Err(GatewayError::NoToken);
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(GatewayError::NoToken);
        }
        match token.trim() {
            "" => Err(GatewayError::InvalidToken),
            token => gateway.authenticate(token).await.map(Caller),
        }
    }
}

impl Caller {
    fn require_scope(&self, any_of: &'static [&'static str]) -> Result<(), GatewayError> {
        if self.0.scope.split(' ').any(|s| any_of.contains(&s)) {
            Ok(())
        } else {
            Err(GatewayError::InsufficientScope(any_of[0]))
        }
    }

    fn require_acr(&self, at_least: &'static str) -> Result<(), GatewayError> {
        let rank = |acr: &str| ACR_LEVELS.iter().position(|level| *level == acr);
        let has = self.0.acr.as_deref().and_then(rank);
        if has.is_some() && has >= rank(at_least) {
            Ok(())
        } else {
            Err(GatewayError::InsufficientAuthentication(at_least))
        }
    }
}

async fn public() -> Json<Value> {
    Json(json!({ "message": "anyone may read this" }))
}

async fn data(caller: Caller) -> Result<Json<Value>, GatewayError> {
    caller.require_scope(DATA_SCOPES)?;
    let Caller(claims) = caller;
    Ok(Json(
        json!({ "sub": claims.sub, "client_id": claims.client_id, "scope": claims.scope }),
    ))
}

async fn admin(caller: Caller) -> Result<Json<Value>, GatewayError> {
    caller.require_scope(DATA_SCOPES)?;
    caller.require_acr(ACR_MFA)?;
    let Caller(claims) = caller;
    Ok(Json(json!({ "sub": claims.sub, "acr": claims.acr })))
}

/// Why a request (or start-up) failed; the text is safe to show.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the setting {0} is missing or invalid")]
    Setting(&'static str),
    #[error("the identity provider could not be discovered")]
    Discovery(#[source] BoxError),
    #[error("this resource needs an access token")]
    NoToken,
    #[error("the access token is invalid or expired")]
    InvalidToken,
    #[error("the access token lacks the scope {0}")]
    InsufficientScope(&'static str),
    #[error("this resource needs a stronger sign-in")]
    InsufficientAuthentication(&'static str),
    #[error("the access token cannot be checked right now")]
    Unavailable(#[source] BoxError),
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let (status, challenge) = match &self {
            // RFC 6750 §3: no error code when no token was sent.
            Self::NoToken => (StatusCode::UNAUTHORIZED, "Bearer".to_owned()),
            Self::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                format!(r#"Bearer error="invalid_token", error_description="{self}""#),
            ),
            Self::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                format!(r#"Bearer error="insufficient_scope", scope="{scope}""#),
            ),
            // RFC 9470 §3: the client may come back with a token for `acr_values`.
            Self::InsufficientAuthentication(acr) => (
                StatusCode::FORBIDDEN,
                format!(
                    r#"Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="{acr}""#
                ),
            ),
            Self::Setting(_) | Self::Discovery(_) | Self::Unavailable(_) => {
                if let Some(cause) = std::error::Error::source(&self) {
                    eprintln!("api_gateway: {self}: {cause}");
                }
                return (StatusCode::SERVICE_UNAVAILABLE, self.to_string()).into_response();
            }
        };
        (
            status,
            [(header::WWW_AUTHENTICATE, challenge)],
            self.to_string(),
        )
            .into_response()
    }
}

/// Seconds since the epoch, to compare with `exp`.
#[allow(
    clippy::disallowed_methods,
    reason = "the lint keeps Gatehouse's own code on its Clock; a relying party reads the wall clock"
)]
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
