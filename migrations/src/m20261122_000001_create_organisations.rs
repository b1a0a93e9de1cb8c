//! Organisations: the customer companies users belong to.

use sea_orm_migration::{
    prelude::*,
    schema::{big_integer, pk_uuid, string_null, string_uniq, text_null},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organisations::Table)
                    .col(pk_uuid(Organisations::Id))
                    .col(string_uniq(Organisations::Name))
                    .col(text_null(Organisations::Address))
                    .col(string_null(Organisations::RegistrationNumber))
                    .col(string_null(Organisations::ManagerName))
                    .col(string_null(Organisations::ManagerEmail))
                    .col(big_integer(Organisations::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Organisations::Table).to_owned())
            .await
    }

    /// Also on `SQLite`, so a failed run leaves nothing half created.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
    Name,
    Address,
    RegistrationNumber,
    ManagerName,
    ManagerEmail,
    CreatedAt,
}
