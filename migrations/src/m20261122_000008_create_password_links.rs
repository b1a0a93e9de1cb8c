//! Password links: the single-use, expiring links of an invitation or a
//! password reset (DESIGN.md flow 3), which open the set-password page.
//!
//! Only a SHA-256 of the link's token is stored, so a copy of the database
//! yields no usable link. `used_at` is set once, by an `UPDATE … WHERE used_at
//! IS NULL`, which is what makes a link single-use even across instances.
//! `purpose` is `invite` or `reset`, so a new invitation can replace the
//! unused ones before it without touching a reset in flight.

use sea_orm_migration::{
    prelude::*,
    schema::{big_integer, big_integer_null, string, uuid},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PasswordLinks::Table)
                    .col(string(PasswordLinks::TokenHash).primary_key())
                    .col(uuid(PasswordLinks::UserId))
                    .col(string(PasswordLinks::Purpose))
                    .col(big_integer(PasswordLinks::CreatedAt))
                    .col(big_integer(PasswordLinks::ExpiresAt))
                    .col(big_integer_null(PasswordLinks::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_password_links_user_id")
                            .from(PasswordLinks::Table, PasswordLinks::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Replacing a user's unused links, and the cascade, look links up by user.
        manager
            .create_index(
                Index::create()
                    .name("idx_password_links_user_id")
                    .table(PasswordLinks::Table)
                    .col(PasswordLinks::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PasswordLinks::Table).to_owned())
            .await
    }

    /// Also on `SQLite`, so a failed run leaves nothing half created.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PasswordLinks {
    Table,
    TokenHash,
    UserId,
    Purpose,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}
