//! [`TestApp`]: the real application on a free loopback port, with a fresh
//! database, a manual clock and cheap password hashing.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::{AppState, serve};
use crate::clock::ManualClock;
use crate::config::Config;

/// A running app; stops when dropped.
pub struct TestApp {
    pub address: SocketAddr,
    /// The issuer, `http://127.0.0.1:<port>`; every endpoint hangs off it.
    pub issuer: String,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    /// An HTTP client that does not follow redirects, so tests see them.
    pub http: reqwest::Client,
    /// Where this app's emails go (unless a test chose another directory).
    pub outbox: std::path::PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

type ConfigEdit = Box<dyn FnOnce(&mut Config) + Send>;

#[derive(Default)]
pub struct TestAppBuilder {
    database_url: Option<String>,
    store_url: Option<String>,
    edit: Vec<ConfigEdit>,
}

impl TestAppBuilder {
    /// Uses this database instead of a fresh in-memory `SQLite` one.
    #[must_use]
    pub fn database(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// Uses this store (e.g. a throw-away Redis) instead of memory.
    #[must_use]
    pub fn store(mut self, url: impl Into<String>) -> Self {
        self.store_url = Some(url.into());
        self
    }

    /// Changes the config before the app is built.
    #[must_use]
    pub fn config(mut self, edit: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.edit.push(Box::new(edit));
        self
    }

    pub async fn spawn(self) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let address = listener.local_addr().expect("local address");
        let issuer = format!("http://{address}");
        let mut config = Config {
            issuer: issuer.clone(),
            listen: address,
            ..Config::default()
        };
        config.database.url = self
            .database_url
            .unwrap_or_else(|| "sqlite::memory:".into());
        config.store.url = self.store_url.unwrap_or_else(|| "memory://".into());
        // Emails of each app go to a directory of its own, never the repository's.
        let outbox = std::env::temp_dir().join(format!(
            "gatehouse-test-outbox-{}-{}",
            std::process::id(),
            crate::security::random_token(8)
        ));
        config.email.outbox_dir.clone_from(&outbox);
        // Cheap hashing keeps tests fast; the production cost is benchmarked separately.
        config.password.memory_kib = 1024;
        config.password.iterations = 1;
        for edit in self.edit {
            edit(&mut config);
        }
        let clock = Arc::new(ManualClock::starting_now());
        let state = AppState::build(config, clock.clone())
            .await
            .unwrap_or_else(|e| panic!("test app failed to start: {e}"));
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state.clone(), async move {
            let _ = stop.await;
        }));
        TestApp {
            address,
            issuer,
            state,
            clock,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            outbox,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// The app on `SQLite` in memory and the in-memory store.
    pub async fn spawn() -> Self {
        Self::builder().spawn().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("GET")
    }

    /// Creates a user with every profile claim filled in, and a password.
    pub async fn create_user(&self, username: &str, password: &str) -> uuid::Uuid {
        let db = &self.state.db;
        let now = crate::clock::Clock::unix(self.clock.as_ref());
        let user = crate::db::users::insert_user(
            db,
            crate::db::users::NewUser {
                username: username.to_owned(),
                email: format!("{username}@example.com"),
                org_id: None,
                title: Some("mrs".into()),
                given_name: Some("Buffy".into()),
                family_name: Some("Summers".into()),
                phone: Some("+33612345678".into()),
            },
            now,
        )
        .await
        .expect("insert user");
        let hash = self
            .state
            .passwords
            .hash(&crate::domain::SecretString::from(password))
            .await
            .expect("hash");
        crate::db::users::upsert_password_hash(db, user.id, &hash, now)
            .await
            .expect("store password");
        user.id
    }

    /// Registers a client; returns its secret when one was generated.
    pub async fn create_client(&self, spec: crate::config::ClientSpec) -> Option<String> {
        let now = crate::clock::Clock::unix(self.clock.as_ref());
        let registered = crate::oidc::register_client(&spec, now).expect("valid client");
        crate::db::clients::insert_client(&self.state.db, &registered.record)
            .await
            .expect("insert client");
        registered
            .generated_secret
            .map(|s| s.expose().to_owned())
            .or_else(|| spec.secret.map(|s| s.expose().to_owned()))
    }

    /// Stops the server and waits for in-flight requests to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = std::fs::remove_dir_all(&self.outbox);
    }
}
