//! Users: profile, MFA enforcement flags, roles and password hash.
//!
//! The user id is the OIDC `sub` (OpenID Connect Core 1.0 §2: "locally unique
//! and never reassigned"), so it is a random UUID and never the username.
//! Each user has two authentications, `console` and `api` (DESIGN.md), each
//! with its own MFA flag that only a security manager or support may change.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, SqlErr,
};
use uuid::Uuid;

use super::entity::{password_credentials, user_roles, users};
use super::{DbError, Unique as _};

/// What is needed to create a user; the rest starts unset or `false`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub org_id: Option<Uuid>,
    pub title: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone: Option<String>,
}

/// One of a user's two ways in, each with its own MFA enforcement flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Authentication {
    /// Interactive login in a browser (the web console and other apps).
    Console,
    /// Tokens for the API gateway, from command-line tools (device grant).
    Api,
}

impl Authentication {
    fn flag_column(self) -> users::Column {
        match self {
            Self::Console => users::Column::MfaConsole,
            Self::Api => users::Column::MfaApi,
        }
    }
}

/// A user with a fresh id that was never stored, for tests that need a row
/// in hand (`username@example.com`, nothing verified, no MFA).
#[cfg(test)]
pub fn unsaved(username: &str) -> users::Model {
    users::Model {
        id: Uuid::new_v4(),
        username: username.to_owned(),
        org_id: None,
        title: None,
        given_name: None,
        family_name: None,
        email: format!("{username}@example.com"),
        email_verified: false,
        phone: None,
        phone_verified: false,
        mfa_console: false,
        mfa_api: false,
        disabled: false,
        created_at: 0,
        updated_at: 0,
    }
}

/// Inserts a user with a fresh random id; a taken username is a
/// [`DbError::Conflict`], an unknown `org_id` a [`DbError::NotFound`].
pub async fn insert_user<C: ConnectionTrait>(
    db: &C,
    new: NewUser,
    now: i64,
) -> Result<users::Model, DbError> {
    let model = users::Model {
        id: Uuid::new_v4(),
        username: new.username,
        org_id: new.org_id,
        title: new.title,
        given_name: new.given_name,
        family_name: new.family_name,
        email: new.email,
        email_verified: false,
        phone: new.phone,
        phone_verified: false,
        mfa_console: false,
        mfa_api: false,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    let inserted = users::Entity::insert(model.clone().into_active_model())
        .exec_without_returning(db)
        .await;
    match inserted {
        Ok(_) => Ok(model),
        Err(err) if is_missing_parent(&err) => Err(DbError::NotFound("organisation")),
        Err(err) => Err(DbError::unless_conflict(err, || {
            format!("user `{}`", model.username)
        })),
    }
}

pub async fn find_user_by_id<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<users::Model>, DbError> {
    Ok(users::Entity::find_by_id(id).unique(db).await?)
}

pub async fn find_user_by_username<C: ConnectionTrait>(
    db: &C,
    username: &str,
) -> Result<Option<users::Model>, DbError> {
    Ok(users::Entity::find()
        .filter(users::Column::Username.eq(username))
        .unique(db)
        .await?)
}

/// Every login tied to an address (the "forgot username" email lists them),
/// in username order.
pub async fn find_users_by_email<C: ConnectionTrait>(
    db: &C,
    email: &str,
) -> Result<Vec<users::Model>, DbError> {
    Ok(users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .order_by_asc(users::Column::Username)
        .all(db)
        .await?)
}

/// Turns MFA enforcement on or off for one authentication of one user.
pub async fn update_mfa_enforcement<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    authentication: Authentication,
    on: bool,
    now: i64,
) -> Result<(), DbError> {
    let updated = users::Entity::update_many()
        .col_expr(authentication.flag_column(), Expr::value(on))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Err(DbError::NotFound("user"));
    }
    Ok(())
}

/// Grants a role; granting one the user already holds changes nothing.
pub async fn insert_role<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    role: &str,
) -> Result<(), DbError> {
    let row = user_roles::Model {
        user_id,
        role: role.to_owned(),
    };
    user_roles::Entity::insert(row.into_active_model())
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await
        .map_err(missing_user_or_unavailable)?;
    Ok(())
}

/// Takes a role away; returns whether the user held it.
pub async fn delete_role<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    role: &str,
) -> Result<bool, DbError> {
    let deleted = user_roles::Entity::delete_by_id((user_id, role.to_owned()))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// The user's roles, sorted by name.
pub async fn find_roles<C: ConnectionTrait>(db: &C, user_id: Uuid) -> Result<Vec<String>, DbError> {
    Ok(user_roles::Entity::find()
        .select_only()
        .column(user_roles::Column::Role)
        .filter(user_roles::Column::UserId.eq(user_id))
        .order_by_asc(user_roles::Column::Role)
        .into_tuple()
        .all(db)
        .await?)
}

/// Sets the user's password hash (an argon2 PHC string), replacing any.
pub async fn upsert_password_hash<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    hash: &str,
    now: i64,
) -> Result<(), DbError> {
    let row = password_credentials::Model {
        user_id,
        hash: hash.to_owned(),
        updated_at: now,
    };
    password_credentials::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::column(password_credentials::Column::UserId)
                .update_columns([
                    password_credentials::Column::Hash,
                    password_credentials::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map_err(missing_user_or_unavailable)?;
    Ok(())
}

/// The user called `username` and their password hash (`None` until a
/// password was set), in one query: a sign-in needs both.
pub async fn find_user_with_password_hash<C: ConnectionTrait>(
    db: &C,
    username: &str,
) -> Result<Option<(users::Model, Option<String>)>, DbError> {
    Ok(users::Entity::find()
        .filter(users::Column::Username.eq(username))
        .find_also_related(password_credentials::Entity)
        .unique(db)
        .await?
        .map(|(user, password)| (user, password.map(|row| row.hash))))
}

/// The user's password hash; `None` until a password was set.
pub async fn find_password_hash<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
) -> Result<Option<String>, DbError> {
    Ok(password_credentials::Entity::find_by_id(user_id)
        .unique(db)
        .await?
        .map(|row| row.hash))
}

fn is_missing_parent(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    )
}

fn missing_user_or_unavailable(err: sea_orm::DbErr) -> DbError {
    if is_missing_parent(&err) {
        DbError::NotFound("user")
    } else {
        DbError::Unavailable(err)
    }
}
