//! Users and what hangs off them: roles, password hash, MFA methods.
//!
//! `users.id` is the OIDC `sub` (`OpenID` Connect Core 1.0 §5.1): a UUID, never
//! the username, so renaming a login does not change who it is. The email is
//! indexed but not unique because several logins may share one address (the
//! "forgot username" flow lists them all). The password lives in its own table
//! so that reading a user never drags the hash along.

use sea_orm_migration::{
    prelude::*,
    schema::{
        big_integer, big_integer_null, boolean, pk_uuid, string, string_null, string_uniq, text,
        text_null, uuid, uuid_null,
    },
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(users()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_email")
                    .table(Users::Table)
                    .col(Users::Email)
                    .to_owned(),
            )
            .await?;
        manager.create_table(user_roles()).await?;
        manager.create_table(password_credentials()).await?;
        manager.create_table(mfa_methods()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_mfa_methods_user_id")
                    .table(MfaMethods::Table)
                    .col(MfaMethods::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MfaMethods::Table.into_iden(),
            PasswordCredentials::Table.into_iden(),
            UserRoles::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }

    /// Also on `SQLite`, so a failed run leaves nothing half created.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

fn users() -> TableCreateStatement {
    Table::create()
        .table(Users::Table)
        .col(pk_uuid(Users::Id))
        .col(string_uniq(Users::Username))
        .col(uuid_null(Users::OrgId))
        .col(string_null(Users::Title))
        .col(string_null(Users::GivenName))
        .col(string_null(Users::FamilyName))
        .col(string(Users::Email))
        .col(boolean(Users::EmailVerified).default(false))
        .col(string_null(Users::Phone))
        .col(boolean(Users::PhoneVerified).default(false))
        .col(boolean(Users::MfaConsole).default(false))
        .col(boolean(Users::MfaApi).default(false))
        .col(boolean(Users::Disabled).default(false))
        .col(big_integer(Users::CreatedAt))
        .col(big_integer(Users::UpdatedAt))
        .foreign_key(
            // An organisation with members cannot vanish by accident.
            ForeignKey::create()
                .name("fk_users_org_id")
                .from(Users::Table, Users::OrgId)
                .to(Organisations::Table, Organisations::Id)
                .on_delete(ForeignKeyAction::Restrict),
        )
        .to_owned()
}

fn user_roles() -> TableCreateStatement {
    Table::create()
        .table(UserRoles::Table)
        .col(uuid(UserRoles::UserId))
        .col(string(UserRoles::Role))
        .primary_key(Index::create().col(UserRoles::UserId).col(UserRoles::Role))
        .foreign_key(&mut cascade_to_user(
            UserRoles::Table,
            UserRoles::UserId,
            "fk_user_roles_user_id",
        ))
        .to_owned()
}

fn password_credentials() -> TableCreateStatement {
    Table::create()
        .table(PasswordCredentials::Table)
        .col(pk_uuid(PasswordCredentials::UserId))
        .col(text(PasswordCredentials::Hash))
        .col(big_integer(PasswordCredentials::UpdatedAt))
        .foreign_key(&mut cascade_to_user(
            PasswordCredentials::Table,
            PasswordCredentials::UserId,
            "fk_password_credentials_user_id",
        ))
        .to_owned()
}

fn mfa_methods() -> TableCreateStatement {
    Table::create()
        .table(MfaMethods::Table)
        .col(pk_uuid(MfaMethods::Id))
        .col(uuid(MfaMethods::UserId))
        .col(string(MfaMethods::Kind))
        .col(string_null(MfaMethods::Label))
        .col(text_null(MfaMethods::Secret))
        .col(boolean(MfaMethods::IsDefault).default(false))
        .col(big_integer_null(MfaMethods::VerifiedAt))
        .col(big_integer(MfaMethods::CreatedAt))
        .col(big_integer_null(MfaMethods::LastUsedAt))
        .foreign_key(&mut cascade_to_user(
            MfaMethods::Table,
            MfaMethods::UserId,
            "fk_mfa_methods_user_id",
        ))
        .to_owned()
}

/// What belongs to a user goes when the user goes.
fn cascade_to_user(
    table: impl IntoTableRef,
    column: impl IntoIden,
    name: &str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    OrgId,
    Title,
    GivenName,
    FamilyName,
    Email,
    EmailVerified,
    Phone,
    PhoneVerified,
    MfaConsole,
    MfaApi,
    Disabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserRoles {
    Table,
    UserId,
    Role,
}

#[derive(DeriveIden)]
enum PasswordCredentials {
    Table,
    UserId,
    Hash,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MfaMethods {
    Table,
    Id,
    UserId,
    Kind,
    Label,
    Secret,
    IsDefault,
    VerifiedAt,
    CreatedAt,
    LastUsedAt,
}
