use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::credentials::{Verdict, check_password};
use super::transaction::{self, LoginTx, Purpose};
use crate::app::AppState;
use crate::db::clients::ClientRecord;
use crate::domain::SecretString;
use crate::oidc::grant::ACR_PASSWORD;
use crate::web::client_ip::ClientIp;
use crate::web::page_error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(username_page))
        .route("/login/username", post(username_submitted))
        .route("/login/password", post(password_submitted))
        .route("/consent", post(consent_submitted))
}

const WRONG_CREDENTIALS: &str = "Wrong username or password.";

#[derive(Deserialize)]
struct TxQuery {
    tx: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    tx: Option<String>,
    csrf: Option<String>,
    username: Option<String>,
    password: Option<String>,
    decision: Option<String>,
}

fn secure(state: &AppState) -> bool {
    state.config.issuer.starts_with("https://")
}

fn expired(state: &AppState) -> Response {
    PageError::bad_request(
        "This sign-in page has expired. Please go back to the application and start again.",
    )
    .into_response_with(&state.templates)
}

fn unavailable(state: &AppState, error: &dyn std::fmt::Display) -> Response {
    tracing::error!(%error, "sign-in step failed");
    PageError::unavailable().into_response_with(&state.templates)
}

/// Renders `template` with a CSRF token, setting the CSRF cookie when new.
/// Renders `template` with a CSRF token, setting the CSRF cookie when new;
/// its forms may lead on to `form_target` (the client's redirect URI).
fn page(
    state: &AppState,
    headers: &HeaderMap,
    template: &str,
    ctx: minijinja::Value,
    form_target: Option<&str>,
) -> Response {
    let (csrf, set_cookie) = crate::web::csrf::ensure(headers, secure(state));
    let ctx = minijinja::context! { csrf => csrf, ..ctx };
    let mut response = state.templates.page(template, ctx);
    if let Some(cookie) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    if let Some(target) = form_target {
        crate::web::headers::allow_form_target(&mut response, target);
    }
    response
}

/// Where a finished sign-in for `tx` goes: the client, for an authorization.
fn form_target(tx: &LoginTx) -> Option<&str> {
    match &tx.purpose {
        Purpose::Authorize(request) => Some(&request.redirect_uri),
        Purpose::Device { .. } => None,
    }
}

/// The sign-in a posted form belongs to, once its CSRF token checks out;
/// `take` consumes it so the form works once. Otherwise the page to show.
async fn posted_tx(
    state: &AppState,
    headers: &HeaderMap,
    form: &LoginForm,
    take: bool,
) -> Result<(String, LoginTx), Response> {
    if crate::web::csrf::verify(headers, secure(state), form.csrf.as_deref()).is_err() {
        return Err(expired(state));
    }
    let Some(id) = form.tx.clone() else {
        return Err(expired(state));
    };
    let found = if take {
        transaction::take(state, &id).await
    } else {
        transaction::load(state, &id).await
    };
    match found {
        Ok(Some(tx)) => Ok((id, tx)),
        Ok(None) => Err(expired(state)),
        Err(e) => Err(unavailable(state, &e)),
    }
}

async fn client_name(state: &AppState, client_id: &str) -> String {
    match state
        .clients
        .get(&state.db, state.clock.as_ref(), client_id)
        .await
    {
        Ok(Some(c)) => c.name.clone().unwrap_or_else(|| c.client_id.clone()),
        _ => client_id.to_owned(),
    }
}

async fn username_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TxQuery>,
) -> Response {
    let Some(id) = q.tx else {
        return expired(&state);
    };
    match transaction::load(&state, &id).await {
        Ok(Some(tx)) => {
            let name = client_name(&state, tx.client_id()).await;
            show_username(&state, &headers, &id, &tx, &name, None)
        }
        Ok(None) => expired(&state),
        Err(e) => unavailable(&state, &e),
    }
}

fn show_username(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    tx: &LoginTx,
    client_name: &str,
    error: Option<&str>,
) -> Response {
    let login_hint = match &tx.purpose {
        Purpose::Authorize(request) => request.login_hint.clone(),
        Purpose::Device { .. } => None,
    };
    let hint = tx.username.clone().or(login_hint);
    page(
        state,
        headers,
        "login/username.html",
        minijinja::context! { tx => id, login_hint => hint, error => error, client_name => client_name },
        form_target(tx),
    )
}

async fn username_submitted(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return expired(&state);
    };
    let (id, mut tx) = match posted_tx(&state, &headers, &form, false).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let name = client_name(&state, tx.client_id()).await;
    let typed = form.username.unwrap_or_default().trim().to_lowercase();
    if typed.is_empty() || typed.len() > 256 {
        return show_username(
            &state,
            &headers,
            &id,
            &tx,
            &name,
            Some("Please enter your username."),
        );
    }
    // Only the lock tells anything about the account, as the design asks;
    // unknown and unprotected usernames look alike.
    let mfa_protected = match crate::db::users::find_user_by_username(&state.db, &typed).await {
        Ok(user) => user.is_some_and(|u| u.mfa_console),
        Err(e) => return unavailable(&state, &e),
    };
    tx.username = Some(typed.clone());
    if let Err(e) = transaction::save(&state, &id, &tx).await {
        return unavailable(&state, &e);
    }
    page(
        &state,
        &headers,
        "login/password.html",
        minijinja::context! { tx => id, username => typed, mfa_protected => mfa_protected, client_name => name },
        form_target(&tx),
    )
}

async fn password_submitted(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return expired(&state);
    };
    let (id, tx) = match posted_tx(&state, &headers, &form, false).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(username) = tx.username.clone() else {
        return expired(&state);
    };
    let password = SecretString::from(form.password.unwrap_or_default());
    let name = client_name(&state, tx.client_id()).await;
    let user = match check_password(&state, &username, &password, ip).await {
        Ok(Verdict::Valid(user)) => user,
        Ok(Verdict::Invalid) => {
            return show_username(&state, &headers, &id, &tx, &name, Some(WRONG_CREDENTIALS));
        }
        Ok(Verdict::TooManyAttempts) => {
            return PageError::too_many_requests().into_response_with(&state.templates);
        }
        Err(e) => return unavailable(&state, &e),
    };
    // The form can finish the sign-in only once.
    let tx = match transaction::take(&state, &id).await {
        Ok(Some(tx)) => tx,
        Ok(None) => return expired(&state),
        Err(e) => return unavailable(&state, &e),
    };
    let (session, cookie) = match super::session::create(
        &state,
        &headers,
        user.id,
        ACR_PASSWORD,
        vec!["pwd".to_owned()],
    )
    .await
    {
        Ok(created) => created,
        Err(e) => return unavailable(&state, &e),
    };
    crate::security::audit::record_or_warn(
        &state,
        crate::security::audit::AuditEvent {
            kind: "login.succeeded",
            actor: &format!("user:{}", user.id),
            user_id: Some(user.id),
            org_id: user.org_id,
            client_id: Some(tx.client_id()),
            ip: Some(&ip.to_string()),
            detail: serde_json::json!({ "amr": ["pwd"] }),
        },
    )
    .await;
    let mut response = match tx.purpose {
        Purpose::Authorize(request) => {
            let Some(client) = find_client(&state, &request.client_id).await else {
                return expired(&state);
            };
            crate::oidc::authorize::complete(&state, &headers, *request, &client, &session, false)
                .await
        }
        Purpose::Device { user_code, .. } => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("user_code", &user_code)
                .finish();
            super::redirect(&format!("/device?{query}"))
        }
    };
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

async fn find_client(state: &AppState, client_id: &str) -> Option<std::sync::Arc<ClientRecord>> {
    state
        .clients
        .get(&state.db, state.clock.as_ref(), client_id)
        .await
        .ok()
        .flatten()
}

/// The consent page for the stored request `id` asking for `scope`.
pub fn consent_page(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    scope: &str,
    redirect_uri: &str,
    client: &ClientRecord,
) -> Response {
    let scopes: Vec<minijinja::Value> = scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| minijinja::context! { name => s, description => describe_scope(s) })
        .collect();
    page(
        state,
        headers,
        "login/consent.html",
        minijinja::context! {
            tx => id,
            client_name => client.name.clone().unwrap_or_else(|| client.client_id.clone()),
            scopes => scopes,
        },
        Some(redirect_uri),
    )
}

fn describe_scope(scope: &str) -> &'static str {
    match scope {
        "openid" => "Know who you are",
        "profile" => "Your name and username",
        "email" => "Your email address",
        "phone" => "Your phone number",
        "offline_access" => "Stay connected while you are away",
        _ => "Access granted to the application",
    }
}

async fn consent_submitted(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return expired(&state);
    };
    let (_, tx) = match posted_tx(&state, &headers, &form, true).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let session = match super::session::current_session(&state, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return expired(&state),
        Err(e) => return unavailable(&state, &e),
    };
    let Purpose::Authorize(request) = tx.purpose else {
        return expired(&state);
    };
    let Some(client) = find_client(&state, &request.client_id).await else {
        return expired(&state);
    };
    if form.decision.as_deref() != Some("allow") {
        return crate::oidc::authorize::error_to_client(
            &state,
            &request,
            "access_denied",
            "the user did not consent",
        );
    }
    let scopes: Vec<String> = request.scope.split(' ').map(str::to_owned).collect();
    if let Err(e) = crate::db::consents::upsert_consent(
        &state.db,
        session.sub,
        &client.client_id,
        &scopes,
        state.clock.unix(),
    )
    .await
    {
        return unavailable(&state, &e);
    }
    crate::security::audit::record_or_warn(
        &state,
        crate::security::audit::AuditEvent {
            kind: "consent.granted",
            actor: &format!("user:{}", session.sub),
            user_id: Some(session.sub),
            org_id: None,
            client_id: Some(&client.client_id),
            ip: None,
            detail: serde_json::json!({ "scopes": scopes }),
        },
    )
    .await;
    crate::oidc::authorize::complete(&state, &headers, *request, &client, &session, true).await
}
