//! Refresh-token families and the hashed tokens in them.
//!
//! Rotation (OAuth 2.0 Security BCP, RFC 9700 §4.14.2): every refresh issues a
//! new token in the same family and marks the old one spent; presenting a
//! spent token revokes the whole family. Only a SHA-256 of each token is
//! stored, so a database leak yields no usable token. The family carries what
//! the new ID and access tokens must repeat (`auth_time`, `acr`, `amr`, `sid`).

use sea_orm_migration::{
    prelude::*,
    schema::{big_integer, big_integer_null, pk_uuid, string, string_null, text, uuid, uuid_null},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(families()).await?;
        manager.create_table(tokens()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_family_id")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::FamilyId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RefreshTokens::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RefreshTokenFamilies::Table).to_owned())
            .await
    }

    /// Also on `SQLite`, so a failed run leaves nothing half created.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

fn families() -> TableCreateStatement {
    Table::create()
        .table(RefreshTokenFamilies::Table)
        .col(pk_uuid(RefreshTokenFamilies::Id))
        .col(string(RefreshTokenFamilies::ClientId))
        .col(uuid_null(RefreshTokenFamilies::UserId))
        .col(text(RefreshTokenFamilies::Scope))
        .col(string_null(RefreshTokenFamilies::Sid))
        .col(big_integer(RefreshTokenFamilies::AuthTime))
        .col(string_null(RefreshTokenFamilies::Acr))
        .col(text(RefreshTokenFamilies::Amr))
        .col(big_integer(RefreshTokenFamilies::CreatedAt))
        .col(big_integer(RefreshTokenFamilies::ExpiresAt))
        .col(big_integer_null(RefreshTokenFamilies::RevokedAt))
        .foreign_key(
            ForeignKey::create()
                .name("fk_refresh_token_families_client_id")
                .from(RefreshTokenFamilies::Table, RefreshTokenFamilies::ClientId)
                .to(Clients::Table, Clients::ClientId)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_refresh_token_families_user_id")
                .from(RefreshTokenFamilies::Table, RefreshTokenFamilies::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn tokens() -> TableCreateStatement {
    Table::create()
        .table(RefreshTokens::Table)
        .col(string(RefreshTokens::TokenHash).primary_key())
        .col(uuid(RefreshTokens::FamilyId))
        .col(big_integer(RefreshTokens::IssuedAt))
        .col(big_integer_null(RefreshTokens::SpentAt))
        .foreign_key(
            ForeignKey::create()
                .name("fk_refresh_tokens_family_id")
                .from(RefreshTokens::Table, RefreshTokens::FamilyId)
                .to(RefreshTokenFamilies::Table, RefreshTokenFamilies::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    ClientId,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RefreshTokenFamilies {
    Table,
    Id,
    ClientId,
    UserId,
    Scope,
    Sid,
    AuthTime,
    Acr,
    Amr,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenHash,
    FamilyId,
    IssuedAt,
    SpentAt,
}
