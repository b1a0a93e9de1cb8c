//! The `gatehouse` command line: `serve`, `migrate`, `config check`, and the
//! support commands for organisations, users, clients and keys.
//!
//! Support commands work on the database directly, so they can run beside a
//! running server (`SQLite` in WAL mode, or `PostgreSQL`); servers pick their
//! changes up within a second. Every command takes `--json` anywhere on the
//! line for machine-readable output, and fails with one clear line and a
//! non-zero exit on bad input.
//!
//! | module | commands |
//! | --- | --- |
//! | `serve` | `serve`, `migrate`, `config check` |
//! | `org` | `org create` |
//! | `user` | `user create`, `user enforce-mfa`, `user set-role` |
//! | `client` | `client create`, `client list`, `client delete` |
//! | `keys` | `keys rotate`, `keys list` |
//! | `output` | human or JSON output |

mod client;
mod keys;
mod org;
mod output;
mod serve;
mod user;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use output::Output;

use crate::config::Config;
use crate::db::Db;

#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Gatehouse, an OpenID Connect provider"
)]
pub struct Cli {
    /// Config file [default: config/gatehouse.toml when it exists].
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve {
        /// Do not apply pending database migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Organisations (customer companies).
    #[command(subcommand)]
    Org(org::OrgCommand),
    /// User accounts.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Relying parties.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration without starting anything.
    Check,
}

/// A failed command: the message is the one line the operator sees.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Start(#[from] crate::app::StartError),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Database(#[from] crate::db::DbError),
    #[error("{0}")]
    Keys(#[from] crate::keys::KeyError),
    #[error("{0}")]
    Registration(#[from] crate::oidc::RegistrationError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let out = Output::new(cli.json);
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve { no_migrate } => serve::serve(config, no_migrate).await,
        Command::Migrate => serve::migrate(&config, &out).await,
        Command::Config(ConfigCommand::Check) => {
            serve::check(&config, &out);
            Ok(())
        }
        Command::Org(cmd) => org::run(cmd, &open_db(&config).await?, &out).await,
        Command::User(cmd) => user::run(cmd, &config, &open_db(&config).await?, &out).await,
        Command::Client(cmd) => client::run(cmd, &open_db(&config).await?, &out).await,
        Command::Keys(cmd) => keys::run(cmd, &config, &open_db(&config).await?, &out).await,
    }
}

/// The database, with the schema brought up to date (a no-op when current),
/// so support commands work on a fresh installation too.
async fn open_db(config: &Config) -> Result<Db, CliError> {
    let db = crate::db::connect(&config.database.url, 2).await?;
    crate::db::migrate(&db).await?;
    Ok(db)
}

/// Records a change made from the command line in the audit log.
async fn audit(
    db: &Db,
    kind: &str,
    user_id: Option<uuid::Uuid>,
    org_id: Option<uuid::Uuid>,
    client_id: Option<&str>,
    detail: serde_json::Value,
) -> Result<(), CliError> {
    crate::security::audit::record(
        db,
        &crate::clock::SystemClock,
        crate::security::audit::AuditEvent {
            kind,
            actor: "cli",
            user_id,
            org_id,
            client_id,
            ip: None,
            detail,
        },
    )
    .await?;
    Ok(())
}
