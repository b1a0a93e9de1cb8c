//! The device authorization grant (RFC 8628): a command-line tool gets a
//! `device_code` and a short `user_code`, the person enters the code on the
//! `/device` page, signs in and approves, and the tool's polling of the token
//! endpoint then yields tokens.
//!
//! User codes are 8 letters from an alphabet without vowels or look-alikes
//! (§6.1: 20^8 ≈ 2.6 × 10^10 values for a 10-minute life), shown as
//! `BCDF-GHJK`, and matched ignoring case and punctuation.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::RngExt as _;
use serde::{Deserialize, Serialize};

use super::discovery::paths;
use super::error::OAuthError;
use super::grant::{ClaimsRequest, Grant};
use crate::app::AppState;
use crate::web::page_error::PageError;

pub const LIFETIME: Duration = Duration::from_mins(10);
/// Seconds a client must wait between polls (§3.2), raised by 5 on `slow_down`.
pub const INTERVAL: i64 = 5;
const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Status {
    Pending,
    Approved(Box<Grant>),
    Denied,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub client_id: String,
    pub scope: String,
    pub user_code: String,
    pub status: Status,
    pub expires_at: i64,
    pub interval: i64,
    pub last_poll: Option<i64>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::DEVICE_AUTHORIZATION, post(device_authorization))
        .route(paths::DEVICE, get(device_page).post(device_submitted))
}

fn device_key(device_code: &str) -> String {
    format!(
        "device:{}",
        crate::security::sha256_b64url(device_code.as_bytes())
    )
}

fn user_code_key(user_code: &str) -> String {
    format!("device_user:{user_code}")
}

/// `BCDF-GHJK` → `BCDFGHJK`; anything outside the alphabet is dropped.
pub fn normalise_user_code(input: &str) -> String {
    input
        .chars()
        .map(|c| c.to_ascii_uppercase())
        .filter(|c| c.is_ascii() && ALPHABET.contains(&(*c as u8)))
        .collect()
}

fn new_user_code() -> String {
    let mut rng = rand::rng();
    (0..8)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

fn display(user_code: &str) -> String {
    format!(
        "{}-{}",
        &user_code[..4.min(user_code.len())],
        &user_code[4.min(user_code.len())..]
    )
}

/// §3.1–3.2: authenticate the client, check grant and scope, hand out codes.
async fn device_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let params = super::routes::form_params(&headers, &body)?;
        let client = super::token::authenticate_client(
            &state,
            &headers,
            &params,
            paths::DEVICE_AUTHORIZATION,
        )
        .await?;
        if !client
            .grant_types
            .iter()
            .any(|g| g == super::token::DEVICE_CODE_GRANT)
        {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the device grant",
            ));
        }
        let scope = super::authorize::request::validate_scope(
            &client,
            params.get("scope").unwrap_or_default(),
        )
        .map_err(OAuthError::invalid_scope)?;
        let device_code = crate::security::random_token(32);
        let user_code = new_user_code();
        let record = DeviceRecord {
            client_id: client.client_id.clone(),
            scope,
            user_code: user_code.clone(),
            status: Status::Pending,
            expires_at: state.clock.unix() + i64::try_from(LIFETIME.as_secs()).unwrap_or(600),
            interval: INTERVAL,
            last_poll: None,
        };
        let store = state.store.as_ref();
        crate::store::put_json(store, &device_key(&device_code), &record, LIFETIME)
            .await
            .map_err(|e| super::token::internal(&e))?;
        store
            .put(
                &user_code_key(&user_code),
                device_key(&device_code).as_bytes(),
                LIFETIME,
            )
            .await
            .map_err(|e| super::token::internal(&e))?;
        let verification_uri = format!("{}{}", state.config.issuer, paths::DEVICE);
        Ok(serde_json::json!({
            "device_code": device_code,
            "user_code": display(&user_code),
            "verification_uri": verification_uri,
            "verification_uri_complete": format!("{verification_uri}?user_code={user_code}"),
            "expires_in": LIFETIME.as_secs(),
            "interval": INTERVAL,
        }))
    }
    .await;
    match result {
        Ok(body) => {
            let mut response = axum::Json(body).into_response();
            super::tokens::no_store(&mut response);
            response
        }
        Err(error) => error.into_response(),
    }
}

#[derive(Deserialize)]
struct CodeQuery {
    user_code: Option<String>,
}

async fn device_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CodeQuery>,
) -> Response {
    let signed_in = crate::login::current_session(&state, &headers)
        .await
        .ok()
        .flatten();
    match (q.user_code, signed_in) {
        // Back from sign-in: ask for approval straight away.
        (Some(code), Some(_)) => match find_by_user_code(&state, &code).await {
            Some((_, record)) => confirm_page(&state, &headers, &record).await,
            None => code_page(&state, &headers, Some(&code), Some(INVALID_CODE)),
        },
        (code, _) => code_page(&state, &headers, code.as_deref(), None),
    }
}

const INVALID_CODE: &str =
    "That code is not valid or has expired. Check the code shown on your device.";

#[derive(Deserialize)]
struct DeviceForm {
    csrf: Option<String>,
    user_code: Option<String>,
    decision: Option<String>,
}

/// Wrong user codes one address may type in [`ATTEMPT_WINDOW`].
const MAX_WRONG_CODES: u64 = 20;
const ATTEMPT_WINDOW: Duration = Duration::from_mins(15);

async fn device_submitted(
    State(state): State<AppState>,
    crate::web::client_ip::ClientIp(ip): crate::web::client_ip::ClientIp,
    headers: HeaderMap,
    form: Result<axum::Form<DeviceForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(form)) = form else {
        return code_page(
            &state,
            &headers,
            None,
            Some("This form could not be read. Please try again."),
        );
    };
    if crate::web::csrf::verify(
        &headers,
        state.config.issuer.starts_with("https://"),
        form.csrf.as_deref(),
    )
    .is_err()
    {
        return code_page(
            &state,
            &headers,
            form.user_code.as_deref(),
            Some("This form has expired. Please try again."),
        );
    }
    let typed = form.user_code.unwrap_or_default();
    // User codes are short: guessing is limited per address (RFC 8628 §5.1).
    let attempts_key = crate::web::client_ip::limit_key("device_code_attempts", ip);
    if crate::store::count(state.store.as_ref(), &attempts_key)
        .await
        .is_ok_and(|n| n >= MAX_WRONG_CODES)
    {
        return PageError::too_many_requests().into_response_with(&state.templates);
    }
    let Some((key, mut record)) = find_by_user_code(&state, &typed).await else {
        let _ = state.store.incr(&attempts_key, ATTEMPT_WINDOW).await;
        return code_page(&state, &headers, Some(&typed), Some(INVALID_CODE));
    };
    let session = match crate::login::current_session(&state, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            return crate::login::start_device(&state, &record.user_code, &record.client_id).await;
        }
        Err(error) => {
            tracing::error!(%error, "device page: session lookup failed");
            return PageError::unavailable().into_response_with(&state.templates);
        }
    };
    let approved = match form.decision.as_deref() {
        None => return confirm_page(&state, &headers, &record).await,
        Some(decision) => decision == "allow",
    };
    record.status = if approved {
        Status::Approved(Box::new(Grant {
            sub: Some(session.sub),
            client_id: record.client_id.clone(),
            scope: record.scope.clone(),
            nonce: None,
            auth_time: Some(session.auth_time),
            acr: Some(session.acr.clone()),
            amr: session.amr.clone(),
            sid: Some(session.sid.clone()),
            claims: ClaimsRequest::default(),
        }))
    } else {
        Status::Denied
    };
    let left = u64::try_from(record.expires_at - state.clock.unix())
        .unwrap_or(1)
        .max(1);
    let store = state.store.as_ref();
    let saved = crate::store::put_json(store, &key, &record, Duration::from_secs(left)).await;
    // One approval per user code.
    let _ = store.delete(&user_code_key(&record.user_code)).await;
    if let Err(error) = saved {
        tracing::error!(%error, "device approval could not be stored");
        return PageError::unavailable().into_response_with(&state.templates);
    }
    state.templates.page(
        "device/done.html",
        minijinja::context! { approved => approved },
    )
}

async fn find_by_user_code(state: &AppState, typed: &str) -> Option<(String, DeviceRecord)> {
    let code = normalise_user_code(typed);
    if code.len() != 8 {
        return None;
    }
    let key_bytes = state.store.get(&user_code_key(&code)).await.ok()??;
    let key = String::from_utf8(key_bytes).ok()?;
    let record: DeviceRecord = crate::store::get_json(state.store.as_ref(), &key)
        .await
        .ok()??;
    (record.status == Status::Pending && record.expires_at > state.clock.unix())
        .then_some((key, record))
}

fn code_page(
    state: &AppState,
    headers: &HeaderMap,
    user_code: Option<&str>,
    error: Option<&str>,
) -> Response {
    let secure = state.config.issuer.starts_with("https://");
    let (csrf, set_cookie) = crate::web::csrf::ensure(headers, secure);
    let mut response = state.templates.page(
        "device/code.html",
        minijinja::context! { csrf => csrf, user_code => user_code, error => error },
    );
    if error.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    if let Some(cookie) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn confirm_page(state: &AppState, headers: &HeaderMap, record: &DeviceRecord) -> Response {
    let secure = state.config.issuer.starts_with("https://");
    let (csrf, set_cookie) = crate::web::csrf::ensure(headers, secure);
    let client_name = match state
        .clients
        .get(&state.db, state.clock.as_ref(), &record.client_id)
        .await
    {
        Ok(Some(c)) => c.name.clone().unwrap_or_else(|| c.client_id.clone()),
        _ => record.client_id.clone(),
    };
    let mut response = state.templates.page(
        "device/confirm.html",
        minijinja::context! {
            csrf => csrf,
            user_code => display(&record.user_code),
            client_name => client_name,
            scopes => record.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>(),
        },
    );
    if let Some(cookie) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The token endpoint's side (§3.4–3.5).
pub async fn redeem(
    state: &AppState,
    client_id: &str,
    device_code: &str,
) -> Result<Box<Grant>, OAuthError> {
    let store = state.store.as_ref();
    let key = device_key(device_code);
    let internal = |e: crate::store::StoreError| super::token::internal(&e);
    let Some(mut record) = crate::store::get_json::<DeviceRecord>(store, &key)
        .await
        .map_err(internal)?
    else {
        return Err(OAuthError::expired_token(
            "the device code is invalid or expired",
        ));
    };
    if record.client_id != client_id {
        return Err(OAuthError::invalid_grant(
            "the device code was issued to another client",
        ));
    }
    let now = state.clock.unix();
    if record.expires_at <= now {
        return Err(OAuthError::expired_token("the device code expired"));
    }
    match &record.status {
        Status::Denied => {
            let _ = store.delete(&key).await;
            Err(OAuthError::access_denied("the user refused"))
        }
        Status::Approved(_) => match crate::store::take_json::<DeviceRecord>(store, &key)
            .await
            .map_err(internal)?
        {
            Some(DeviceRecord {
                status: Status::Approved(grant),
                ..
            }) => Ok(grant),
            _ => Err(OAuthError::invalid_grant(
                "the device code was already used",
            )),
        },
        Status::Pending => {
            let too_fast = record
                .last_poll
                .is_some_and(|last| now - last < record.interval);
            if too_fast {
                record.interval += 5;
            }
            record.last_poll = Some(now);
            let left = u64::try_from(record.expires_at - now).unwrap_or(1).max(1);
            crate::store::put_json(store, &key, &record, Duration::from_secs(left))
                .await
                .map_err(internal)?;
            Err(if too_fast {
                OAuthError::slow_down()
            } else {
                OAuthError::authorization_pending()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_typed_forgivingly() {
        assert_eq!(normalise_user_code("bcdf-ghjk"), "BCDFGHJK");
        assert_eq!(normalise_user_code(" BCDF GHJK "), "BCDFGHJK");
        let code = new_user_code();
        assert_eq!(code.len(), 8);
        assert_eq!(normalise_user_code(&display(&code)), code);
    }
}
