//! `clients`: relying parties. JSON lists are kept as text; use
//! [`crate::db::clients::ClientRecord`] for the typed view.

use sea_orm::entity::prelude::*;

#[allow(
    clippy::struct_excessive_bools,
    reason = "mirrors the table: independent client metadata flags"
)]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    pub name: Option<String>,
    /// Hash of the client secret; `None` for public and `private_key_jwt` clients.
    #[sea_orm(column_type = "Text", nullable)]
    pub secret_hash: Option<String>,
    /// `token_endpoint_auth_method` (RFC 7591 §2).
    pub auth_method: String,
    /// JSON array of grant type names.
    #[sea_orm(column_type = "Text")]
    pub grant_types: String,
    /// JSON array of allowed scopes; empty means the standard OIDC scopes.
    #[sea_orm(column_type = "Text")]
    pub scopes: String,
    pub first_party: bool,
    pub require_pkce: bool,
    pub require_par: bool,
    /// `jwt` (RFC 9068) or `opaque` (introspection, RFC 7662).
    pub access_token_format: String,
    pub id_token_signed_response_alg: Option<String>,
    /// A JWK Set (RFC 7517 §5) for `private_key_jwt`, as JSON text.
    #[sea_orm(column_type = "Text", nullable)]
    pub jwks: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// Declared in the config file: rewritten at every start-up.
    pub from_config: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::client_redirect_uris::Entity")]
    RedirectUris,
    #[sea_orm(has_many = "super::consents::Entity")]
    Consents,
    #[sea_orm(has_many = "super::refresh_token_families::Entity")]
    RefreshTokenFamilies,
}

impl Related<super::client_redirect_uris::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RedirectUris.def()
    }
}

impl Related<super::consents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Consents.def()
    }
}

impl Related<super::refresh_token_families::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RefreshTokenFamilies.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
