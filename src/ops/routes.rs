use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok"
}

/// 200 only when both durable and ephemeral state answer; the body says which
/// part failed, never why (the log has the cause).
async fn readyz(State(state): State<AppState>) -> Response {
    // A dependency that hangs is as unready as one that refuses.
    let limit = Duration::from_secs(2);
    let (db, store) = tokio::join!(
        tokio::time::timeout(limit, crate::db::ping(&state.db)),
        tokio::time::timeout(limit, state.store.ping()),
    );
    let db = db
        .map_err(|_| "timed out".to_owned())
        .and_then(|r| r.map_err(|e| e.to_string()));
    let store = store
        .map_err(|_| "timed out".to_owned())
        .and_then(|r| r.map_err(|e| e.to_string()));
    if let Err(error) = &db {
        tracing::warn!(%error, "readiness: database is not answering");
    }
    if let Err(error) = &store {
        tracing::warn!(%error, "readiness: store is not answering");
    }
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = serde_json::json!({
        "database": word(db.is_ok()),
        "store": word(store.is_ok()),
    });
    let status = if db.is_ok() && store.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Counts requests and their latency by route pattern (never by raw path,
/// which would let clients create unbounded label values).
pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
