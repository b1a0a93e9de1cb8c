use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::authorize::params::Params;
use super::discovery::paths;
use super::error::OAuthError;
use crate::app::AppState;
use crate::web::client_ip::ClientIp;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::AUTHORIZE, get(authorize_get).post(authorize_post))
        .route(paths::TOKEN, axum::routing::post(token))
        .route(paths::USERINFO, get(userinfo_get).post(userinfo_post))
        .route(paths::INTROSPECT, axum::routing::post(introspect))
        .route(paths::REVOKE, axum::routing::post(revoke))
        .route(paths::PAR, axum::routing::post(par))
        .merge(super::device::routes())
        .merge(super::end_session::routes())
}

/// The parameters of a form POST: `application/x-www-form-urlencoded` only
/// (RFC 6749 §3.2), as UTF-8.
pub fn form_params(headers: &HeaderMap, body: &Bytes) -> Result<Params, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))?;
    Ok(Params::parse(text))
}

async fn authorize_get(
    State(state): State<AppState>,
    ClientIp(from): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or_default());
    super::authorize::authorize(&state, &headers, from, params).await
}

async fn authorize_post(
    State(state): State<AppState>,
    ClientIp(from): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match form_params(&headers, &body) {
        Ok(params) => super::authorize::authorize(&state, &headers, from, params).await,
        Err(_) => {
            crate::web::page_error::PageError::bad_request("The sign-in request could not be read.")
                .into_response_with(&state.templates)
        }
    }
}

async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match form_params(&headers, &body) {
        Ok(params) => super::token::token(&state, &headers, params).await,
        Err(error) => error.into_response(),
    }
}

async fn userinfo_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    super::userinfo::userinfo(&state, &headers, None).await
}

async fn userinfo_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    // A POST without a form body carries the token in the header only.
    let form = if body.is_empty() {
        None
    } else {
        match form_params(&headers, &body) {
            Ok(params) => Some(params),
            Err(_) => return StatusCode::BAD_REQUEST.into_response(),
        }
    };
    super::userinfo::userinfo(&state, &headers, form.as_ref()).await
}

async fn introspect(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match form_params(&headers, &body) {
        Ok(params) => super::introspect::introspect(&state, &headers, params).await,
        Err(error) => error.into_response(),
    }
}

async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match form_params(&headers, &body) {
        Ok(params) => super::revoke::revoke(&state, &headers, params).await,
        Err(error) => error.into_response(),
    }
}

/// RFC 9126 §2: authenticate, validate, answer 201 with the `request_uri`.
async fn par(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let params = form_params(&headers, &body)?;
        let client =
            super::token::authenticate_client(&state, &headers, &params, paths::PAR).await?;
        super::authorize::par::push(&state, &client.client_id, params).await
    }
    .await;
    match result {
        Ok(request_uri) => {
            let body = serde_json::json!({
                "request_uri": request_uri,
                "expires_in": super::authorize::par::LIFETIME.as_secs(),
            });
            let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
            super::tokens::no_store(&mut response);
            response
        }
        Err(error) => error.into_response(),
    }
}
