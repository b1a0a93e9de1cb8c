//! The set-password pages: `GET /password/set?token=…` shows the form,
//! `POST /password/set` submits it (see [`super::set_password`]).
//!
//! Every unusable link answers the same 400 page, "This link has expired or
//! was already used.", whether the token is forged, spent, expired or its
//! account gone: the page never tells whether an account exists.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use minijinja::{Value, context};
use serde::Deserialize;

use super::link::SET_PASSWORD_PATH;
use super::set_password::{Outcome, Refusal, set_password};
use crate::app::AppState;
use crate::domain::SecretString;
use crate::security::{POLICY_SUMMARY, Rule};
use crate::web::page_error::PageError;

/// The rules listed beside the form, ticked live by the strength meter's
/// script (`/assets/password_strength.js` knows them by [`Rule::code`]).
const CHECKLIST: [Rule; 6] = [
    Rule::TooShort,
    Rule::MissingLowercase,
    Rule::MissingUppercase,
    Rule::MissingDigit,
    Rule::MissingSpecial,
    Rule::ForbiddenCharacter(' '),
];

pub fn routes() -> Router<AppState> {
    Router::new().route(SET_PASSWORD_PATH, get(form_page).post(form_submitted))
}

#[derive(Deserialize)]
struct LinkQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
struct SetPasswordForm {
    csrf: Option<String>,
    token: Option<String>,
    password: Option<SecretString>,
    password_confirmation: Option<SecretString>,
}

async fn form_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LinkQuery>,
) -> Response {
    let Some(token) = query.token else {
        return link_unusable(&state);
    };
    match super::link::open(&state.db, state.clock.as_ref(), &token).await {
        Ok(Some((_, user))) => show_form(
            &state,
            &headers,
            StatusCode::OK,
            &token,
            &user.username,
            &[],
        ),
        Ok(None) => link_unusable(&state),
        Err(error) => unavailable(&state, &error),
    }
}

async fn form_submitted(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SetPasswordForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return link_unusable(&state);
    };
    if let Err(error) = crate::web::csrf::verify(&headers, secure(&state), form.csrf.as_deref()) {
        return PageError::from(error).into_response_with(&state.templates);
    }
    let Some(token) = form.token else {
        return link_unusable(&state);
    };
    let password = form.password.unwrap_or_default();
    let confirmation = form.password_confirmation.unwrap_or_default();
    match set_password(&state, &token, &password, &confirmation).await {
        Ok(Outcome::Set(user)) => state.templates.page(
            "recovery/password_set.html",
            context! { username => user.username },
        ),
        Ok(Outcome::LinkUnusable) => link_unusable(&state),
        Ok(Outcome::Refused(refusal)) => {
            // The username is shown again only for a link that still opens.
            match super::link::open(&state.db, state.clock.as_ref(), &token).await {
                Ok(Some((_, user))) => show_form(
                    &state,
                    &headers,
                    StatusCode::BAD_REQUEST,
                    &token,
                    &user.username,
                    &errors(&refusal),
                ),
                Ok(None) => link_unusable(&state),
                Err(error) => unavailable(&state, &error),
            }
        }
        Ok(Outcome::TooManyAttempts) => {
            PageError::too_many_requests().into_response_with(&state.templates)
        }
        Err(error) => unavailable(&state, &error),
    }
}

/// The form, with a CSRF token (and its cookie when the browser has none).
fn show_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    token: &str,
    username: &str,
    errors: &[String],
) -> Response {
    let (csrf, set_cookie) = crate::web::csrf::ensure(headers, secure(state));
    let checklist: Vec<Value> = CHECKLIST
        .iter()
        .map(|rule| context! { code => rule.code(), text => checklist_text(*rule) })
        .collect();
    let mut response = state.templates.page_with_status(
        status,
        "recovery/set_password.html",
        context! {
            csrf => csrf,
            token => token,
            username => username,
            policy => POLICY_SUMMARY,
            checklist => checklist,
            errors => errors.to_vec(),
        },
    );
    if let Some(cookie) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn checklist_text(rule: Rule) -> String {
    match rule {
        Rule::ForbiddenCharacter(_) => "no other character".to_owned(),
        other => other.to_string(),
    }
}

/// One sentence per reason, each naming what to change.
fn errors(refusal: &Refusal) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(violations) = &refusal.violations {
        errors.push(format!("This password cannot be used: {violations}."));
    }
    if refusal.mismatch {
        errors.push("The two passwords are not the same.".to_owned());
    }
    errors
}

fn link_unusable(state: &AppState) -> Response {
    PageError {
        status: StatusCode::BAD_REQUEST,
        title: "This link cannot be used",
        message: "This link has expired or was already used.".to_owned(),
    }
    .into_response_with(&state.templates)
}

/// Logs the error with its causes (the one place they are logged) and
/// answers a page that names none of them.
fn unavailable(state: &AppState, error: &dyn std::error::Error) -> Response {
    let mut causes = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    tracing::error!(%error, causes = %causes.join(": "), "setting a password failed");
    PageError::unavailable().into_response_with(&state.templates)
}

fn secure(state: &AppState) -> bool {
    state.config.issuer.starts_with("https://")
}
