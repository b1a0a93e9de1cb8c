//! Durable state: the sea-orm connection, entities, and queries per aggregate.
//!
//! SQLite is the embedded default and PostgreSQL the production database; every
//! query here is written once, through sea-orm, and the tests run each of them
//! on both backends. The schema belongs to the `gatehouse-migrations` crate.
//!
//! Hot reads (clients, users) go through [`cache`], which keeps a row at
//! most one second so changes made elsewhere are seen that fast.
//! Writes of the sign-in path (the audit event, a new refresh-token
//! family) go through [`group_commit`], which commits many requests' writes
//! in one transaction.
//!
//! Query functions are generic over [`sea_orm::ConnectionTrait`] so a caller can run
//! them on the pool or inside its own transaction. Names say what they do:
//! `find_…`, `insert_…`, `update_…`, `upsert_…`, `delete_…`.
//!
//! Decisions:
//! - sqlx statement logging is off: statements carry password hashes, token
//!   hashes and key envelopes as parameters, and logs must never hold secrets.
//! - SQLite runs in WAL mode (`synchronous=NORMAL`) with a 5 s busy timeout, so readers do not block
//!   the writer and a brief write lock is waited out instead of failing, and
//!   with foreign keys on, which SQLite leaves off unless asked.
//! - A pooled connection is not pinged each time it is taken (sqlx's
//!   default): that is one more round trip per query — to the SQLite worker
//!   thread and back (the username step, one query, went from ~210 to
//!   ~190 µs of CPU without it) or over the network. SQLite connections are
//!   local files and cannot go stale; a PostgreSQL connection is pinged only
//!   when it was not used in the last second (the rule of `HikariCP`, the
//!   Java pool), so a busy pool pings nothing and one the server, a proxy or
//!   a firewall dropped while idle is still replaced before a request meets
//!   it.
//! - A database error never reaches a person: [`DbError`]'s `Display` is
//!   generic and the driver's text stays in the `#[source]` chain for the log.

pub mod audit;
pub mod cache;
pub mod clients;
pub mod consents;
pub mod entity;
pub mod group_commit;
pub mod organisations;
pub mod password_links;
pub mod refresh_tokens;
pub mod signing_keys;
pub mod users;
pub mod write_queue;

mod json;
mod unique;

pub(crate) use unique::Unique;

#[cfg(test)]
pub(crate) mod tests;

use std::path::Path;
use std::time::Duration;

use gatehouse_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DbErr, SqlErr, SqliteTransactionMode, TransactionOptions};

/// The connection pool shared by the whole app.
pub type Db = sea_orm::DatabaseConnection;

/// SQLite takes the write lock at `BEGIN`; other backends ignore the option.
pub(crate) const WRITE_AT_ONCE: TransactionOptions = TransactionOptions {
    isolation_level: None,
    access_mode: None,
    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
};

/// How long a SQLite connection waits for another one's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a PostgreSQL connection may sit in the pool before it is pinged
/// when taken out again.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// What went wrong with the database, in words safe to show a person.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not answer; the driver's error is the source.
    #[error("the database is unavailable")]
    Unavailable(#[source] DbErr),
    /// The directory for a SQLite file could not be created.
    #[error("the database is unavailable")]
    NoDirectory(#[source] std::io::Error),
    /// A unique key is taken; the text names the thing, e.g. "user `alice`".
    #[error("{0} already exists")]
    Conflict(String),
    /// The row an update or delete needed is not there, e.g. "user".
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A stored JSON column does not parse; the text names the column.
    #[error("the stored {0} is unreadable")]
    Corrupt(String),
}

impl From<DbErr> for DbError {
    fn from(err: DbErr) -> Self {
        Self::Unavailable(err)
    }
}

impl DbError {
    /// `Conflict(what())` for a unique-key violation, `Unavailable` otherwise.
    pub(crate) fn unless_conflict(err: DbErr, what: impl FnOnce() -> String) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(what()),
            _ => Self::Unavailable(err),
        }
    }
}

/// Opens a pool on `url` (`sqlite:…` or `postgres://…`).
///
/// For a SQLite file, the parent directory is created and so is the file
/// unless the URL sets a `mode`. `sqlite::memory:` gets exactly one
/// connection that is never recycled: an in-memory database lives only as
/// long as a connection to it, and every query must see the same one.
pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(false);
    match SqliteTarget::of(url) {
        None => {
            options
                .max_connections(max_connections)
                .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR);
        }
        Some(SqliteTarget::Memory) => {
            options
                .test_before_acquire(false)
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .map_sqlx_sqlite_opts(|opts| {
                    opts.foreign_keys(true).busy_timeout(SQLITE_BUSY_TIMEOUT)
                });
        }
        Some(SqliteTarget::File { path, mode_given }) => {
            if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(DbError::NoDirectory)?;
            }
            options
                .test_before_acquire(false)
                .max_connections(max_connections)
                .map_sqlx_sqlite_opts(move |opts| {
                    // WAL with synchronous=NORMAL: commits no longer wait for
                    // a disk sync (the WAL is synced at checkpoints), so a
                    // power loss can drop the last moments but never corrupts.
                    // A 1 MiB page cache per connection (SQLite's default is
                    // 2 MiB): the hot rows are few, the operating system
                    // caches the file behind it, and ten connections of
                    // 2 MiB were a third of a busy server's memory.
                    opts.create_if_missing(!mode_given)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                        .pragma("cache_size", "-1024")
                });
        }
    }
    Database::connect(options)
        .await
        .map_err(DbError::Unavailable)
}

/// `items` in chunks of 64, 8 and 1. Every statement shape is prepared once
/// and kept in each connection's statement cache, so batches of any size
/// must not each bring a shape of their own (measured: SQLite's compiled
/// statements for batch sizes 1 to 512 grew a busy server by tens of MiB).
/// Finer steps (every power of two) cut the statements of a group commit
/// of seven writes from seven to three, with no measurable gain.
pub(crate) fn in_few_shapes<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        let size = [64, 8, 1].into_iter().find(|&size| size <= rest.len())?;
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}

/// Applies the pending migrations; a no-op when the schema is current.
pub async fn migrate(db: &Db) -> Result<(), DbError> {
    Migrator::up(db, None).await.map_err(DbError::Unavailable)
}

/// Checks that the database answers, for `/readyz`.
pub async fn ping(db: &Db) -> Result<(), DbError> {
    db.ping().await.map_err(DbError::Unavailable)
}

/// Whether a URL names an SQLite database, and which kind.
#[derive(Debug, PartialEq, Eq)]
enum SqliteTarget {
    Memory,
    File {
        path: std::path::PathBuf,
        /// The URL chose `mode=ro|rw|rwc|memory`; otherwise `rwc` is implied.
        mode_given: bool,
    },
}

impl SqliteTarget {
    fn of(url: &str) -> Option<Self> {
        let rest = url.strip_prefix("sqlite:")?;
        let (database, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mode = url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "mode")
            .map(|(_, value)| value.into_owned());
        let database = database.trim_start_matches("//");
        if database == ":memory:" || mode.as_deref() == Some("memory") {
            return Some(Self::Memory);
        }
        // sqlx's own parser, so that percent-decoding matches what it opens.
        let path = url.parse::<SqliteConnectOptions>().map_or_else(
            |_| Path::new(database).to_path_buf(),
            |opts| opts.get_filename().to_path_buf(),
        );
        Some(Self::File {
            path,
            mode_given: mode.is_some(),
        })
    }
}
