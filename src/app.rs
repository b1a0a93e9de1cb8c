//! The application: shared state, the router merged from the features, and
//! [`serve`], which tests call with a port-0 listener and a shutdown future.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::Db;
use crate::keys::{KeyRing, KeySettings};
use crate::security::password_hash::PasswordHasher;
use crate::store::SharedStore;

/// Everything a request handler may need: one `Arc`, so handing it to a
/// request costs one reference count, whatever it holds.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The application's parts, shared by every request.
pub struct Shared {
    pub config: Arc<Config>,
    pub clock: SharedClock,
    pub db: Db,
    pub store: SharedStore,
    pub keys: KeyRing,
    pub passwords: Arc<PasswordHasher>,
    pub metrics: crate::ops::Metrics,
    pub discovery: crate::oidc::Discovery,
    pub templates: Arc<crate::web::Templates>,
    /// Clients read through a cache that lives one second, so a change made
    /// by the CLI is seen that fast by every instance.
    pub clients: Arc<crate::db::cache::ClientCache>,
    /// Users for userinfo and the token endpoint, under the same one-second rule.
    pub users: Arc<crate::db::cache::UserCache>,
    /// Access tokens already verified, so userinfo and introspection skip
    /// the signature check when a token comes back.
    pub verified_tokens: crate::oidc::verified_tokens::VerifiedTokens,
    /// Refresh-token rotations on their way to the database.
    pub refresh_journal: crate::oidc::refresh::journal::Journal,
    /// Writes of the sign-in path (audit events, new refresh-token
    /// families) committed many to a transaction.
    pub group_commit: crate::db::group_commit::GroupCommit,
    /// For calls to clients (back-channel logout).
    pub http: reqwest::Client,
    /// Where emails go: the outbox or SMTP, as `[email]` says.
    pub mailer: crate::notify::SharedMailer,
}

/// Why the application could not start; each names the part at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("config: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Database(#[from] crate::db::DbError),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("signing keys: {0}")]
    Keys(#[from] crate::keys::KeyError),
    #[error("password hashing: {0}")]
    Passwords(String),
    #[error("clients: {0}")]
    Clients(#[from] crate::oidc::RegistrationError),
    #[error("templates: {0}")]
    Templates(#[from] crate::web::RenderError),
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("email: {0}")]
    Email(#[from] crate::notify::NotifyError),
    #[error("listen: {0}")]
    Listen(#[source] std::io::Error),
}

impl AppState {
    /// Connects the database and the store, applies migrations when the
    /// config says so, loads signing keys and the clients the config declares.
    pub async fn build(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        let db = crate::db::connect(&config.database.url, config.database.pool_size()).await?;
        if config.database.migrate_on_start {
            crate::db::migrate(&db).await?;
        }
        let store = crate::store::connect(&config.store.url, clock.clone()).await?;
        let keys = KeyRing::load(&db, clock.clone(), key_settings(&config)?).await?;
        crate::oidc::sync_declared_clients(&db, clock.as_ref(), &config.clients).await?;
        let passwords = PasswordHasher::new(
            config.password.hash_params(),
            config.password.concurrent_hashes(),
        )
        .map_err(|e| StartError::Passwords(e.to_string()))?;
        let mailer = crate::notify::from_config(&config, clock.clone())?;
        Ok(Self(Arc::new(Shared {
            discovery: crate::oidc::Discovery::new(&config),
            config: Arc::new(config),
            clock,
            db,
            store,
            keys,
            passwords: Arc::new(passwords),
            metrics: crate::ops::Metrics::install(),
            templates: Arc::new(crate::web::Templates::new()?),
            clients: Arc::new(crate::db::cache::ClientCache::new(Duration::from_secs(1))),
            users: Arc::new(crate::db::cache::UserCache::new(Duration::from_secs(1))),
            verified_tokens: crate::oidc::verified_tokens::VerifiedTokens::new(8192),
            refresh_journal: crate::oidc::refresh::journal::Journal::default(),
            group_commit: crate::db::group_commit::GroupCommit::default(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(crate::oidc::backchannel::TIMEOUT)
                .build()?,
            mailer,
        })))
    }

    /// The router of every feature, with the shared layers around it.
    pub fn router(&self) -> Router {
        let router = Router::new()
            .merge(crate::oidc::routes())
            .merge(crate::login::routes())
            .merge(crate::recovery::routes())
            .merge(crate::ops::routes())
            .merge(crate::web::assets::routes())
            .fallback(not_found)
            .layer(axum::middleware::from_fn(crate::ops::track_requests))
            .layer(axum::middleware::from_fn(crate::web::security_headers))
            .layer(tower_http::limit::RequestBodyLimitLayer::new(64 * 1024))
            // After the layers, so outside them: these answer fixed bytes and
            // add their own headers and metrics (see `oidc::metadata`).
            .merge(crate::oidc::metadata::routes(self))
            .with_state(self.clone());
        if self.config.issuer.starts_with("https://") {
            // Browsers that saw us once never try plain http again (RFC 6797).
            router.layer(
                tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                    axum::http::header::STRICT_TRANSPORT_SECURITY,
                    axum::http::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
                ),
            )
        } else {
            router
        }
    }
}

/// Any unknown address: the error page a person understands.
async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    crate::web::PageError::not_found().into_response_with(&state.templates)
}

/// The key-ring settings the config describes.
pub fn key_settings(config: &Config) -> Result<KeySettings, StartError> {
    Ok(KeySettings {
        encryption_key: config.keys_encryption_key()?,
        rotation_overlap: Duration::from_secs(config.keys.rotation_overlap_seconds),
        // An instance may sign with the old key until its next reload.
        retain_after_retire: Duration::from_secs(
            config.longest_token_seconds() + config.keys.reload_seconds,
        ),
    })
}

/// How long argon2's working memory outlives the last sign-in: a burst of
/// sign-ins reuses it, an instance nobody signs in to gives it back.
const PASSWORD_MEMORY_IDLE: Duration = Duration::from_secs(30);

/// Serves `state` on `listener` until `shutdown` completes, then drains
/// in-flight requests. Background work (key reloads, clean-up) stops with it.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let reload = tokio::spawn(reload_keys_periodically(state.clone()));
    let cleanup = tokio::spawn(delete_expired_grants_periodically(state.clone()));
    let (metrics, passwords) = (state.metrics.clone(), Arc::clone(&state.passwords));
    let upkeep = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            metrics.upkeep();
            passwords.release_idle_memory(PASSWORD_MEMORY_IDLE);
        }
    });
    // The database writers take what requests hand them until the requests
    // are done, then write what is left before we go.
    let (stop_writers, writers_stop) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut stop = writers_stop.clone();
        async move {
            let _ = stop.wait_for(|stop| *stop).await;
        }
    };
    let writers = {
        let state = state.clone();
        tokio::spawn(async move {
            let journal =
                state
                    .refresh_journal
                    .run(state.db.clone(), Arc::clone(&state.store), stopped());
            let group_commit = state.group_commit.run(state.db.clone(), stopped());
            tokio::join!(journal, group_commit);
        })
    };
    let service = state
        .router()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await;
    reload.abort();
    cleanup.abort();
    upkeep.abort();
    let _ = stop_writers.send(true);
    if let Err(error) = writers.await {
        tracing::error!(%error, "the database writers stopped abnormally");
    }
    result
}

/// Removes refresh-token families past their expiry, hourly, so the table
/// holds live grants only. Any instance may do it: the delete is idempotent.
async fn delete_expired_grants_periodically(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_hours(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match crate::db::refresh_tokens::delete_expired_families(&state.db, state.clock.unix())
            .await
        {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired refresh-token families removed"),
            Err(error) => tracing::warn!(%error, "could not remove expired refresh-token families"),
        }
    }
}

/// Re-reads signing keys so a rotation made by the CLI, or a key reaching
/// its activation time, is picked up without a restart.
async fn reload_keys_periodically(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(state.config.keys.reload_seconds));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await; // the first tick is immediate; keys were just loaded
    loop {
        every.tick().await;
        if let Err(error) = state.keys.refresh(&state.db).await {
            tracing::warn!(%error, "could not reload signing keys; keeping the current set");
        }
    }
}
