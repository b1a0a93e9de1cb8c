//! Password links: the single-use, expiring links of an invitation or a
//! password reset (DESIGN.md flow 3), known by the SHA-256 of their token.
//!
//! Decisions:
//! - Only the hash reaches this module (the caller hashes), so a copy of the
//!   database yields no link that works.
//! - "Use once" is decided by the database, not by a read in the app:
//!   [`update_password_link_used`] is one `UPDATE … WHERE used_at IS NULL AND
//!   expires_at > now` whose affected-row count is trusted. Two submits racing
//!   on one link (two tabs, two instances) get exactly one `true`: PostgreSQL
//!   makes the loser wait for the winner's row lock and re-check, SQLite runs
//!   writers one at a time.
//! - The entity lives here rather than in [`super::entity`]: nothing else
//!   reads this table, and keeping it beside its queries keeps the feature in
//!   one file.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, SqlErr};
use uuid::Uuid;

use super::{DbError, Unique as _};

/// Why a link was issued; each purpose's unused links are replaced apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkPurpose {
    /// An account created by support or a security manager: set a first password.
    Invite,
    /// A person who forgot their password.
    Reset,
}

impl LinkPurpose {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invite => "invite",
            Self::Reset => "reset",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        match stored {
            "invite" => Some(Self::Invite),
            "reset" => Some(Self::Reset),
            _ => None,
        }
    }
}

/// What is stored when a link is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPasswordLink {
    /// `sha256_b64url` of the token; never the token.
    pub token_hash: String,
    pub user_id: Uuid,
    pub purpose: LinkPurpose,
    pub created_at: i64,
    /// From this second on the link no longer works.
    pub expires_at: i64,
}

/// A stored link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordLink {
    pub token_hash: String,
    pub user_id: Uuid,
    pub purpose: LinkPurpose,
    pub created_at: i64,
    pub expires_at: i64,
    /// Set when the link set a password; it never works again.
    pub used_at: Option<i64>,
}

impl PasswordLink {
    /// Whether the link may still set a password at `now`.
    pub fn is_usable(&self, now: i64) -> bool {
        self.used_at.is_none() && now < self.expires_at
    }
}

/// Stores a new link. An unknown user is a [`DbError::NotFound`], a taken
/// hash a [`DbError::Conflict`].
pub async fn insert_password_link<C: ConnectionTrait>(
    db: &C,
    link: &NewPasswordLink,
) -> Result<(), DbError> {
    let row = row::Model {
        token_hash: link.token_hash.clone(),
        user_id: link.user_id,
        purpose: link.purpose.as_str().to_owned(),
        created_at: link.created_at,
        expires_at: link.expires_at,
        used_at: None,
    };
    row::Entity::insert(row.into_active_model())
        .exec_without_returning(db)
        .await
        .map_err(|err| {
            if matches!(
                err.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            ) {
                DbError::NotFound("user")
            } else {
                // Never the hash in the message: it identifies a live link.
                DbError::unless_conflict(err, || "password link".to_owned())
            }
        })?;
    Ok(())
}

/// The link with this token hash, used or not, expired or not.
pub async fn find_password_link<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
) -> Result<Option<PasswordLink>, DbError> {
    row::Entity::find_by_id(token_hash)
        .unique(db)
        .await?
        .map(from_row)
        .transpose()
}

/// Marks the link used, only if it is unused and not expired at `now`;
/// returns whether this call did it (see the module docs on concurrency).
pub async fn update_password_link_used<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
    now: i64,
) -> Result<bool, DbError> {
    let updated = row::Entity::update_many()
        .col_expr(row::Column::UsedAt, Expr::value(now))
        .filter(row::Column::TokenHash.eq(token_hash))
        .filter(row::Column::UsedAt.is_null())
        .filter(row::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(updated.rows_affected > 0)
}

/// Deletes the user's unused links of `purpose` (a new invitation replaces
/// the previous one; a set password makes the rest pointless); returns how
/// many there were. Used links stay as a record until the user is deleted.
pub async fn delete_unused_password_links<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    purpose: LinkPurpose,
) -> Result<u64, DbError> {
    let deleted = row::Entity::delete_many()
        .filter(row::Column::UserId.eq(user_id))
        .filter(row::Column::Purpose.eq(purpose.as_str()))
        .filter(row::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

fn from_row(model: row::Model) -> Result<PasswordLink, DbError> {
    let purpose = LinkPurpose::parse(&model.purpose)
        .ok_or_else(|| DbError::Corrupt("password_links.purpose".to_owned()))?;
    Ok(PasswordLink {
        token_hash: model.token_hash,
        user_id: model.user_id,
        purpose,
        created_at: model.created_at,
        expires_at: model.expires_at,
        used_at: model.used_at,
    })
}

/// `password_links`, as the migration creates it.
mod row {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "password_links")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub user_id: Uuid,
        /// `invite` or `reset`.
        pub purpose: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub used_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "crate::db::entity::users::Entity",
            from = "Column::UserId",
            to = "crate::db::entity::users::Column::Id",
            on_delete = "Cascade"
        )]
        User,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// Every query on SQLite and PostgreSQL, as in `db/tests.rs`: each body runs
/// as its own test on in-memory SQLite, and all of them in sequence on one
/// throw-away PostgreSQL cluster, each in a database of its own.
#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::EntityTrait as _;

    use super::*;
    use crate::db::Db;
    use crate::db::users::{NewUser, insert_user};

    const NOW: i64 = 1_900_000_000;
    const WEEK: i64 = 7 * 86_400;

    on_both_backends!(
        "db::password_links::postgres",
        every_password_link_query_behaves_the_same_on_postgres;
        link_is_found_by_hash_with_its_purpose_and_times,
        link_for_an_unknown_user_is_refused,
        a_taken_hash_is_a_conflict_that_does_not_name_the_hash,
        link_is_used_once_and_keeps_the_first_time,
        expired_link_cannot_be_used,
        unknown_link_cannot_be_used,
        concurrent_uses_of_one_link_yield_exactly_one_success,
        only_the_unused_links_of_one_purpose_and_user_are_deleted,
        deleting_the_user_deletes_their_links,
        an_unknown_stored_purpose_is_reported_as_corrupt,
    );

    use crate::db::tests::on_both_backends;

    async fn user(db: &Db, username: &str) -> Uuid {
        insert_user(
            db,
            NewUser {
                username: username.to_owned(),
                email: format!("{username}@example.com"),
                ..NewUser::default()
            },
            NOW,
        )
        .await
        .unwrap()
        .id
    }

    fn link(hash: &str, user_id: Uuid, purpose: LinkPurpose) -> NewPasswordLink {
        NewPasswordLink {
            token_hash: hash.to_owned(),
            user_id,
            purpose,
            created_at: NOW,
            expires_at: NOW + WEEK,
        }
    }

    async fn link_is_found_by_hash_with_its_purpose_and_times(db: &Db) {
        let buffy = user(db, "buffy").await;
        insert_password_link(db, &link("h-invite", buffy, LinkPurpose::Invite))
            .await
            .unwrap();
        insert_password_link(db, &link("h-reset", buffy, LinkPurpose::Reset))
            .await
            .unwrap();

        let found = find_password_link(db, "h-invite").await.unwrap().unwrap();
        assert_eq!(
            found,
            PasswordLink {
                token_hash: "h-invite".into(),
                user_id: buffy,
                purpose: LinkPurpose::Invite,
                created_at: NOW,
                expires_at: NOW + WEEK,
                used_at: None,
            }
        );
        assert!(found.is_usable(NOW + WEEK - 1));
        assert!(!found.is_usable(NOW + WEEK));
        let reset = find_password_link(db, "h-reset").await.unwrap().unwrap();
        assert_eq!(reset.purpose, LinkPurpose::Reset);
        assert_eq!(find_password_link(db, "nope").await.unwrap(), None);
    }

    async fn link_for_an_unknown_user_is_refused(db: &Db) {
        let err = insert_password_link(db, &link("h", Uuid::new_v4(), LinkPurpose::Invite))
            .await
            .unwrap_err();
        assert!(matches!(err, DbError::NotFound("user")), "{err:?}");
        assert_eq!(find_password_link(db, "h").await.unwrap(), None);
    }

    async fn a_taken_hash_is_a_conflict_that_does_not_name_the_hash(db: &Db) {
        let buffy = user(db, "buffy").await;
        insert_password_link(db, &link("secret-hash", buffy, LinkPurpose::Invite))
            .await
            .unwrap();
        let err = insert_password_link(db, &link("secret-hash", buffy, LinkPurpose::Reset))
            .await
            .unwrap_err();
        assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
        assert!(!err.to_string().contains("secret-hash"), "{err}");
        let kept = find_password_link(db, "secret-hash")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.purpose, LinkPurpose::Invite);
    }

    async fn link_is_used_once_and_keeps_the_first_time(db: &Db) {
        let buffy = user(db, "buffy").await;
        insert_password_link(db, &link("h", buffy, LinkPurpose::Invite))
            .await
            .unwrap();
        assert!(update_password_link_used(db, "h", NOW + 10).await.unwrap());
        assert!(!update_password_link_used(db, "h", NOW + 20).await.unwrap());
        let used = find_password_link(db, "h").await.unwrap().unwrap();
        assert_eq!(used.used_at, Some(NOW + 10));
        assert!(!used.is_usable(NOW + 30));
    }

    async fn expired_link_cannot_be_used(db: &Db) {
        let buffy = user(db, "buffy").await;
        insert_password_link(db, &link("h", buffy, LinkPurpose::Invite))
            .await
            .unwrap();
        assert!(
            !update_password_link_used(db, "h", NOW + WEEK)
                .await
                .unwrap()
        );
        assert_eq!(
            find_password_link(db, "h").await.unwrap().unwrap().used_at,
            None
        );
        assert!(
            update_password_link_used(db, "h", NOW + WEEK - 1)
                .await
                .unwrap()
        );
    }

    async fn unknown_link_cannot_be_used(db: &Db) {
        assert!(
            !update_password_link_used(db, "never-issued", NOW)
                .await
                .unwrap()
        );
    }

    async fn concurrent_uses_of_one_link_yield_exactly_one_success(db: &Db) {
        let buffy = user(db, "buffy").await;
        insert_password_link(db, &link("race", buffy, LinkPurpose::Reset))
            .await
            .unwrap();
        let db = Arc::new(db.clone());
        let attempts: Vec<_> = (0..8)
            .map(|i| {
                let db = Arc::clone(&db);
                tokio::spawn(async move {
                    update_password_link_used(db.as_ref(), "race", NOW + i).await
                })
            })
            .collect();
        let mut successes = 0;
        for attempt in attempts {
            if attempt.await.unwrap().unwrap() {
                successes += 1;
            }
        }
        assert_eq!(successes, 1);
    }

    async fn only_the_unused_links_of_one_purpose_and_user_are_deleted(db: &Db) {
        let buffy = user(db, "buffy").await;
        let willow = user(db, "willow").await;
        for (hash, owner, purpose) in [
            ("old-invite", buffy, LinkPurpose::Invite),
            ("used-invite", buffy, LinkPurpose::Invite),
            ("reset", buffy, LinkPurpose::Reset),
            ("willow-invite", willow, LinkPurpose::Invite),
        ] {
            insert_password_link(db, &link(hash, owner, purpose))
                .await
                .unwrap();
        }
        assert!(
            update_password_link_used(db, "used-invite", NOW + 1)
                .await
                .unwrap()
        );

        let deleted = delete_unused_password_links(db, buffy, LinkPurpose::Invite)
            .await
            .unwrap();

        assert_eq!(deleted, 1);
        assert_eq!(find_password_link(db, "old-invite").await.unwrap(), None);
        for kept in ["used-invite", "reset", "willow-invite"] {
            assert!(
                find_password_link(db, kept).await.unwrap().is_some(),
                "{kept} should be kept"
            );
        }
    }

    async fn deleting_the_user_deletes_their_links(db: &Db) {
        let buffy = user(db, "buffy").await;
        insert_password_link(db, &link("h", buffy, LinkPurpose::Invite))
            .await
            .unwrap();
        crate::db::entity::users::Entity::delete_by_id(buffy)
            .exec(db)
            .await
            .unwrap();
        assert_eq!(find_password_link(db, "h").await.unwrap(), None);
    }

    async fn an_unknown_stored_purpose_is_reported_as_corrupt(db: &Db) {
        let buffy = user(db, "buffy").await;
        insert_password_link(db, &link("h", buffy, LinkPurpose::Invite))
            .await
            .unwrap();
        row::Entity::update_many()
            .col_expr(row::Column::Purpose, Expr::value("promote"))
            .exec(db)
            .await
            .unwrap();
        let err = find_password_link(db, "h").await.unwrap_err();
        assert!(
            matches!(err, DbError::Corrupt(ref column) if column == "password_links.purpose"),
            "{err:?}"
        );
    }
}
