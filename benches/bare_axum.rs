//! The baseline for discovery and JWKS in `benches/load.sh`: a bare axum
//! server that answers fixed bytes, with nothing around the handler (no
//! state, middleware, tracing or metrics). Gatehouse serves those two
//! documents pre-serialised too, so the difference between the two under
//! the same `wrk` load is what Gatehouse's router and layers cost.
//!
//! `bare_axum serve --listen ADDR --route PATH=FILE…` serves each FILE's
//! bytes at PATH as `application/json`, on the same multi-threaded tokio
//! runtime as `gatehouse serve`. Without a sub-command (as
//! `cargo test --all-targets` runs it) it checks itself on a free port.

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

async fn serve(listen: SocketAddr, routes: Vec<(String, PathBuf)>) -> Result<(), String> {
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
    axum::serve(listener, router(bodies))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

/// Serves one document on a free port and fetches it back.
async fn self_test() -> Result<(), String> {
    let document = Bytes::from_static(br#"{"issuer":"http://127.0.0.1"}"#);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let app = router(vec![("/doc".to_owned(), document.clone())]);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let found = http
        .get(format!("http://{address}/doc"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let content_type = found.headers().get(header::CONTENT_TYPE).cloned();
    let body = found.bytes().await.map_err(|e| e.to_string())?;
    let missing = http
        .get(format!("http://{address}/other"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .status();
    server.abort();
    if body != document
        || content_type.as_ref().map(header::HeaderValue::as_bytes) != Some(b"application/json")
    {
        return Err(format!("served {body:?} as {content_type:?}"));
    }
    if missing != reqwest::StatusCode::NOT_FOUND {
        return Err(format!("an unknown path answered {missing}"));
    }
    println!("bare_axum: served {} bytes as they were given", body.len());
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
        let Cli::Serve { listen, routes } = Cli::parse();
        runtime.block_on(serve(listen, routes))
    } else {
        println!("bare_axum: self-test (run `bare_axum serve --help` to serve)");
        runtime.block_on(self_test())
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
