//! `signing_keys`: the provider's own JWS keys, old and new, for rotation.

use sea_orm::entity::prelude::*;

/// `Debug` is written by hand below: without an encryption key the
/// `private_key` envelope holds the key in clear, and must never reach a log.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
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

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("signing_keys::Model")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_key", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_output_never_shows_the_private_key() {
        let model = super::Model {
            kid: "k1".into(),
            alg: "ES256".into(),
            private_key: "v1:plain:-----BEGIN PRIVATE KEY-----secret".into(),
            public_jwk: "{}".into(),
            created_at: 0,
            activates_at: 0,
        };
        let shown = format!("{model:?}");
        assert!(shown.contains("k1"));
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    }
}
