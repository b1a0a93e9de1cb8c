//! `signing_keys`: the provider's own JWS keys, old and new, for rotation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub alg: String,
    /// An envelope string, possibly encrypted by the keys module; opaque here.
    #[sea_orm(column_type = "Text")]
    pub private_key: String,
    /// The public half as a JWK (RFC 7517 §4), published in the JWKS.
    #[sea_orm(column_type = "Text")]
    pub public_jwk: String,
    pub created_at: i64,
    /// Signing starts here; before, the key is only published.
    pub activates_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
