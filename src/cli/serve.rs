//! `serve`, `migrate` and `config check`.

use std::sync::Arc;

use tokio::net::TcpListener;

use super::{CliError, Output};
use crate::app::{AppState, StartError, serve as serve_app};
use crate::clock::SystemClock;
use crate::config::Config;

pub async fn serve(mut config: Config, no_migrate: bool) -> Result<(), CliError> {
    init_tracing(&config);
    if no_migrate {
        config.database.migrate_on_start = false;
    }
    let listen = config.listen;
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(StartError::Listen)?;
    tracing::info!(
        address = %listener.local_addr().map_err(StartError::Listen)?,
        issuer = %state.config.issuer,
        database = database_kind(&state.config.database.url),
        store = state.store.backend(),
        "gatehouse is serving"
    );
    serve_app(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

pub async fn migrate(config: &Config, out: &Output) -> Result<(), CliError> {
    let db = crate::db::connect(&config.database.url, 1).await?;
    crate::db::migrate(&db).await?;
    out.emit(
        &serde_json::json!({ "migrated": true, "database": database_kind(&config.database.url) }),
        "migrations applied",
    );
    Ok(())
}

/// Loading already validated everything; say so and show what will be used.
pub fn check(config: &Config, out: &Output) {
    out.emit(
        &serde_json::json!({
            "valid": true,
            "issuer": config.issuer,
            "listen": config.listen.to_string(),
            "database": database_kind(&config.database.url),
            "store": if config.store.url.starts_with("redis") { "redis" } else { "memory" },
            "declared_clients": config.clients.len(),
        }),
        &format!(
            "configuration is valid\n  issuer:   {}\n  listen:   {}\n  database: {}\n  store:    {}",
            config.issuer,
            config.listen,
            database_kind(&config.database.url),
            if config.store.url.starts_with("redis") { "redis" } else { "memory" },
        ),
    );
}

/// The kind of database, never its URL (which may hold a password).
fn database_kind(url: &str) -> &'static str {
    if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgresql"
    }
}

fn init_tracing(config: &Config) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = config.log.filter().unwrap_or_else(|_| {
        tracing_subscriber::filter::Targets::new()
            .with_default(tracing::level_filters::LevelFilter::INFO)
    });
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless and ignored.
    let _ = if config.log.format == "json" {
        builder.json().finish().with(filter).try_init()
    } else {
        builder.finish().with(filter).try_init()
    };
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
