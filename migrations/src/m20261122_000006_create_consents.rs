//! Consents: which scopes a user granted to a client (`OpenID` Connect Core 1.0
//! §3.1.2.4), so the consent page is shown only when a client asks for more.

use sea_orm_migration::{
    prelude::*,
    schema::{big_integer, string, text, uuid},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Consents::Table)
                    .col(uuid(Consents::UserId))
                    .col(string(Consents::ClientId))
                    .col(text(Consents::Scopes))
                    .col(big_integer(Consents::GrantedAt))
                    .primary_key(
                        Index::create()
                            .col(Consents::UserId)
                            .col(Consents::ClientId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_consents_user_id")
                            .from(Consents::Table, Consents::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_consents_client_id")
                            .from(Consents::Table, Consents::ClientId)
                            .to(Clients::Table, Clients::ClientId)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Consents::Table).to_owned())
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
enum Clients {
    Table,
    ClientId,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    UserId,
    ClientId,
    Scopes,
    GrantedAt,
}
