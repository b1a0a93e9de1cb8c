//! Typed configuration: built-in defaults, then `config/gatehouse.toml` (or
//! the file named by `--config`), then environment variables
//! `GATEHOUSE__SECTION__KEY` (double underscores separate the levels).
//!
//! Everything is validated once at start-up, and a bad value stops the
//! process with one line naming the key and what is wrong. The config is then
//! injected where needed; there is no global.
//!
//! | module | what it holds |
//! | --- | --- |
//! | this file | the sections, their defaults (mirrored in `config/gatehouse.toml`) |
//! | `load` | layering the sources; naming the source of a bad value |
//! | `validate` | the checks no type can make, and derived values |

mod load;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::domain::SecretString;

/// The file read when no `--config` is given (and skipped if absent).
pub const DEFAULT_CONFIG_PATH: &str = "config/gatehouse.toml";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The issuer identifier: the URL relying parties discover, byte for byte.
    pub issuer: String,
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Reverse proxies whose `X-Forwarded-For` is believed; client addresses
    /// feed the rate limits and the audit log.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub database: DatabaseConfig,
    pub store: StoreConfig,
    pub keys: KeysConfig,
    pub tokens: TokensConfig,
    pub session: SessionConfig,
    pub password: PasswordConfig,
    pub email: EmailConfig,
    pub log: LogConfig,
    /// Clients declared here are created or updated at start-up.
    pub clients: Vec<ClientSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
    /// Connections in the pool; unset, see [`DatabaseConfig::pool_size`].
    pub max_connections: Option<u32>,
    pub migrate_on_start: bool,
}

impl DatabaseConfig {
    /// The pool size: `max_connections`, or by default 4 for SQLite and 10
    /// for PostgreSQL. SQLite runs one write transaction at a time, so more
    /// connections only queue on its lock (the saturated code flow's p99
    /// went from 100 to 48 ms with 4 instead of 10, at the same CPU), and
    /// each keeps a page cache of its own.
    pub fn pool_size(&self) -> u32 {
        self.max_connections
            .unwrap_or(if self.url.starts_with("sqlite:") {
                4
            } else {
                10
            })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// 32 bytes, base64: encrypts private signing keys at rest when set.
    pub encryption_key: Option<SecretString>,
    /// A file holding `encryption_key` (for secret managers).
    pub encryption_key_file: Option<PathBuf>,
    /// How long a rotated-in key is published before it starts signing.
    pub rotation_overlap_seconds: u64,
    /// How often each instance re-reads the keys table.
    pub reload_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    pub access_token_seconds: u64,
    pub id_token_seconds: u64,
    pub refresh_token_seconds: u64,
    pub authorization_code_seconds: u64,
    /// Algorithm of JWT access tokens: ES256 (fast) by default.
    pub access_token_alg: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// How long a sign-in lasts before the person must sign in again.
    pub lifetime_seconds: u64,
    /// Sign-ins one client address may start per minute; past it,
    /// `/authorize` answers `temporarily_unavailable` and stores nothing.
    pub starts_per_address_per_minute: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; each needs `memory_kib` of memory and a
    /// core. 0 (the default): half the cores, at least one; see
    /// [`PasswordConfig::concurrent_hashes`].
    pub max_concurrent_hashes: usize,
}

impl PasswordConfig {
    /// The argon2id cost these settings ask for.
    pub fn hash_params(&self) -> crate::security::HashParams {
        crate::security::HashParams {
            memory_kib: self.memory_kib,
            iterations: self.iterations,
            parallelism: self.parallelism,
        }
    }

    /// How many hashes may run at once. By default half the cores, at least
    /// one: a hash keeps a core busy from start to end, so the other half
    /// always serves tokens, whatever a login storm does, and memory stays
    /// at one `memory_kib` block per hashing core.
    pub fn concurrent_hashes(&self) -> usize {
        if self.max_concurrent_hashes > 0 {
            return self.max_concurrent_hashes;
        }
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        (cores / 2).max(1)
    }
}

/// How emails (invitations, password links, confirmations) leave.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub transport: EmailTransport,
    /// Where the outbox writes one file per message.
    pub outbox_dir: PathBuf,
    /// The `From` of every message, `Name <address>` or a bare address.
    pub from: String,
    /// `smtps://user:password@host:465` (TLS), or `smtp://host:587?tls=required`
    /// (STARTTLS); required when `transport = "smtp"`.
    pub smtp_url: Option<SecretString>,
    /// A file holding `smtp_url` (for secret managers).
    pub smtp_url_file: Option<PathBuf>,
}

/// Where emails go.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EmailTransport {
    /// Written to files in `outbox_dir` and announced in the log (development).
    Outbox,
    /// Handed to an SMTP relay.
    Smtp,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter such as `info` or `gatehouse=debug,info`.
    pub level: String,
}

impl LogConfig {
    /// `level` as a filter: comma-separated `target=level` directives and at
    /// most one bare level, the default for every other target.
    pub fn filter(
        &self,
    ) -> Result<tracing_subscriber::filter::Targets, tracing_subscriber::filter::ParseError> {
        self.level.parse()
    }
}

/// A client as declared in the config file or given to `gatehouse client create`.
#[allow(
    clippy::struct_excessive_bools,
    reason = "mirrors the client's registered flags"
)]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ClientSpec {
    pub client_id: String,
    pub name: Option<String>,
    pub secret: Option<SecretString>,
    pub secret_file: Option<PathBuf>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: Option<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    pub require_pkce: bool,
    pub require_par: bool,
    pub access_token_format: Option<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    pub jwks: Option<serde_json::Value>,
    pub jwks_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: "http://localhost:8080".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            trusted_proxies: Vec::new(),
            database: DatabaseConfig::default(),
            store: StoreConfig::default(),
            keys: KeysConfig::default(),
            tokens: TokensConfig::default(),
            session: SessionConfig::default(),
            password: PasswordConfig::default(),
            email: EmailConfig::default(),
            log: LogConfig::default(),
            clients: Vec::new(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://data/gatehouse.db".into(),
            max_connections: None,
            migrate_on_start: true,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "memory://".into(),
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            encryption_key: None,
            encryption_key_file: None,
            rotation_overlap_seconds: 86_400,
            reload_seconds: 5,
        }
    }
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            access_token_seconds: 600,
            id_token_seconds: 3_600,
            refresh_token_seconds: 30 * 86_400,
            authorization_code_seconds: 60,
            access_token_alg: "ES256".into(),
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            lifetime_seconds: 12 * 3_600,
            starts_per_address_per_minute: 300,
        }
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent_hashes: 0,
        }
    }
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            transport: EmailTransport::Outbox,
            outbox_dir: PathBuf::from("data/outbox"),
            from: "Gatehouse <no-reply@localhost>".into(),
            smtp_url: None,
            smtp_url_file: None,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

/// A configuration problem, always naming the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("config: {key}: {problem}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn concurrent_hashes_default_to_half_the_cores_and_honour_a_setting() {
        let mut password = PasswordConfig::default();
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        assert_eq!(password.max_concurrent_hashes, 0);
        assert_eq!(password.concurrent_hashes(), (cores / 2).max(1));
        password.max_concurrent_hashes = 3;
        assert_eq!(password.concurrent_hashes(), 3);
    }

    #[test]
    fn the_hash_cost_is_the_configured_one_and_the_design_default_unset() {
        assert_eq!(
            PasswordConfig::default().hash_params(),
            crate::security::HashParams::default()
        );
        let password = PasswordConfig {
            memory_kib: 8,
            iterations: 3,
            parallelism: 2,
            max_concurrent_hashes: 0,
        };
        let params = password.hash_params();
        assert_eq!(
            (params.memory_kib, params.iterations, params.parallelism),
            (8, 3, 2)
        );
    }

    use super::*;
    use std::path::Path;

    use base64::Engine as _;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn shipped_file() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_PATH)
    }

    #[test]
    fn shipped_config_file_documents_exactly_the_built_in_defaults() {
        let loaded = Config::load_from(Some(&shipped_file()), &[]).unwrap();
        assert_eq!(loaded, Config::default());
    }

    #[test]
    fn environment_overrides_nested_keys() {
        let config = Config::load_from(
            Some(&shipped_file()),
            &env(&[
                ("GATEHOUSE__ISSUER", "https://id.example.com"),
                ("GATEHOUSE__LISTEN", "0.0.0.0:9000"),
                ("GATEHOUSE__DATABASE__URL", "postgres://db/gatehouse"),
                ("GATEHOUSE__STORE__URL", "redis://127.0.0.1:6379"),
                ("GATEHOUSE__TOKENS__ACCESS_TOKEN_SECONDS", "300"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.issuer, "https://id.example.com");
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.database.url, "postgres://db/gatehouse");
        assert_eq!(config.store.url, "redis://127.0.0.1:6379");
        assert_eq!(config.tokens.access_token_seconds, 300);
    }

    #[test]
    fn a_bad_value_names_its_key_and_where_it_came_from() {
        let err = Config::load_from(
            None,
            &env(&[("GATEHOUSE__DATABASE__MAX_CONNECTIONS", "many")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("config: database.max_connections:"),
            "{err}"
        );
        assert!(
            err.contains("GATEHOUSE__DATABASE__MAX_CONNECTIONS"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1);
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let err = Config::load_from(None, &env(&[("GATEHOUSE__STORE__URLL", "memory://")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("store"), "{err}");
        assert!(err.contains("urll"), "{err}");
    }

    #[test]
    fn a_plain_http_issuer_is_refused_outside_localhost() {
        let err = Config::load_from(
            None,
            &env(&[("GATEHOUSE__ISSUER", "http://id.example.com")]),
        )
        .unwrap_err();
        assert_eq!(err.key, "issuer");
        let err = Config::load_from(
            None,
            &env(&[("GATEHOUSE__ISSUER", "https://id.example.com/?a=b")]),
        )
        .unwrap_err();
        assert_eq!(err.key, "issuer");
    }

    #[test]
    fn a_sign_in_budget_of_zero_is_refused_and_others_are_taken() {
        let key = "GATEHOUSE__SESSION__STARTS_PER_ADDRESS_PER_MINUTE";
        let err = Config::load_from(None, &env(&[(key, "0")])).unwrap_err();
        assert_eq!(err.key, "session.starts_per_address_per_minute");
        let config = Config::load_from(None, &env(&[(key, "5000")])).unwrap();
        assert_eq!(config.session.starts_per_address_per_minute, 5000);
        let config = Config::load_from(None, &env(&[])).unwrap();
        assert_eq!(config.session.starts_per_address_per_minute, 300);
    }

    #[test]
    fn the_pool_size_defaults_by_backend_and_a_given_one_wins() {
        let key = "GATEHOUSE__DATABASE__MAX_CONNECTIONS";
        let url = "GATEHOUSE__DATABASE__URL";
        let postgres = "postgres://gatehouse@127.0.0.1:5432/gatehouse";
        let pool = |vars: &[(&str, &str)]| {
            Config::load_from(None, &env(vars))
                .unwrap()
                .database
                .pool_size()
        };
        assert_eq!(pool(&[]), 4, "SQLite, the embedded default");
        assert_eq!(pool(&[(url, postgres)]), 10);
        assert_eq!(pool(&[(key, "16")]), 16);
        assert_eq!(pool(&[(url, postgres), (key, "2")]), 2);
        let err = Config::load_from(None, &env(&[(key, "0")])).unwrap_err();
        assert_eq!(err.key, "database.max_connections");
    }

    #[test]
    fn log_levels_take_targets_and_a_default_and_refuse_unknown_levels() {
        for level in [
            "warn",
            "gatehouse=debug,info",
            "gatehouse::oidc=trace,sqlx=warn,error",
        ] {
            Config::load_from(None, &env(&[("GATEHOUSE__LOG__LEVEL", level)]))
                .unwrap_or_else(|e| panic!("{level}: {e}"));
        }
        let filter = LogConfig {
            format: "text".into(),
            level: "gatehouse=debug,warn".into(),
        }
        .filter()
        .unwrap();
        assert!(filter.would_enable("gatehouse::oidc", &tracing::Level::DEBUG));
        assert!(!filter.would_enable("sqlx::query", &tracing::Level::INFO));
        for level in ["gatehouse=loud", "info,=debug=x"] {
            let err =
                Config::load_from(None, &env(&[("GATEHOUSE__LOG__LEVEL", level)])).unwrap_err();
            assert_eq!(err.key, "log.level", "{level}");
        }
    }

    #[test]
    fn store_and_database_urls_are_checked() {
        let err = Config::load_from(None, &env(&[("GATEHOUSE__STORE__URL", "memcached://x")]))
            .unwrap_err();
        assert_eq!(err.key, "store.url");
        let err = Config::load_from(None, &env(&[("GATEHOUSE__DATABASE__URL", "mysql://x")]))
            .unwrap_err();
        assert_eq!(err.key, "database.url");
    }

    #[test]
    fn encryption_key_must_be_32_base64_bytes_and_can_come_from_a_file() {
        let err = Config::load_from(
            None,
            &env(&[("GATEHOUSE__KEYS__ENCRYPTION_KEY", "c2hvcnQ=")]),
        )
        .unwrap_err();
        assert_eq!(err.key, "keys.encryption_key");
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), format!("{key}\n")).unwrap();
        let config = Config::load_from(
            None,
            &env(&[(
                "GATEHOUSE__KEYS__ENCRYPTION_KEY_FILE",
                file.path().to_str().unwrap(),
            )]),
        )
        .unwrap();
        assert_eq!(config.keys_encryption_key().unwrap(), Some([7u8; 32]));
    }

    #[test]
    fn a_missing_explicit_config_file_is_an_error() {
        let err =
            Config::load_from(Some(Path::new("/nonexistent/gatehouse.toml")), &[]).unwrap_err();
        assert_eq!(err.key, "--config");
    }

    #[test]
    fn email_goes_to_the_outbox_by_default_and_smtp_needs_a_url() {
        let config = Config::load_from(None, &[]).unwrap();
        assert_eq!(config.email.transport, EmailTransport::Outbox);
        assert_eq!(config.email.outbox_dir, Path::new("data/outbox"));
        let err =
            Config::load_from(None, &env(&[("GATEHOUSE__EMAIL__TRANSPORT", "smtp")])).unwrap_err();
        assert_eq!(err.key, "email.smtp_url");
        let err = Config::load_from(None, &env(&[("GATEHOUSE__EMAIL__TRANSPORT", "pigeon")]))
            .unwrap_err();
        assert_eq!(err.key, "email.transport", "{err}");
    }

    #[test]
    fn smtp_url_is_checked_without_echoing_it_and_can_come_from_a_file() {
        let err = Config::load_from(
            None,
            &env(&[
                ("GATEHOUSE__EMAIL__TRANSPORT", "smtp"),
                (
                    "GATEHOUSE__EMAIL__SMTP_URL",
                    "https://mailer:hunter2@relay.example.com",
                ),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.key, "email.smtp_url");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = Config::load_from(
            None,
            &env(&[(
                "GATEHOUSE__EMAIL__SMTP_URL",
                "smtp://mailer:hunter2@relay.example.com:587",
            )]),
        )
        .unwrap_err();
        assert_eq!(err.key, "email.smtp_url");
        assert!(err.problem.contains("tls=required"), "{err}");
        for accepted in [
            "smtp://relay.example.com:587?tls=required",
            "smtp://127.0.0.1:25",
        ] {
            let config = Config::load_from(None, &env(&[("GATEHOUSE__EMAIL__SMTP_URL", accepted)]));
            assert!(config.is_ok(), "{accepted}: {:?}", config.err());
        }

        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            file.path(),
            "smtps://mailer:hunter2@relay.example.com:465\n",
        )
        .unwrap();
        let config = Config::load_from(
            None,
            &env(&[
                ("GATEHOUSE__EMAIL__TRANSPORT", "smtp"),
                (
                    "GATEHOUSE__EMAIL__SMTP_URL_FILE",
                    file.path().to_str().unwrap(),
                ),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.email_smtp_url().unwrap().unwrap().expose(),
            "smtps://mailer:hunter2@relay.example.com:465"
        );
        let config = Config::load_from(
            None,
            &env(&[(
                "GATEHOUSE__EMAIL__SMTP_URL",
                "smtps://mailer:hunter2@relay.example.com:465",
            )]),
        )
        .unwrap();
        assert!(config.email_smtp_url().unwrap().is_some());
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn the_sender_must_be_a_mailbox() {
        let err =
            Config::load_from(None, &env(&[("GATEHOUSE__EMAIL__FROM", "Gatehouse")])).unwrap_err();
        assert_eq!(err.key, "email.from");
        let config = Config::load_from(
            None,
            &env(&[("GATEHOUSE__EMAIL__FROM", "Acme ID <id@acme.example>")]),
        )
        .unwrap();
        assert_eq!(config.email.from, "Acme ID <id@acme.example>");
    }

    #[test]
    fn the_issuer_loses_a_trailing_slash() {
        let config = Config::load_from(
            None,
            &env(&[("GATEHOUSE__ISSUER", "https://id.example.com/")]),
        )
        .unwrap();
        assert_eq!(config.issuer, "https://id.example.com");
    }
}
