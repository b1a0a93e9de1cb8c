//! Signing keys: the provider's JWS keys, kept for rotation with overlap.
//!
//! The keys module decides which key signs and which are published in the
//! JWKS (RFC 7517 §5); this module only stores them. The private key is an
//! envelope string the keys module may have encrypted; it is never parsed here.

use sea_orm::{ConnectionTrait, EntityTrait, IntoActiveModel, QueryOrder};

use super::DbError;
use super::entity::signing_keys::{self, Column, Entity};

/// A stored signing key, as the table holds it.
pub type SigningKey = signing_keys::Model;

/// Stores a new key; a taken `kid` is a [`DbError::Conflict`].
pub async fn insert_signing_key<C: ConnectionTrait>(
    db: &C,
    key: &SigningKey,
) -> Result<(), DbError> {
    Entity::insert(key.clone().into_active_model())
        .exec_without_returning(db)
        .await
        .map_err(|err| DbError::unless_conflict(err, || format!("signing key `{}`", key.kid)))?;
    Ok(())
}

/// Every key, grouped by algorithm and oldest activation first within each,
/// so the current key of an algorithm is the last one already active.
pub async fn find_signing_keys<C: ConnectionTrait>(db: &C) -> Result<Vec<SigningKey>, DbError> {
    Ok(Entity::find()
        .order_by_asc(Column::Alg)
        .order_by_asc(Column::ActivatesAt)
        .order_by_asc(Column::Kid)
        .all(db)
        .await?)
}
