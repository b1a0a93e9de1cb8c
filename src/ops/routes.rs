use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
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
///
/// Labels are `&'static str`, so recording allocates nothing per request:
/// route patterns and status codes are few, and each is interned once.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| labels::intern(p.as_str()));
    let method = labels::method(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    record(route, method, response.status(), started);
    response
}

fn count(route: &'static str, method: &'static str, status: StatusCode) {
    requests(route, method, labels::intern(status.as_str())).increment(1);
}

/// The counter of answered requests with these labels.
fn requests(route: &'static str, method: &'static str, status: &'static str) -> metrics::Counter {
    metrics::counter!("http_requests_total", "route" => route, "method" => method, "status" => status)
}

/// Counts one answered request of `route` and how long it took since
/// `started`.
fn record(route: &'static str, method: &'static str, status: StatusCode, started: Instant) {
    count(route, method, status);
    metrics::histogram!("http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
}

/// The request count of a route outside [`track_requests`] that answers
/// GET with fixed bytes (discovery, JWKS), with the handle of its
/// successful answers looked up once: counting one is then an atomic add.
/// Build it after [`super::Metrics::install`], or it counts nowhere.
#[derive(Clone)]
pub struct FixedRoute {
    route: &'static str,
    ok: metrics::Counter,
}

impl FixedRoute {
    pub fn new(route: &'static str) -> Self {
        Self {
            route,
            ok: requests(route, "GET", "200"),
        }
    }

    /// Counts one answer to `method` with `status`.
    pub fn record(&self, method: &Method, status: StatusCode) {
        if method == Method::GET && status == StatusCode::OK {
            self.ok.increment(1);
        } else {
            count(self.route, labels::method(method), status);
        }
    }
}

mod labels {
    use std::collections::HashSet;
    use std::sync::{OnceLock, PoisonError, RwLock};

    use axum::http::Method;

    /// The one `&'static str` for `value`. Callers pass only route patterns
    /// and status codes, a bounded set, so what is leaked stays small.
    pub fn intern(value: &str) -> &'static str {
        static SEEN: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
        let seen = SEEN.get_or_init(RwLock::default);
        if let Some(known) = seen
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(value)
        {
            return known;
        }
        let mut seen = seen.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = seen.get(value) {
            return known;
        }
        let leaked: &'static str = Box::leak(value.to_owned().into_boxed_str());
        seen.insert(leaked);
        leaked
    }

    /// Standard methods by name; anything else (clients may send any token)
    /// counts as one label so it cannot grow the label set.
    pub fn method(method: &Method) -> &'static str {
        match *method {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::HEAD => "HEAD",
            Method::OPTIONS => "OPTIONS",
            Method::PUT => "PUT",
            Method::DELETE => "DELETE",
            Method::PATCH => "PATCH",
            _ => "other",
        }
    }
}
