//! Refresh-token families and the hashed tokens in them.
//!
//! Rotation with reuse detection (OAuth 2.0 Security BCP, RFC 9700 §4.14.2):
//! a family is one grant (one login at one client); every refresh spends the
//! presented token and issues its successor in the same family, and a spent
//! token presented again means it leaked, so the caller revokes the family.
//! Only a SHA-256 of each token reaches this module (the caller hashes), so
//! a copy of the database yields no usable token.
//!
//! Decisions:
//! - "Spend once" is decided by the database, not by a read in the app:
//!   [`rotate`] marks the old token with `UPDATE … WHERE spent_at IS NULL`
//!   and trusts the affected-row count. Two instances racing on the same token
//!   therefore get exactly one [`RotateOutcome::Rotated`]: on PostgreSQL the
//!   loser's `UPDATE` waits for the winner's row lock and then no longer
//!   matches; on SQLite the transaction starts `IMMEDIATE`, so writers queue
//!   on the busy timeout instead of failing to upgrade a stale read snapshot.
//! - Revocation and expiry live on the family, so one `UPDATE` kills every
//!   token of a grant and housekeeping deletes whole families (the foreign
//!   key cascades to their tokens).
//! - [`rotate`] does not look at `revoked_at` or `expires_at`: the caller has
//!   already read the family with [`find_token`] to build the new tokens, and
//!   a successor added to a family revoked meanwhile is useless anyway.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
    SqlErr, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::entity::{refresh_token_families as families, refresh_tokens as tokens};
use super::json::{decode_list, encode_list};
use super::{DbError, Unique as _, WRITE_AT_ONCE, in_few_shapes};

/// What is stored when a grant first issues a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFamily {
    pub id: Uuid,
    pub client_id: String,
    /// `None` for grants without a user.
    pub user_id: Option<Uuid>,
    /// Space-separated scope, as granted.
    pub scope: String,
    /// The login session, repeated in refreshed ID tokens and used by logout.
    pub sid: Option<String>,
    /// When the person authenticated; refreshed ID tokens repeat it.
    pub auth_time: i64,
    pub acr: Option<String>,
    /// Authentication methods (RFC 8176), repeated in refreshed ID tokens.
    pub amr: Vec<String>,
    pub created_at: i64,
    /// After this the whole grant is over, however recently it was refreshed.
    pub expires_at: i64,
}

/// A stored family, with its `amr` list parsed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Family {
    pub id: Uuid,
    pub client_id: String,
    pub user_id: Option<Uuid>,
    pub scope: String,
    pub sid: Option<String>,
    pub auth_time: i64,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
    /// Set once a spent token was replayed or the grant was revoked.
    pub revoked_at: Option<i64>,
}

/// One issued refresh token, known by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub token_hash: String,
    pub family_id: Uuid,
    pub issued_at: i64,
    /// Set when the token was exchanged for its successor.
    pub spent_at: Option<i64>,
}

/// What [`rotate`] did with the presented token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The old token is now spent and the new one belongs to its family.
    Rotated,
    /// The old token had been spent before: a replay (RFC 9700 §4.14.2), on
    /// which the caller revokes the family. Nothing was written.
    AlreadySpent,
    /// No token has that hash. Nothing was written.
    Unknown,
}

/// Stores a new family and its first token. An unknown client or user is a
/// [`DbError::NotFound`], a taken family id or token hash a
/// [`DbError::Conflict`].
///
/// Two statements and no transaction: every code exchange with
/// `offline_access` comes here, and on SQLite `BEGIN` and `COMMIT` are two
/// more round trips to the connection's thread (on PostgreSQL, over the
/// network). The order keeps the invariant a transaction would: the family
/// goes first, so no token exists without its family (the foreign key
/// refuses it); a family whose token could not be stored is removed again,
/// and one left behind by a crash in between has no token to present and is
/// deleted when it expires.
pub async fn insert_family<C: ConnectionTrait>(
    db: &C,
    family: &NewFamily,
    first_token_hash: &str,
) -> Result<(), DbError> {
    families::Entity::insert(to_model(&family.to_family()).into_active_model())
        .exec_without_returning(db)
        .await
        .map_err(|err| {
            if is_missing_parent(&err) {
                DbError::NotFound("client or user")
            } else {
                DbError::unless_conflict(err, || format!("refresh token family `{}`", family.id))
            }
        })?;
    if let Err(error) = insert_token(db, first_token_hash, family.id, family.created_at).await {
        if let Err(cleanup) = families::Entity::delete_by_id(family.id).exec(db).await {
            tracing::warn!(family = %family.id, error = %cleanup, "could not remove a refresh-token family left without its token; it goes when it expires");
        }
        return Err(error);
    }
    Ok(())
}

/// Stores new families and their first tokens, many to a statement, in
/// the caller's transaction (the group commit's): the families, then the
/// tokens. An error fails them all; the caller then stores them one at a
/// time with [`insert_family`], which tells each its own error.
pub async fn insert_families<C: ConnectionTrait>(
    db: &C,
    families: &[(&NewFamily, &str)],
) -> Result<(), DbError> {
    for chunk in in_few_shapes(families) {
        let rows = chunk
            .iter()
            .map(|(family, _)| to_model(&family.to_family()).into_active_model());
        families::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    for chunk in in_few_shapes(families) {
        let rows = chunk.iter().map(|(family, token_hash)| {
            tokens::Model {
                token_hash: (*token_hash).to_owned(),
                family_id: family.id,
                issued_at: family.created_at,
                spent_at: None,
            }
            .into_active_model()
        });
        tokens::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The token with this hash and the family it belongs to.
pub async fn find_token<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
) -> Result<Option<(TokenRow, Family)>, DbError> {
    let Some((token, family)) = tokens::Entity::find_by_id(token_hash)
        .find_also_related(families::Entity)
        .unique(db)
        .await?
    else {
        return Ok(None);
    };
    // The foreign key makes an orphan impossible unless the schema was bypassed.
    let family = family.ok_or_else(|| DbError::Corrupt("refresh_tokens.family_id".to_owned()))?;
    Ok(Some((from_token_model(token), from_model(family)?)))
}

pub async fn find_family<C: ConnectionTrait>(
    db: &C,
    family_id: Uuid,
) -> Result<Option<Family>, DbError> {
    families::Entity::find_by_id(family_id)
        .unique(db)
        .await?
        .map(from_model)
        .transpose()
}

/// Spends `old_hash` and issues `new_hash` in its family, in one transaction,
/// only if `old_hash` was not spent yet (see the module docs for why this is
/// safe under concurrency). A taken `new_hash` is a [`DbError::Conflict`] and
/// leaves the old token unspent.
pub async fn rotate<C>(
    db: &C,
    old_hash: &str,
    new_hash: &str,
    now: i64,
) -> Result<RotateOutcome, DbError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db.begin_with_options(WRITE_AT_ONCE).await?;
    // 1. Claim the old token; only one claimant can see `spent_at` still NULL.
    let claimed = tokens::Entity::update_many()
        .col_expr(tokens::Column::SpentAt, Expr::value(now))
        .filter(tokens::Column::TokenHash.eq(old_hash))
        .filter(tokens::Column::SpentAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        // 2. Nothing claimed: tell a replay from a token never issued.
        let known = tokens::Entity::find_by_id(old_hash)
            .unique(&txn)
            .await?
            .is_some();
        txn.rollback().await?;
        return Ok(if known {
            RotateOutcome::AlreadySpent
        } else {
            RotateOutcome::Unknown
        });
    }
    // 3. The successor joins the family of the token it replaces.
    let family_id: Uuid = tokens::Entity::find_by_id(old_hash)
        .select_only()
        .column(tokens::Column::FamilyId)
        .into_tuple()
        .unique(&txn)
        .await?
        .ok_or(DbError::NotFound("refresh token"))?;
    insert_token(&txn, new_hash, family_id, now).await?;
    txn.commit().await?;
    Ok(RotateOutcome::Rotated)
}

/// One rotation already decided elsewhere (in the store, see
/// `oidc::refresh`), to be made durable: `old_hash` was spent at `at` and
/// `new_hash` joined `family_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub old_hash: String,
    pub new_hash: String,
    pub family_id: Uuid,
    pub at: i64,
}

/// Records many rotations in one transaction, a few statements for many
/// rotations: the successors are inserted first (so a chain `a → b → c`
/// within one batch ends with `b` spent too), then every predecessor is
/// marked spent. Rows already in place are left as they are, so recording a
/// batch twice changes nothing. A rotation whose family has meanwhile been
/// deleted fails the batch with [`DbError::NotFound`]; the caller then
/// records the rotations one at a time.
pub async fn record_rotations<C>(db: &C, rotations: &[Rotation]) -> Result<(), DbError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let Some(latest) = rotations.iter().map(|r| r.at).max() else {
        return Ok(());
    };
    let txn = db.begin_with_options(WRITE_AT_ONCE).await?;
    for chunk in in_few_shapes(rotations) {
        let successors = chunk.iter().map(|r| {
            tokens::Model {
                token_hash: r.new_hash.clone(),
                family_id: r.family_id,
                issued_at: r.at,
                spent_at: None,
            }
            .into_active_model()
        });
        tokens::Entity::insert_many(successors)
            .on_conflict_do_nothing_on([tokens::Column::TokenHash])
            .exec_without_returning(&txn)
            .await
            .map_err(|err| {
                if is_missing_parent(&err) {
                    DbError::NotFound("refresh token family")
                } else {
                    DbError::from(err)
                }
            })?;
    }
    for chunk in in_few_shapes(rotations) {
        // One time for the batch: it is at most the batch's age later than each.
        tokens::Entity::update_many()
            .col_expr(tokens::Column::SpentAt, Expr::value(latest))
            .filter(tokens::Column::TokenHash.is_in(chunk.iter().map(|r| r.old_hash.as_str())))
            .filter(tokens::Column::SpentAt.is_null())
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Revokes every token of the family; returns whether this call did it
/// (`false` when it was revoked already or does not exist), so the first
/// revocation alone is audited and keeps its time.
pub async fn revoke_family<C: ConnectionTrait>(
    db: &C,
    family_id: Uuid,
    now: i64,
) -> Result<bool, DbError> {
    let revoked = families::Entity::update_many()
        .col_expr(families::Column::RevokedAt, Expr::value(now))
        .filter(families::Column::Id.eq(family_id))
        .filter(families::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(revoked.rows_affected > 0)
}

/// Housekeeping: deletes the families past `expires_at` (their tokens go
/// with them) and returns how many there were. Revoked families are kept
/// until they expire, so a replay of their tokens is still recognised.
pub async fn delete_expired_families<C: ConnectionTrait>(db: &C, now: i64) -> Result<u64, DbError> {
    let deleted = families::Entity::delete_many()
        .filter(families::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

async fn insert_token<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
    family_id: Uuid,
    issued_at: i64,
) -> Result<(), DbError> {
    let row = tokens::Model {
        token_hash: token_hash.to_owned(),
        family_id,
        issued_at,
        spent_at: None,
    };
    tokens::Entity::insert(row.into_active_model())
        .exec_without_returning(db)
        .await
        // Never the hash in the message: it identifies a live token.
        .map_err(|err| DbError::unless_conflict(err, || "refresh token".to_owned()))?;
    Ok(())
}

fn is_missing_parent(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    )
}

impl NewFamily {
    /// The family as it is once stored, before any revocation.
    pub fn to_family(&self) -> Family {
        Family {
            id: self.id,
            client_id: self.client_id.clone(),
            user_id: self.user_id,
            scope: self.scope.clone(),
            sid: self.sid.clone(),
            auth_time: self.auth_time,
            acr: self.acr.clone(),
            amr: self.amr.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: None,
        }
    }
}

fn to_model(family: &Family) -> families::Model {
    families::Model {
        id: family.id,
        client_id: family.client_id.clone(),
        user_id: family.user_id,
        scope: family.scope.clone(),
        sid: family.sid.clone(),
        auth_time: family.auth_time,
        acr: family.acr.clone(),
        amr: encode_list(&family.amr),
        created_at: family.created_at,
        expires_at: family.expires_at,
        revoked_at: family.revoked_at,
    }
}

fn from_model(model: families::Model) -> Result<Family, DbError> {
    Ok(Family {
        amr: decode_list(&model.amr, "refresh_token_families.amr")?,
        id: model.id,
        client_id: model.client_id,
        user_id: model.user_id,
        scope: model.scope,
        sid: model.sid,
        auth_time: model.auth_time,
        acr: model.acr,
        created_at: model.created_at,
        expires_at: model.expires_at,
        revoked_at: model.revoked_at,
    })
}

fn from_token_model(model: tokens::Model) -> TokenRow {
    TokenRow {
        token_hash: model.token_hash,
        family_id: model.family_id,
        issued_at: model.issued_at,
        spent_at: model.spent_at,
    }
}
