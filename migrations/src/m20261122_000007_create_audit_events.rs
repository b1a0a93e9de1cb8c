//! The audit log: who did what, when, from where.
//!
//! Ids are UUID v7, so they sort by time. `user_id` has no foreign key on
//! purpose: the log must outlive the users it mentions. `at` and `org_id` are
//! indexed because the security manager's page reads "the newest events of
//! my organisation".

use sea_orm_migration::{
    prelude::*,
    schema::{big_integer, pk_uuid, string, string_null, text, uuid_null},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(pk_uuid(AuditEvents::Id))
                    .col(big_integer(AuditEvents::At))
                    .col(string(AuditEvents::Kind))
                    .col(string(AuditEvents::Actor))
                    .col(uuid_null(AuditEvents::UserId))
                    .col(uuid_null(AuditEvents::OrgId))
                    .col(string_null(AuditEvents::ClientId))
                    .col(string_null(AuditEvents::Ip))
                    .col(text(AuditEvents::Detail))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_audit_events_at", AuditEvents::At),
            ("idx_audit_events_org_id", AuditEvents::OrgId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditEvents::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }

    /// Also on `SQLite`, so a failed run leaves nothing half created.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    Kind,
    Actor,
    UserId,
    OrgId,
    ClientId,
    Ip,
    Detail,
}
