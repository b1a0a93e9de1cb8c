//! Relying parties (OAuth 2.0 clients) and their registered redirect URIs.
//!
//! The columns follow the client metadata of `OpenID` Connect Dynamic Client
//! Registration 1.0 §2 and RFC 7591 §2 that Gatehouse honours. Redirect URIs
//! get their own table (not a JSON list) so that an exact-match lookup, which
//! `redirect_uri` validation needs (RFC 9700 §4.1.3), is a plain key lookup,
//! and so the login and post-logout lists cannot drift apart in one column.

use sea_orm_migration::{
    prelude::*,
    schema::{big_integer, boolean, string, string_null, text, text_null},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(clients()).await?;
        manager.create_table(client_redirect_uris()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ClientRedirectUris::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Clients::Table).to_owned())
            .await
    }

    /// Also on `SQLite`, so a failed run leaves nothing half created.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

fn clients() -> TableCreateStatement {
    Table::create()
        .table(Clients::Table)
        .col(string(Clients::ClientId).primary_key())
        .col(string_null(Clients::Name))
        .col(text_null(Clients::SecretHash))
        .col(string(Clients::AuthMethod))
        .col(text(Clients::GrantTypes))
        .col(text(Clients::Scopes))
        .col(boolean(Clients::FirstParty).default(false))
        .col(boolean(Clients::RequirePkce).default(false))
        .col(boolean(Clients::RequirePar).default(false))
        .col(string(Clients::AccessTokenFormat).default("jwt"))
        .col(string_null(Clients::IdTokenSignedResponseAlg))
        .col(text_null(Clients::Jwks))
        .col(text_null(Clients::BackchannelLogoutUri))
        .col(boolean(Clients::BackchannelLogoutSessionRequired).default(false))
        .col(boolean(Clients::FromConfig).default(false))
        .col(big_integer(Clients::CreatedAt))
        .col(big_integer(Clients::UpdatedAt))
        .to_owned()
}

fn client_redirect_uris() -> TableCreateStatement {
    Table::create()
        .table(ClientRedirectUris::Table)
        .col(string(ClientRedirectUris::ClientId))
        .col(string(ClientRedirectUris::Kind))
        .col(text(ClientRedirectUris::Uri))
        .primary_key(
            Index::create()
                .col(ClientRedirectUris::ClientId)
                .col(ClientRedirectUris::Kind)
                .col(ClientRedirectUris::Uri),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_client_redirect_uris_client_id")
                .from(ClientRedirectUris::Table, ClientRedirectUris::ClientId)
                .to(Clients::Table, Clients::ClientId)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    ClientId,
    Name,
    SecretHash,
    AuthMethod,
    GrantTypes,
    Scopes,
    FirstParty,
    RequirePkce,
    RequirePar,
    AccessTokenFormat,
    IdTokenSignedResponseAlg,
    Jwks,
    BackchannelLogoutUri,
    BackchannelLogoutSessionRequired,
    FromConfig,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ClientRedirectUris {
    Table,
    ClientId,
    Kind,
    Uri,
}
