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
//! Without a sub-command (as `cargo test --all-targets` runs it) it checks
//! itself on a free port, both ways.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use clap::Parser as _;
use tokio::net::TcpListener;

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
) -> Result<(), String> {
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
    let app = if gatehouse_layers {
        with_gatehouse_layers(router(bodies))
    } else {
        router(bodies)
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
        } = Cli::parse();
        runtime.block_on(serve(listen, routes, gatehouse_layers))
    } else {
        println!("bare_axum: self-test (run `bare_axum serve --help` to serve)");
        runtime
            .block_on(self_test(false))
            .and_then(|()| runtime.block_on(self_test(true)))
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
