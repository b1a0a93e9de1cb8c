//! Signing keys for ID tokens and JWT access tokens (RFC 7517 JWKs).
//!
//! Keys rotate with overlap: a new key is inserted with a future
//! `activates_at`, published in the JWKS at once, and used for signing only
//! from that time. The index on (`alg`, `activates_at`) serves "the newest
//! active key for this algorithm". `private_key` is an envelope string,
//! possibly encrypted, that the database never interprets.

use sea_orm_migration::{
    prelude::*,
    schema::{big_integer, string, text},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(string(SigningKeys::Kid).primary_key())
                    .col(string(SigningKeys::Alg))
                    .col(text(SigningKeys::PrivateKey))
                    .col(text(SigningKeys::PublicJwk))
                    .col(big_integer(SigningKeys::CreatedAt))
                    .col(big_integer(SigningKeys::ActivatesAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_signing_keys_alg_activates_at")
                    .table(SigningKeys::Table)
                    .col(SigningKeys::Alg)
                    .col(SigningKeys::ActivatesAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SigningKeys::Table).to_owned())
            .await
    }

    /// Also on `SQLite`, so a failed run leaves nothing half created.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    PrivateKey,
    PublicJwk,
    CreatedAt,
    ActivatesAt,
}
