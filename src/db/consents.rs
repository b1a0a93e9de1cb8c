//! Consents: the scopes a user has granted to a client.
//!
//! OpenID Connect Core 1.0 §3.1.2.4 lets the provider remember consent, so the
//! consent page is shown again only when a client asks for a scope the user
//! has not granted it yet. Granting is therefore additive: a new grant is
//! merged into the stored one, never a replacement of it.
//!
//! Decisions:
//! - The merge is a compare-and-swap on the stored text (`UPDATE … WHERE
//!   scopes = <what was read>`, or an insert that does nothing on conflict),
//!   retried when another writer got there first. Two tabs granting different
//!   scopes at the same moment therefore both end up stored, on either
//!   backend, without a transaction or row lock the caller must provide.
//! - Scopes are stored sorted and without duplicates, so equal sets have equal
//!   text and the comparison above is exact.

use std::collections::BTreeSet;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, SqlErr,
    TryInsertResult,
};
use uuid::Uuid;

use super::entity::consents::{self, Column, Entity};
use super::json::{decode_list, encode_list};
use super::{DbError, Unique as _};

/// Compare-and-swap rounds before giving up. A round is lost only when
/// another writer's round succeeded, and each writer succeeds once, so `n`
/// simultaneous grants for one user and client all land within `n` rounds;
/// real traffic (a person in two tabs) needs two.
const MERGE_ATTEMPTS: usize = 16;

/// The scopes the user granted to the client, sorted; `None` when never asked.
pub async fn find_consent<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    client_id: &str,
) -> Result<Option<Vec<String>>, DbError> {
    Entity::find_by_id((user_id, client_id.to_owned()))
        .unique(db)
        .await?
        .map(|row| decode_list(&row.scopes, "consents.scopes"))
        .transpose()
}

/// Adds `scopes` to what the user granted the client and stamps the grant
/// with `now`. An unknown user or client is a [`DbError::NotFound`].
pub async fn upsert_consent<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    client_id: &str,
    scopes: &[String],
    now: i64,
) -> Result<(), DbError> {
    for _ in 0..MERGE_ATTEMPTS {
        let stored = Entity::find_by_id((user_id, client_id.to_owned()))
            .unique(db)
            .await?;
        let swapped = match stored {
            None => {
                let row = consents::Model {
                    user_id,
                    client_id: client_id.to_owned(),
                    scopes: merged(&[], scopes),
                    granted_at: now,
                };
                let inserted = Entity::insert(row.into_active_model())
                    .on_conflict_do_nothing()
                    .exec_without_returning(db)
                    .await
                    .map_err(missing_parent_or_unavailable)?;
                matches!(inserted, TryInsertResult::Inserted(rows) if rows > 0)
            }
            Some(row) => {
                let granted = decode_list(&row.scopes, "consents.scopes")?;
                let updated = Entity::update_many()
                    .col_expr(Column::Scopes, Expr::value(merged(&granted, scopes)))
                    .col_expr(Column::GrantedAt, Expr::value(now))
                    .filter(Column::UserId.eq(user_id))
                    .filter(Column::ClientId.eq(client_id))
                    .filter(Column::Scopes.eq(row.scopes))
                    .exec(db)
                    .await?;
                updated.rows_affected > 0
            }
        };
        if swapped {
            return Ok(());
        }
    }
    Err(DbError::Unavailable(DbErr::Custom(format!(
        "consent kept changing during {MERGE_ATTEMPTS} merge attempts"
    ))))
}

/// Forgets the consent, so the next authorization asks again; returns
/// whether there was one.
pub async fn delete_consent<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    client_id: &str,
) -> Result<bool, DbError> {
    let deleted = Entity::delete_by_id((user_id, client_id.to_owned()))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// The union of both lists as stored text: sorted, each scope once.
fn merged(granted: &[String], added: &[String]) -> String {
    let union: BTreeSet<&String> = granted.iter().chain(added).collect();
    encode_list(&union.into_iter().cloned().collect::<Vec<_>>())
}

fn missing_parent_or_unavailable(err: DbErr) -> DbError {
    match err.sql_err() {
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => DbError::NotFound("user or client"),
        _ => DbError::Unavailable(err),
    }
}
