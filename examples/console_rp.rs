//! A minimal web app that signs its users in through Gatehouse with the
//! `openidconnect` crate: the authorization code flow of OpenID Connect Core
//! §3.1 with PKCE (RFC 7636, S256), `state` and `nonce`, ID token validation
//! (§3.1.3.7), and RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! Run it against `scripts/serve` (see "Relying-party examples" in the README
//! for registering the client first):
//!
//! ```sh
//! ISSUER=http://localhost:8080 CLIENT_ID=console-rp CLIENT_SECRET=… \
//!   BASE_URL=http://localhost:3000 cargo run --example console_rp
//! ```
//!
//! Settings, from environment variables:
//! - `ISSUER`: Gatehouse's issuer URL (default `http://localhost:8080`).
//! - `CLIENT_ID`, `CLIENT_SECRET`: this app's registration (required).
//! - `BASE_URL`: where browsers reach this app (default
//!   `http://localhost:3000`). The redirect URI to register is
//!   `BASE_URL/callback`, the post-logout redirect URI `BASE_URL/`.
//! - `LISTEN`: the address to bind (default `127.0.0.1:3000`).
//!
//! Routes:
//! 1. `/` says who is signed in, or offers a "Sign in" link.
//! 2. `/login` remembers a fresh `state`, `nonce` and PKCE verifier on the
//!    server, keyed by a random cookie, and sends the browser to Gatehouse.
//! 3. `/callback` checks `state` (and `iss`, RFC 9207), redeems the code with
//!    the verifier, validates the ID token with the nonce, reads the profile
//!    from userinfo and starts a local session under a *new* cookie value.
//! 4. `/logout` (POST, from the "Sign out" button) forgets the local session
//!    and sends the browser to Gatehouse's `end_session_endpoint` with
//!    `id_token_hint`, `post_logout_redirect_uri` (`BASE_URL/`) and a `state`
//!    that `/` checks on the way back.
//!
//! Decisions:
//! - Everything is kept server-side; the cookie is only a random key. The
//!   browser never holds a token, and the key changes at sign-in, so a key
//!   planted before sign-in (session fixation) is worthless afterwards.
//! - The cookie is `SameSite=Lax`: it comes back on Gatehouse's top-level
//!   redirect to `/callback`, but not on a cross-site POST, so `/logout` needs
//!   no CSRF token of its own and nobody else's page can sign you out.
//! - Each sign-in attempt is used once: the callback takes it out of the
//!   store whatever happens, so a response cannot be replayed.
//! - Discovery (and so the JWKS) is read once at start: restart the app after
//!   Gatehouse retires the key that signs ID tokens. A production app also
//!   expires abandoned sign-in attempts and keeps sessions in a shared store.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndSessionUrl,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse as _, reqwest,
};
use serde::Deserialize;

/// The cookie holding the key of this browser's entry in [`Visits`].
const COOKIE: &str = "console_rp_visit";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The client as built from discovery: authorization and token endpoints
/// set, userinfo as the provider announced it.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Where browsers reach this app, without a trailing slash.
    pub base_url: String,
    pub listen: SocketAddr,
}

impl Settings {
    pub fn from_env() -> Result<Self, RpError> {
        let var = |name: &'static str, default: Option<&str>| {
            std::env::var(name)
                .ok()
                .or_else(|| default.map(str::to_owned))
                .ok_or(RpError::Setting(name))
        };
        Ok(Self {
            issuer: var("ISSUER", Some("http://localhost:8080"))?,
            client_id: var("CLIENT_ID", None)?,
            client_secret: var("CLIENT_SECRET", None)?,
            base_url: var("BASE_URL", Some("http://localhost:3000"))?
                .trim_end_matches('/')
                .to_owned(),
            listen: var("LISTEN", Some("127.0.0.1:3000"))?
                .parse()
                .map_err(|_| RpError::Setting("LISTEN"))?,
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let settings = Settings::from_env()?;
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    println!("console_rp on {}", settings.base_url);
    axum::serve(listener, app(settings).await?).await?;
    Ok(())
}

/// Discovers Gatehouse and builds the app's routes.
pub async fn app(settings: Settings) -> Result<Router, RpError> {
    // Redirects are never followed: an answer that moved is not the answer.
    let http = reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| RpError::Discovery(e.into()))?;
    let issuer = IssuerUrl::new(settings.issuer).map_err(|_| RpError::Setting("ISSUER"))?;
    // Also checks that the document names the issuer we asked for.
    let metadata = ProviderMetadataWithLogout::discover_async(issuer.clone(), &http)
        .await
        .map_err(|e| RpError::Discovery(e.into()))?;
    let end_session = metadata.additional_metadata().end_session_endpoint.clone();
    let redirect = RedirectUrl::new(format!("{}/callback", settings.base_url))
        .map_err(|_| RpError::Setting("BASE_URL"))?;
    let post_logout = PostLogoutRedirectUrl::new(format!("{}/", settings.base_url))
        .map_err(|_| RpError::Setting("BASE_URL"))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id),
        Some(ClientSecret::new(settings.client_secret)),
    )
    .set_redirect_uri(redirect);
    let rp = Rp {
        client: Arc::new(client),
        http,
        issuer,
        end_session,
        post_logout,
        secure_cookie: settings.base_url.starts_with("https://"),
        visits: Arc::default(),
    };
    Ok(Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/logout", post(logout))
        .with_state(rp))
}

#[derive(Clone)]
struct Rp {
    client: Arc<Client>,
    http: reqwest::Client,
    issuer: IssuerUrl,
    end_session: Option<EndSessionUrl>,
    post_logout: PostLogoutRedirectUrl,
    secure_cookie: bool,
    visits: Visits,
}

/// What the app remembers of each browser, by cookie value.
type Visits = Arc<Mutex<HashMap<String, Visit>>>;

enum Visit {
    /// Between `/login` and `/callback`: what the response must match.
    SigningIn {
        state: CsrfToken,
        nonce: Nonce,
        verifier: PkceCodeVerifier,
    },
    SignedIn {
        user: User,
        /// Kept for `id_token_hint` at logout (boxed: it is large).
        id_token: Box<CoreIdToken>,
    },
    /// Between `/logout` and the return to `/`: the state Gatehouse echoes.
    SigningOut { state: CsrfToken },
}

struct User {
    subject: String,
    username: Option<String>,
    name: Option<String>,
}

impl Rp {
    /// Takes this browser's entry out of the store when it is what the step
    /// answers (so a stray `/callback` cannot end a session): each step
    /// consumes its entry.
    fn take_visit(&self, headers: &HeaderMap, wanted: fn(&Visit) -> bool) -> Option<Visit> {
        let key = visit_key(headers)?;
        let mut visits = self.visits();
        if !visits.get(&key).is_some_and(wanted) {
            return None;
        }
        visits.remove(&key)
    }

    /// Stores `visit` under a new random key and returns the cookie for it.
    fn start_visit(&self, visit: Visit) -> [(header::HeaderName, String); 1] {
        // 256 random bits, base64url: CsrfToken is simply a handy generator.
        let key = CsrfToken::new_random_len(32).into_secret();
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        let cookie = format!("{COOKIE}={key}; Path=/; HttpOnly; SameSite=Lax{secure}");
        self.visits().insert(key, visit);
        [(header::SET_COOKIE, cookie)]
    }

    fn visits(&self) -> std::sync::MutexGuard<'_, HashMap<String, Visit>> {
        self.visits.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn visit_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

#[derive(Deserialize)]
struct HomeQuery {
    state: Option<String>,
}

async fn home(
    State(rp): State<Rp>,
    headers: HeaderMap,
    Query(query): Query<HomeQuery>,
) -> Response {
    let key = visit_key(&headers).unwrap_or_default();
    let mut visits = rp.visits();
    let mut body = String::new();
    match visits.get(&key) {
        Some(Visit::SignedIn { user, .. }) => {
            return page(
                "Console",
                &format!(
                    "<p>Signed in as {}.</p><form method=\"post\" action=\"/logout\">\
                     <button>Sign out</button></form>",
                    describe(user)
                ),
            );
        }
        // Back from Gatehouse's logout: the state proves the round trip was ours.
        Some(Visit::SigningOut { state }) => {
            if query.state.as_deref() == Some(state.secret().as_str()) {
                body.push_str("<p>You are signed out.</p>");
            }
            visits.remove(&key);
        }
        Some(Visit::SigningIn { .. }) | None => {}
    }
    body.push_str("<p><a href=\"/login\">Sign in</a></p>");
    page("Console", &body)
}

fn describe(user: &User) -> String {
    let mut who = escape(user.username.as_deref().unwrap_or(&user.subject));
    if let Some(name) = &user.name {
        let _ = write!(who, " ({})", escape(name));
    }
    who
}

async fn login(State(rp): State<Rp>, headers: HeaderMap) -> Response {
    // A new attempt replaces whatever this browser had.
    rp.take_visit(&headers, |_| true);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let cookie = rp.start_visit(Visit::SigningIn {
        state,
        nonce,
        verifier,
    });
    (cookie, Redirect::to(url.as_str())).into_response()
}

#[derive(Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

async fn callback(
    State(rp): State<Rp>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    match sign_in(&rp, &headers, query).await {
        Ok(visit) => (rp.start_visit(visit), Redirect::to("/")).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn sign_in(rp: &Rp, headers: &HeaderMap, query: CallbackQuery) -> Result<Visit, RpError> {
    // 1. The response answers the request this browser started here.
    let Some(Visit::SigningIn {
        state,
        nonce,
        verifier,
    }) = rp.take_visit(headers, |v| matches!(v, Visit::SigningIn { .. }))
    else {
        return Err(RpError::NotStarted);
    };
    if query.state.as_deref() != Some(state.secret().as_str()) {
        return Err(RpError::Mismatch);
    }
    // 2. It comes from our provider (RFC 9207: no mix-up with another one).
    if query
        .iss
        .as_deref()
        .is_some_and(|iss| iss != rp.issuer.as_str())
    {
        return Err(RpError::Mismatch);
    }
    if let Some(error) = query.error {
        return Err(RpError::Refused(error));
    }
    let code = query.code.ok_or(RpError::Mismatch)?;

    // 3. Redeem the code, proving with the verifier that we asked for it.
    let token = rp
        .client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| RpError::Exchange(e.into()))?
        .set_pkce_verifier(verifier)
        .request_async(&rp.http)
        .await
        .map_err(|e| RpError::Exchange(e.into()))?;

    // 4. Validate the ID token: signature, iss, aud, exp, and our nonce.
    let id_token = token
        .id_token()
        .ok_or(RpError::Exchange("no ID token".into()))?;
    let verifier = rp.client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .map_err(|e| RpError::IdToken(e.into()))?;
    // 5. The access token is the one the ID token was issued with.
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token
            .signing_alg()
            .map_err(|e| RpError::IdToken(e.into()))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| RpError::IdToken(e.into()))?;
        let actual = AccessTokenHash::from_token(token.access_token(), alg, key)
            .map_err(|e| RpError::IdToken(e.into()))?;
        if actual != *expected {
            return Err(RpError::IdToken("at_hash mismatch".into()));
        }
    }

    // 6. The profile, from userinfo, for the same subject.
    let profile: CoreUserInfoClaims = rp
        .client
        .user_info(token.access_token().clone(), Some(claims.subject().clone()))
        .map_err(|e| RpError::UserInfo(e.into()))?
        .request_async(&rp.http)
        .await
        .map_err(|e| RpError::UserInfo(e.into()))?;
    Ok(Visit::SignedIn {
        user: User {
            subject: claims.subject().as_str().to_owned(),
            username: profile.preferred_username().map(|u| u.as_str().to_owned()),
            name: profile
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
        },
        id_token: Box::new(id_token.clone()),
    })
}

async fn logout(State(rp): State<Rp>, headers: HeaderMap) -> Response {
    // The local session ends first, whatever Gatehouse then does.
    let (Some(Visit::SignedIn { id_token, .. }), Some(end_session)) = (
        rp.take_visit(&headers, |v| matches!(v, Visit::SignedIn { .. })),
        rp.end_session.clone(),
    ) else {
        return Redirect::to("/").into_response();
    };
    let state = CsrfToken::new_random();
    let url = LogoutRequest::from(end_session)
        .set_id_token_hint(&id_token)
        .set_post_logout_redirect_uri(rp.post_logout.clone())
        .set_state(state.clone())
        .http_get_url();
    let cookie = rp.start_visit(Visit::SigningOut { state });
    (cookie, Redirect::to(url.as_str())).into_response()
}

/// Why a request failed; the text is safe to show, the cause is logged.
#[derive(Debug, thiserror::Error)]
pub enum RpError {
    #[error("the setting {0} is missing or invalid")]
    Setting(&'static str),
    #[error("the identity provider could not be reached")]
    Discovery(#[source] BoxError),
    #[error("this sign-in was not started here, or was already used; please sign in again")]
    NotStarted,
    #[error("the sign-in response does not match the request; please sign in again")]
    Mismatch,
    #[error("the identity provider did not sign you in ({0})")]
    Refused(String),
    #[error("the sign-in could not be completed")]
    Exchange(#[source] BoxError),
    #[error("the identity provider's answer could not be verified")]
    IdToken(#[source] BoxError),
    #[error("your profile could not be read")]
    UserInfo(#[source] BoxError),
}

impl IntoResponse for RpError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::NotStarted | Self::Mismatch => StatusCode::BAD_REQUEST,
            Self::Refused(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_GATEWAY,
        };
        if let Some(cause) = std::error::Error::source(&self) {
            eprintln!("console_rp: {self}: {cause}");
        }
        let body = format!(
            "<p>Sorry: {}.</p><p><a href=\"/login\">Sign in</a></p>",
            escape(&self.to_string())
        );
        (status, page("Sign-in failed", &body)).into_response()
    }
}

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <title>{title}</title><h1>{title}</h1>{body}</html>"
    ))
    .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}
