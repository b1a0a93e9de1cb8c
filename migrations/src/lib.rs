//! The Gatehouse database schema, one migration per file.
//!
//! [`Migrator::migrations`] is the one ordered list. A migration is never
//! edited once it has landed: a schema change is a new file named
//! `mYYYYMMDD_NNNNNN_verb_noun.rs`, appended to the list.
//!
//! Every migration is written once with sea-query's schema builder and runs
//! unchanged on `SQLite` (the embedded default) and `PostgreSQL` (production), so
//! the columns stay portable:
//! - timestamps (`*_at`) are `BIGINT` Unix seconds, as JWT claims are, so no
//!   backend time-zone rules apply;
//! - ids are UUIDs (`sub` must never be guessable or reused);
//! - lists are JSON arrays kept in `TEXT` columns, which both backends store
//!   the same way and the application parses once.

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::{MigrationTrait, async_trait};

mod m20261122_000001_create_organisations;
mod m20261122_000002_create_users;
mod m20261122_000003_create_clients;
mod m20261122_000004_create_signing_keys;
mod m20261122_000005_create_refresh_tokens;
mod m20261122_000006_create_consents;
mod m20261122_000007_create_audit_events;
mod m20261122_000008_create_password_links;

/// Applies and rolls back the schema, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_organisations::Migration),
            Box::new(m20261122_000002_create_users::Migration),
            Box::new(m20261122_000003_create_clients::Migration),
            Box::new(m20261122_000004_create_signing_keys::Migration),
            Box::new(m20261122_000005_create_refresh_tokens::Migration),
            Box::new(m20261122_000006_create_consents::Migration),
            Box::new(m20261122_000007_create_audit_events::Migration),
            Box::new(m20261122_000008_create_password_links::Migration),
        ]
    }
}
