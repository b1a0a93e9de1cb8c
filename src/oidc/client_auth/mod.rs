//! Client authentication at the token-side endpoints (`/token`,
//! `/introspect`, `/revoke`, `/par`): RFC 6749 §2.3, RFC 7523 §2.2 and §3,
//! OpenID Connect Core 1.0 §9.
//!
//! HTTP-agnostic: the endpoint hands over what the request carried
//! ([`Presented`]) and gets back the authenticated client or a
//! [`ClientAuthError`] that knows its RFC 6749 §5.2 error code.
//!
//! The steps, in order:
//!
//! 1. Exactly one method per request (RFC 6749 §2.3: a client "MUST NOT use
//!    more than one authentication method in each request"): the Basic
//!    header, a `client_secret` form field, or a `client_assertion`. Neither
//!    means a public client (`none`), identified by its `client_id` alone.
//! 2. Basic credentials are `urlencode(client_id):urlencode(secret)` in
//!    base64, and both halves are form-url-decoded (RFC 6749 §2.3.1).
//! 3. The method used must be the one the client registered; a client
//!    registered for Basic cannot switch to the body, and a public client
//!    cannot send a secret.
//! 4. Secrets are compared in constant time, and when the client is unknown
//!    or has no secret the presented one is still checked against a dummy
//!    hash, so timing does not tell which clients exist.
//! 5. `private_key_jwt` (RFC 7523 §3): `iss` = `sub` = `client_id`; `aud` is
//!    the issuer, the token endpoint or the endpoint being called; `exp` is
//!    required, not passed and at most ten minutes ahead, so a stolen
//!    assertion is short-lived; `iat`/`nbf` not in the future; the signature
//!    verifies with a key from the client's registered JWKS under an
//!    asymmetric algorithm (`none` and HMAC are refused: an HMAC key would be
//!    a shared secret, which this method exists to avoid); and `jti` is
//!    single-use, recorded only once everything else has passed so forged
//!    assertions cannot burn a legitimate client's identifiers.
//!
//! Every failure to authenticate is the same `invalid_client` to the caller;
//! the precise reason goes to the log only.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use josekit::JoseError;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, EdDSA, JwsVerifier, PS256, RS256};
use serde_json::{Map, Value};

use crate::db::cache::ClientCache;

mod assertion;
use crate::clock::Clock;
use crate::db::clients::ClientRecord;
use crate::db::{Db, DbError};
use crate::security::client_secret::verify_client_secret;
use crate::store::{Store, StoreError};
use assertion::Assertion;

/// The only `client_assertion_type` accepted (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The `WWW-Authenticate` value to send with a 401 when [`ClientAuthError::challenge_basic`].
pub const BASIC_CHALLENGE: &str = "Basic realm=\"gatehouse\"";

const BASIC: &str = "client_secret_basic";
const POST: &str = "client_secret_post";
const PRIVATE_KEY_JWT: &str = "private_key_jwt";
const NONE: &str = "none";

/// Tolerated difference between the client's clock and ours, in seconds.
const CLOCK_SKEW: i64 = 60;
/// Longest an assertion may still be valid for when presented, in seconds.
const MAX_ASSERTION_LIFETIME: i64 = 600;
/// A larger assertion is refused unparsed; real ones are well under 4 KiB.
const MAX_ASSERTION_LEN: usize = 16 * 1024;
/// Checked against when there is no stored hash, so a request for an
/// unknown client costs the same hash as one for a real client. No secret
/// hashes to all-zero bytes, so it never matches.
const DUMMY_SECRET_HASH: &str = "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// What the request carried that may authenticate a client, as received.
#[derive(Clone, Copy, Default)]
pub struct Presented<'a> {
    /// The `Authorization` header value, if any.
    pub authorization: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
    pub client_assertion_type: Option<&'a str>,
    pub client_assertion: Option<&'a str>,
}

/// The `aud` values an assertion may name (RFC 7523 §3 item 3; OIDC Core §9
/// says the token endpoint, and clients commonly use the issuer instead).
#[derive(Debug, Clone, Copy)]
pub struct Audience<'a> {
    pub token_endpoint: &'a str,
    pub issuer: &'a str,
    /// The URL of the endpoint being called (equal to `token_endpoint` at
    /// `/token`), since some clients address `/introspect` or `/par` directly.
    pub endpoint: &'a str,
}

/// Why a client was not authenticated. `Display` and [`Self::description`]
/// are safe to send to the client and never say whether a client exists.
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// The request itself is malformed (RFC 6749 §5.2 `invalid_request`).
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// Authentication failed (`invalid_client`). `basic` is set when the
    /// client tried the Basic header: answer 401 with [`BASIC_CHALLENGE`].
    #[error("client authentication failed")]
    InvalidClient { basic: bool },
    /// The database or the store could not answer (`server_error`).
    #[error("client authentication is unavailable, try again later")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ClientAuthError {
    /// The RFC 6749 §5.2 `error` value.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::Unavailable(_) => "server_error",
        }
    }

    /// The `error_description` value.
    pub fn description(&self) -> &'static str {
        match self {
            Self::InvalidRequest(reason) => reason,
            Self::InvalidClient { .. } => "client authentication failed",
            Self::Unavailable(_) => "client authentication is unavailable, try again later",
        }
    }

    /// Whether the answer must be 401 with `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    pub fn challenge_basic(&self) -> bool {
        matches!(self, Self::InvalidClient { basic: true })
    }
}

impl From<DbError> for ClientAuthError {
    fn from(err: DbError) -> Self {
        Self::Unavailable(Box::new(err))
    }
}

impl From<StoreError> for ClientAuthError {
    fn from(err: StoreError) -> Self {
        Self::Unavailable(Box::new(err))
    }
}

/// Authenticates the client of a token-side request; see the module docs
/// for the rules.
pub async fn authenticate(
    presented: &Presented<'_>,
    audience: &Audience<'_>,
    cache: &ClientCache,
    db: &Db,
    store: &dyn Store,
    clock: &dyn Clock,
) -> Result<Arc<ClientRecord>, ClientAuthError> {
    let lookup = Lookup { cache, db, clock };
    match Method::of(presented)? {
        Method::Basic { client_id, secret } => by_secret(&lookup, &client_id, &secret, BASIC).await,
        Method::Post { client_id, secret } => by_secret(&lookup, client_id, secret, POST).await,
        Method::Public { client_id } => {
            let client = lookup.client(client_id).await?;
            match client {
                Some(client) if client.auth_method == NONE => Ok(client),
                Some(_) => Err(refuse(client_id, false, "method not registered")),
                None => Err(refuse(client_id, false, "unknown client")),
            }
        }
        Method::Assertion { jwt, client_id } => {
            by_assertion(&lookup, jwt, client_id, audience, store).await
        }
    }
}

/// Step 1: the one method the request used.
enum Method<'a> {
    Basic {
        client_id: String,
        secret: String,
    },
    Post {
        client_id: &'a str,
        secret: &'a str,
    },
    Assertion {
        jwt: &'a str,
        client_id: Option<&'a str>,
    },
    Public {
        client_id: &'a str,
    },
}

impl<'a> Method<'a> {
    fn of(presented: &Presented<'a>) -> Result<Self, ClientAuthError> {
        let assertion =
            presented.client_assertion.is_some() || presented.client_assertion_type.is_some();
        let used = [
            presented.authorization.is_some(),
            presented.client_secret.is_some(),
            assertion,
        ];
        if used.into_iter().filter(|used| *used).count() > 1 {
            return Err(ClientAuthError::InvalidRequest(
                "use only one client authentication method",
            ));
        }
        if let Some(header) = presented.authorization {
            let (client_id, secret) = parse_basic(header)?;
            if presented
                .client_id
                .is_some_and(|body_id| body_id != client_id)
            {
                return Err(ClientAuthError::InvalidRequest(
                    "client_id does not match the Authorization header",
                ));
            }
            return Ok(Self::Basic { client_id, secret });
        }
        if let Some(secret) = presented.client_secret {
            let client_id = presented.client_id.ok_or(ClientAuthError::InvalidRequest(
                "client_secret requires client_id",
            ))?;
            return Ok(Self::Post { client_id, secret });
        }
        if assertion {
            let (Some(kind), Some(jwt)) =
                (presented.client_assertion_type, presented.client_assertion)
            else {
                return Err(ClientAuthError::InvalidRequest(
                    "client_assertion and client_assertion_type go together",
                ));
            };
            if kind != JWT_BEARER_ASSERTION_TYPE {
                return Err(ClientAuthError::InvalidRequest(
                    "unsupported client_assertion_type",
                ));
            }
            let client_id = presented.client_id;
            return Ok(Self::Assertion { jwt, client_id });
        }
        match presented.client_id {
            Some(client_id) => Ok(Self::Public { client_id }),
            None => Err(ClientAuthError::InvalidClient { basic: false }),
        }
    }
}

/// Step 2: `Basic base64(urlencode(id):urlencode(secret))`.
fn parse_basic(header: &str) -> Result<(String, String), ClientAuthError> {
    let malformed = ClientAuthError::InvalidClient { basic: true };
    let (scheme, credentials) = header.trim().split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Err(ClientAuthError::InvalidRequest(
            "the Authorization header must use the Basic scheme",
        ));
    }
    let Ok(decoded) = STANDARD.decode(credentials.trim()) else {
        return Err(malformed);
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return Err(malformed);
    };
    let Some((client_id, secret)) = decoded.split_once(':') else {
        return Err(malformed);
    };
    match (form_url_decode(client_id), form_url_decode(secret)) {
        (Some(client_id), Some(secret)) if !client_id.is_empty() => Ok((client_id, secret)),
        _ => Err(malformed),
    }
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space
/// and `%XX` a byte. A `%` not followed by two hex digits is kept as is, as
/// the WHATWG URL standard does. `None` when the bytes are not UTF-8.
fn form_url_decode(encoded: &str) -> Option<String> {
    fn hex(byte: u8) -> Option<u8> {
        char::from(byte)
            .to_digit(16)
            .and_then(|digit| u8::try_from(digit).ok())
    }
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', high, low]) => hex(*high).zip(hex(*low)),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some((high, low)), _) => {
                decoded.push(high << 4 | low);
                i += 3;
                continue;
            }
            (None, b'+') => decoded.push(b' '),
            (None, byte) => decoded.push(byte),
        }
        i += 1;
    }
    String::from_utf8(decoded).ok()
}

/// Where clients are looked up, with database errors made [`ClientAuthError`]s.
struct Lookup<'a> {
    cache: &'a ClientCache,
    db: &'a Db,
    clock: &'a dyn Clock,
}

impl Lookup<'_> {
    async fn client(&self, client_id: &str) -> Result<Option<Arc<ClientRecord>>, ClientAuthError> {
        Ok(self.cache.get(self.db, self.clock, client_id).await?)
    }
}

/// Steps 3 and 4 for `client_secret_basic` and `client_secret_post`.
async fn by_secret(
    lookup: &Lookup<'_>,
    client_id: &str,
    secret: &str,
    method: &'static str,
) -> Result<Arc<ClientRecord>, ClientAuthError> {
    let basic = method == BASIC;
    let client = lookup.client(client_id).await?;
    let registered = client
        .as_ref()
        .filter(|client| client.auth_method == method);
    let stored_hash = registered.and_then(|client| client.secret_hash.as_deref());
    // Always one hash, whatever was found.
    let matches = verify_client_secret(secret, stored_hash.unwrap_or(DUMMY_SECRET_HASH));
    let reason = match (&client, registered, stored_hash) {
        (None, _, _) => "unknown client",
        (Some(_), None, _) => "method not registered",
        (Some(_), Some(_), None) => "no stored secret",
        (Some(_), Some(_), Some(_)) if !matches => "wrong secret",
        (Some(client), Some(_), Some(_)) => return Ok(Arc::clone(client)),
    };
    Err(refuse(client_id, basic, reason))
}

/// Step 5: `private_key_jwt`.
async fn by_assertion(
    lookup: &Lookup<'_>,
    jwt: &str,
    body_client_id: Option<&str>,
    audience: &Audience<'_>,
    store: &dyn Store,
) -> Result<Arc<ClientRecord>, ClientAuthError> {
    let named = body_client_id.unwrap_or("");
    let assertion = Assertion::parse(jwt).map_err(|reason| refuse(named, false, reason))?;
    let now = lookup.clock.unix();
    let checked = assertion
        .check_claims(audience, now)
        .map_err(|reason| refuse(named, false, reason))?;
    let client_id = checked.client_id;
    if body_client_id.is_some_and(|body_id| body_id != client_id) {
        return Err(refuse(named, false, "client_id differs from the assertion"));
    }
    let client = match lookup.client(client_id).await? {
        Some(client) if client.auth_method == PRIVATE_KEY_JWT => client,
        Some(_) => return Err(refuse(client_id, false, "method not registered")),
        None => return Err(refuse(client_id, false, "unknown client")),
    };
    let jwks = client
        .jwks
        .as_ref()
        .ok_or_else(|| refuse(client_id, false, "no jwks"))?;
    assertion
        .verify_signature(jwks)
        .map_err(|reason| refuse(client_id, false, reason))?;
    let ttl = u64::try_from(checked.exp + CLOCK_SKEW - now)
        .unwrap_or(1)
        .max(1);
    let replay_key = format!("client_assertion_jti:{client_id}:{}", checked.jti);
    if !store
        .put_new(&replay_key, b"1", Duration::from_secs(ttl))
        .await?
    {
        return Err(refuse(client_id, false, "replayed jti"));
    }
    Ok(client)
}

/// Logs why, for the operator, and gives the caller nothing more than
/// `invalid_client`.
fn refuse(client_id: &str, basic: bool, reason: &'static str) -> ClientAuthError {
    tracing::info!(?client_id, reason, "client authentication refused");
    ClientAuthError::InvalidClient { basic }
}

/// A compact JWS (RFC 7515 §7.1), split but not yet trusted.
#[cfg(test)]
mod tests {
    use josekit::jws::JwsSigner;
    use serde_json::json;

    use super::*;
    use crate::clock::ManualClock;
    use crate::db::clients::insert_client;
    use crate::domain::SecretString;
    use crate::security::client_secret::{hash_client_secret, random_token};
    use crate::store::SharedStore;

    const ISSUER: &str = "https://id.example.com";
    const TOKEN_ENDPOINT: &str = "https://id.example.com/token";
    const AUDIENCE: Audience<'static> = Audience {
        token_endpoint: TOKEN_ENDPOINT,
        issuer: ISSUER,
        endpoint: TOKEN_ENDPOINT,
    };
    const SECRET: &str = "correct-horse-battery-staple-0123456789";

    struct Fixture {
        db: Db,
        store: SharedStore,
        clock: Arc<ManualClock>,
        cache: ClientCache,
    }

    impl Fixture {
        async fn new() -> Self {
            let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
            crate::db::migrate(&db).await.unwrap();
            let clock = Arc::new(ManualClock::starting_now());
            let store = crate::store::connect("memory://", clock.clone())
                .await
                .unwrap();
            Self {
                db,
                store,
                clock,
                cache: ClientCache::new(Duration::from_secs(1)),
            }
        }

        async fn with_secret_client(self, client_id: &str, method: &str, secret: &str) -> Self {
            let mut record = client(client_id, method);
            record.secret_hash = Some(hash_client_secret(&SecretString::from(secret)));
            insert_client(&self.db, &record).await.unwrap();
            self
        }

        async fn with_client(self, record: ClientRecord) -> Self {
            insert_client(&self.db, &record).await.unwrap();
            self
        }

        async fn auth(
            &self,
            presented: Presented<'_>,
        ) -> Result<Arc<ClientRecord>, ClientAuthError> {
            authenticate(
                &presented,
                &AUDIENCE,
                &self.cache,
                &self.db,
                &*self.store,
                &*self.clock,
            )
            .await
        }

        async fn auth_with_assertion(
            &self,
            jwt: &str,
        ) -> Result<Arc<ClientRecord>, ClientAuthError> {
            self.auth(Presented {
                client_assertion_type: Some(JWT_BEARER_ASSERTION_TYPE),
                client_assertion: Some(jwt),
                ..Presented::default()
            })
            .await
        }

        /// Claims a well-behaved `private_key_jwt` client would send.
        fn claims(&self, client_id: &str) -> Value {
            let now = self.clock.unix();
            json!({
                "iss": client_id, "sub": client_id, "aud": TOKEN_ENDPOINT,
                "exp": now + 300, "iat": now, "jti": random_token(16),
            })
        }
    }

    fn client(client_id: &str, method: &str) -> ClientRecord {
        ClientRecord {
            client_id: client_id.to_owned(),
            name: None,
            secret_hash: None,
            auth_method: method.to_owned(),
            grant_types: vec!["client_credentials".to_owned()],
            scopes: vec![],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            first_party: false,
            require_pkce: true,
            require_par: false,
            access_token_format: "jwt".to_owned(),
            id_token_signed_response_alg: None,
            jwks: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            from_config: false,
            created_at: 1_900_000_000,
            updated_at: 1_900_000_000,
        }
    }

    fn jwt_client(client_id: &str, public_keys: &[&Value]) -> ClientRecord {
        let mut record = client(client_id, PRIVATE_KEY_JWT);
        record.jwks = Some(json!({ "keys": public_keys }));
        record
    }

    /// A client's key pair: its public JWK (for the registered JWKS) and a signer.
    struct ClientKey {
        alg: &'static str,
        kid: Option<&'static str>,
        public: Value,
        signer: Box<dyn JwsSigner>,
    }

    impl ClientKey {
        fn es256(kid: &'static str) -> Self {
            let pair = ES256.generate_key_pair().unwrap();
            let signer = Box::new(ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap());
            Self::from_parts("ES256", Some(kid), pair.to_jwk_public_key(), signer)
        }

        /// An RSA key registered without a `kid`, used in headers without one.
        fn rs256_without_kid() -> Self {
            let pair = RS256.generate_key_pair(2048).unwrap();
            let signer = Box::new(RS256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap());
            Self::from_parts("RS256", None, pair.to_jwk_public_key(), signer)
        }

        fn from_parts(
            alg: &'static str,
            kid: Option<&'static str>,
            mut public: Jwk,
            signer: Box<dyn JwsSigner>,
        ) -> Self {
            if let Some(kid) = kid {
                public.set_key_id(kid);
            }
            let public = Value::Object(public.into());
            Self {
                alg,
                kid,
                public,
                signer,
            }
        }

        fn header(&self) -> Value {
            match self.kid {
                Some(kid) => json!({"alg": self.alg, "kid": kid}),
                None => json!({"alg": self.alg}),
            }
        }

        fn sign(&self, claims: &Value) -> String {
            sign_with(&self.header(), claims, &*self.signer)
        }
    }

    fn encode(json: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
    }

    fn sign_with(header: &Value, claims: &Value, signer: &dyn JwsSigner) -> String {
        let message = format!("{}.{}", encode(header), encode(claims));
        let signature = signer.sign(message.as_bytes()).unwrap();
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn basic(client_id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")))
    }

    fn assert_invalid_client(result: Result<Arc<ClientRecord>, ClientAuthError>, basic: bool) {
        match result {
            Err(ClientAuthError::InvalidClient { basic: got }) => assert_eq!(got, basic),
            other => panic!("expected invalid_client, got {other:?}"),
        }
    }

    fn assert_invalid_request(result: Result<Arc<ClientRecord>, ClientAuthError>) {
        match result {
            Err(ClientAuthError::InvalidRequest(_)) => {}
            other => panic!("expected invalid_request, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn basic_credentials_authenticate_a_basic_client() {
        let fx = Fixture::new()
            .await
            .with_secret_client("console", BASIC, SECRET)
            .await;
        let header = basic("console", SECRET);
        let client = fx
            .auth(Presented {
                authorization: Some(&header),
                client_id: Some("console"),
                ..Presented::default()
            })
            .await
            .unwrap();
        assert_eq!(client.client_id, "console");
    }

    #[tokio::test]
    async fn basic_credentials_are_form_url_decoded() {
        let (client_id, secret) = ("svc:reports", "a b+c:d%e&f=g/é~!*'()-_.x1234567890");
        let fx = Fixture::new()
            .await
            .with_secret_client(client_id, BASIC, secret)
            .await;
        let encoded_id = "svc%3Areports";
        let encoded_secret = "a+b%2Bc%3Ad%25e%26f%3Dg%2F%C3%A9%7E%21*%27%28%29-_.x1234567890";
        assert_eq!(form_url_decode(encoded_secret).as_deref(), Some(secret));
        let header = basic(encoded_id, encoded_secret);
        let client = fx
            .auth(Presented {
                authorization: Some(&header),
                ..Presented::default()
            })
            .await
            .unwrap();
        assert_eq!(client.client_id, client_id);
    }

    #[tokio::test]
    async fn a_wrong_basic_secret_is_invalid_client_with_a_basic_challenge() {
        let fx = Fixture::new()
            .await
            .with_secret_client("console", BASIC, SECRET)
            .await;
        let header = basic("console", "not-the-secret-not-the-secret-0123");
        let error = fx
            .auth(Presented {
                authorization: Some(&header),
                ..Presented::default()
            })
            .await
            .unwrap_err();
        assert!(error.challenge_basic());
        assert_eq!(error.error_code(), "invalid_client");
    }

    #[tokio::test]
    async fn a_secret_in_the_body_for_a_basic_client_is_invalid_client() {
        let fx = Fixture::new()
            .await
            .with_secret_client("console", BASIC, SECRET)
            .await;
        let result = fx
            .auth(Presented {
                client_id: Some("console"),
                client_secret: Some(SECRET),
                ..Presented::default()
            })
            .await;
        assert_invalid_client(result, false);
    }

    #[tokio::test]
    async fn a_secret_in_the_body_authenticates_a_post_client() {
        let fx = Fixture::new()
            .await
            .with_secret_client("batch", POST, SECRET)
            .await;
        let client = fx
            .auth(Presented {
                client_id: Some("batch"),
                client_secret: Some(SECRET),
                ..Presented::default()
            })
            .await
            .unwrap();
        assert_eq!(client.client_id, "batch");
    }

    #[tokio::test]
    async fn a_header_and_a_body_secret_together_are_invalid_request() {
        let fx = Fixture::new()
            .await
            .with_secret_client("console", BASIC, SECRET)
            .await;
        let header = basic("console", SECRET);
        let result = fx
            .auth(Presented {
                authorization: Some(&header),
                client_id: Some("console"),
                client_secret: Some(SECRET),
                ..Presented::default()
            })
            .await;
        assert_invalid_request(result);
    }

    #[tokio::test]
    async fn a_body_client_id_other_than_the_headers_is_invalid_request() {
        let fx = Fixture::new()
            .await
            .with_secret_client("console", BASIC, SECRET)
            .await;
        let header = basic("console", SECRET);
        let result = fx
            .auth(Presented {
                authorization: Some(&header),
                client_id: Some("other"),
                ..Presented::default()
            })
            .await;
        assert_invalid_request(result);
    }

    #[tokio::test]
    async fn an_unknown_client_looks_exactly_like_a_wrong_secret() {
        let fx = Fixture::new()
            .await
            .with_secret_client("console", BASIC, SECRET)
            .await;
        let unknown = basic("nobody", SECRET);
        let wrong = basic("console", "wrong-wrong-wrong-wrong-wrong-wrong");
        let unknown = fx
            .auth(Presented {
                authorization: Some(&unknown),
                ..Presented::default()
            })
            .await
            .unwrap_err();
        let wrong = fx
            .auth(Presented {
                authorization: Some(&wrong),
                ..Presented::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(
            unknown,
            ClientAuthError::InvalidClient { basic: true }
        ));
        assert_eq!(unknown.error_code(), wrong.error_code());
        assert_eq!(unknown.description(), wrong.description());
        assert_eq!(unknown.to_string(), wrong.to_string());
        let in_body = fx
            .auth(Presented {
                client_id: Some("nobody"),
                client_secret: Some(SECRET),
                ..Presented::default()
            })
            .await;
        assert_invalid_client(in_body, false);
    }

    #[tokio::test]
    async fn a_public_client_authenticates_with_its_client_id_alone_but_not_with_a_secret() {
        let fx = Fixture::new().await.with_client(client("cli", NONE)).await;
        let client = fx
            .auth(Presented {
                client_id: Some("cli"),
                ..Presented::default()
            })
            .await
            .unwrap();
        assert_eq!(client.auth_method, NONE);
        let with_secret = fx
            .auth(Presented {
                client_id: Some("cli"),
                client_secret: Some(SECRET),
                ..Presented::default()
            })
            .await;
        assert_invalid_client(with_secret, false);
        let header = basic("cli", SECRET);
        let with_header = fx
            .auth(Presented {
                authorization: Some(&header),
                ..Presented::default()
            })
            .await;
        assert_invalid_client(with_header, true);
    }

    #[tokio::test]
    async fn a_confidential_client_cannot_pass_as_public_and_no_credentials_at_all_fail() {
        let fx = Fixture::new()
            .await
            .with_secret_client("console", BASIC, SECRET)
            .await;
        let as_public = fx
            .auth(Presented {
                client_id: Some("console"),
                ..Presented::default()
            })
            .await;
        assert_invalid_client(as_public, false);
        assert_invalid_client(fx.auth(Presented::default()).await, false);
    }

    #[tokio::test]
    async fn private_key_jwt_signed_with_es256_authenticates() {
        let key = ClientKey::es256("k1");
        let other = ClientKey::es256("k2");
        let fx = Fixture::new()
            .await
            .with_client(jwt_client("svc", &[&other.public, &key.public]))
            .await;
        let jwt = key.sign(&fx.claims("svc"));
        let client = fx.auth_with_assertion(&jwt).await.unwrap();
        assert_eq!(client.client_id, "svc");
    }

    #[tokio::test]
    async fn private_key_jwt_signed_with_rs256_and_no_kid_tries_every_rsa_key() {
        let ec = ClientKey::es256("ec");
        let key = ClientKey::rs256_without_kid();
        let fx = Fixture::new()
            .await
            .with_client(jwt_client("svc", &[&ec.public, &key.public]))
            .await;
        let mut claims = fx.claims("svc");
        claims["aud"] = json!(["https://elsewhere.example.com", ISSUER]);
        let client = fx
            .auth(Presented {
                client_id: Some("svc"),
                client_assertion_type: Some(JWT_BEARER_ASSERTION_TYPE),
                client_assertion: Some(&key.sign(&claims)),
                ..Presented::default()
            })
            .await
            .unwrap();
        assert_eq!(client.client_id, "svc");
    }

    #[tokio::test]
    async fn a_replayed_assertion_is_refused() {
        let key = ClientKey::es256("k1");
        let fx = Fixture::new()
            .await
            .with_client(jwt_client("svc", &[&key.public]))
            .await;
        let jwt = key.sign(&fx.claims("svc"));
        fx.auth_with_assertion(&jwt).await.unwrap();
        fx.clock.advance(Duration::from_secs(5));
        assert_invalid_client(fx.auth_with_assertion(&jwt).await, false);
    }

    #[tokio::test]
    async fn a_forged_assertion_does_not_spend_the_jti_it_names() {
        let key = ClientKey::es256("k1");
        let attacker = ClientKey::es256("k1");
        let fx = Fixture::new()
            .await
            .with_client(jwt_client("svc", &[&key.public]))
            .await;
        let claims = fx.claims("svc");
        assert_invalid_client(fx.auth_with_assertion(&attacker.sign(&claims)).await, false);
        assert!(fx.auth_with_assertion(&key.sign(&claims)).await.is_ok());
    }

    #[tokio::test]
    async fn bad_assertions_are_invalid_client() {
        let key = ClientKey::es256("k1");
        let unregistered = ClientKey::es256("k1");
        let fx = Fixture::new()
            .await
            .with_client(jwt_client("svc", &[&key.public]))
            .await;
        let now = fx.clock.unix();
        let with = |name: &str, value: Value| {
            let mut claims = fx.claims("svc");
            claims[name] = value;
            claims
        };
        let hmac = josekit::jws::HS256
            .signer_from_bytes(b"guessed-secret-guessed-secret-32")
            .unwrap();
        let cases = [
            ("expired", key.sign(&with("exp", json!(now - 61)))),
            (
                "exp one hour ahead",
                key.sign(&with("exp", json!(now + 3600))),
            ),
            (
                "iat in the future",
                key.sign(&with("iat", json!(now + 300))),
            ),
            (
                "wrong aud",
                key.sign(&with("aud", json!("https://evil.example.com/token"))),
            ),
            (
                "iss differs from sub",
                key.sign(&with("iss", json!("other"))),
            ),
            ("no jti", key.sign(&with("jti", Value::Null))),
            ("unregistered key", unregistered.sign(&fx.claims("svc"))),
            (
                "alg none",
                format!(
                    "{}.{}.",
                    encode(&json!({"alg": "none", "kid": "k1"})),
                    encode(&fx.claims("svc"))
                ),
            ),
            (
                "HS256 with a guessed secret",
                sign_with(
                    &json!({"alg": "HS256", "kid": "k1"}),
                    &fx.claims("svc"),
                    &hmac,
                ),
            ),
            ("not a JWS", "not.a.jws".to_owned()),
        ];
        for (case, jwt) in cases {
            let result = fx.auth_with_assertion(&jwt).await;
            assert!(
                matches!(result, Err(ClientAuthError::InvalidClient { basic: false })),
                "{case}: {result:?}"
            );
        }
        // The same key and claims builder, unaltered, do authenticate.
        assert!(
            fx.auth_with_assertion(&key.sign(&fx.claims("svc")))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn an_assertion_must_name_the_body_client_id_and_a_jwt_client() {
        let key = ClientKey::es256("k1");
        let fx = Fixture::new()
            .await
            .with_client(jwt_client("svc", &[&key.public]))
            .await
            .with_secret_client("console", BASIC, SECRET)
            .await;
        let other_body_id = fx
            .auth(Presented {
                client_id: Some("console"),
                client_assertion_type: Some(JWT_BEARER_ASSERTION_TYPE),
                client_assertion: Some(&key.sign(&fx.claims("svc"))),
                ..Presented::default()
            })
            .await;
        assert_invalid_client(other_body_id, false);
        let secret_client = fx
            .auth_with_assertion(&key.sign(&fx.claims("console")))
            .await;
        assert_invalid_client(secret_client, false);
    }

    #[tokio::test]
    async fn an_assertion_of_another_type_or_without_its_type_is_invalid_request() {
        let key = ClientKey::es256("k1");
        let fx = Fixture::new()
            .await
            .with_client(jwt_client("svc", &[&key.public]))
            .await;
        let jwt = key.sign(&fx.claims("svc"));
        let saml = fx
            .auth(Presented {
                client_assertion_type: Some(
                    "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                ),
                client_assertion: Some(&jwt),
                ..Presented::default()
            })
            .await;
        assert_invalid_request(saml);
        let untyped = fx
            .auth(Presented {
                client_assertion: Some(&jwt),
                ..Presented::default()
            })
            .await;
        assert_invalid_request(untyped);
    }

    #[tokio::test]
    async fn each_claims_rule_refuses_for_its_own_reason() {
        let fx = Fixture::new().await;
        let now = fx.clock.unix();
        let check = |name: &str, value: Value| {
            let mut claims = fx.claims("svc");
            claims[name] = value;
            let jwt = format!("{}.{}.", encode(&json!({"alg": "ES256"})), encode(&claims));
            let assertion = Assertion::parse(&jwt).unwrap();
            assertion.check_claims(&AUDIENCE, now).err()
        };
        assert_eq!(check("exp", json!(now + 3600)), Some("exp too far ahead"));
        assert_eq!(check("exp", json!(now + 600)), None);
        assert_eq!(check("exp", json!(now - 61)), Some("expired"));
        assert_eq!(check("exp", json!(now - 59)), None);
        assert_eq!(check("exp", Value::Null), Some("malformed date"));
        assert_eq!(
            check("nbf", json!(now + 61)),
            Some("iat or nbf in the future")
        );
        assert_eq!(
            check(
                "iat",
                serde_json::from_str(&format!("{}.5", now + 30)).unwrap()
            ),
            None
        );
        assert_eq!(check("aud", json!([ISSUER])), None);
        assert_eq!(
            check("aud", json!("https://evil.example.com")),
            Some("aud does not name this server")
        );
        assert_eq!(check("sub", json!("other")), Some("iss differs from sub"));
        assert_eq!(check("jti", json!("")), Some("jti missing"));
    }

    #[test]
    fn errors_map_to_rfc_6749_codes() {
        let request = ClientAuthError::InvalidRequest("use only one client authentication method");
        assert_eq!(request.error_code(), "invalid_request");
        assert_eq!(
            request.description(),
            "use only one client authentication method"
        );
        assert!(!request.challenge_basic());
        assert!(!ClientAuthError::InvalidClient { basic: false }.challenge_basic());
        let unavailable = ClientAuthError::from(DbError::NotFound("client"));
        assert_eq!(unavailable.error_code(), "server_error");
        assert!(!unavailable.description().contains("client not found"));
    }

    #[test]
    fn form_url_decoding_turns_plus_into_space_and_keeps_stray_percents() {
        assert_eq!(form_url_decode("a+b%20c").as_deref(), Some("a b c"));
        assert_eq!(form_url_decode("100%").as_deref(), Some("100%"));
        assert_eq!(form_url_decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(form_url_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(form_url_decode("%FF"), None);
    }
}
