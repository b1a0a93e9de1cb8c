//! The single-use, expiring link that opens the set-password page: the core
//! an invitation and a forgotten password share (DESIGN.md flow 3).
//!
//! 1. [`issue`] draws 256 random bits (the token), stores only their SHA-256
//!    with the user, the purpose and the expiry, replacing the user's unused
//!    links of the same purpose, and returns the URL to email.
//! 2. [`open`] finds the link a presented token belongs to, if it is still
//!    usable (unused, unexpired, and its account enabled).
//! 3. Setting the password marks it used in the same transaction
//!    ([`crate::db::password_links::update_password_link_used`]), so it works
//!    once even when two submits race.
//!
//! Decisions:
//! - The token travels in the query string (`/password/set?token=…`): it must
//!   survive being clicked in any mail client. The pages send
//!   `Referrer-Policy: no-referrer` and `Cache-Control: no-store`, so it does
//!   not leak to other sites or caches, and it stops working once used.
//! - A token not shaped like one of ours is refused before any query, and
//!   every refusal looks the same to the person, whatever the reason.

use std::time::Duration;

use uuid::Uuid;

use crate::clock::Clock;
use crate::db::entity::users::Model as User;
use crate::db::password_links::{
    LinkPurpose, NewPasswordLink, PasswordLink, delete_unused_password_links, find_password_link,
    insert_password_link,
};
use crate::db::{Db, DbError};
use crate::domain::SecretString;
use crate::security::{random_token, sha256_b64url};

/// The path of the set-password page the links open.
pub const SET_PASSWORD_PATH: &str = "/password/set";
/// Random bytes in a token (256 bits).
const TOKEN_BYTES: usize = 32;
/// Length of [`TOKEN_BYTES`] in unpadded base64url.
const TOKEN_CHARS: usize = 43;

/// A link just issued: the token (to email, never to store or log) and the
/// URL built from it.
#[derive(Debug)]
pub struct IssuedLink {
    pub url: SecretString,
    pub expires_at: i64,
}

/// Issues a link for `user_id` valid for `lifetime`, replacing the user's
/// unused links of the same purpose so only the newest one works.
pub async fn issue(
    db: &Db,
    clock: &dyn Clock,
    issuer: &str,
    user_id: Uuid,
    purpose: LinkPurpose,
    lifetime: Duration,
) -> Result<IssuedLink, DbError> {
    let token = random_token(TOKEN_BYTES);
    let now = clock.unix();
    let expires_at = now.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX));
    delete_unused_password_links(db, user_id, purpose).await?;
    insert_password_link(
        db,
        &NewPasswordLink {
            token_hash: token_hash(&token),
            user_id,
            purpose,
            created_at: now,
            expires_at,
        },
    )
    .await?;
    Ok(IssuedLink {
        url: SecretString::from(format!("{issuer}{SET_PASSWORD_PATH}?token={token}")),
        expires_at,
    })
}

/// How a token is stored and looked up.
pub fn token_hash(token: &str) -> String {
    sha256_b64url(token.as_bytes())
}

/// The usable link `token` opens and its account, or `None` when the token
/// is malformed, unknown, used or expired, or the account is gone or disabled.
pub async fn open(
    db: &Db,
    clock: &dyn Clock,
    token: &str,
) -> Result<Option<(PasswordLink, User)>, DbError> {
    if !is_well_formed(token) {
        return Ok(None);
    }
    let Some(link) = find_password_link(db, &token_hash(token)).await? else {
        return Ok(None);
    };
    if !link.is_usable(clock.unix()) {
        return Ok(None);
    }
    let user = crate::db::users::find_user_by_id(db, link.user_id).await?;
    Ok(user.filter(|u| !u.disabled).map(|user| (link, user)))
}

fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::EntityTrait as _;

    use super::*;
    use crate::clock::ManualClock;
    use crate::db::users::{NewUser, insert_user};

    const WEEK: Duration = Duration::from_hours(7 * 24);

    async fn setup() -> (Db, Arc<ManualClock>, User) {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let clock = Arc::new(ManualClock::starting_now());
        let user = insert_user(
            &db,
            NewUser {
                username: "buffy".into(),
                email: "buffy@example.com".into(),
                ..NewUser::default()
            },
            clock.unix(),
        )
        .await
        .unwrap();
        (db, clock, user)
    }

    fn token_of(link: &IssuedLink) -> String {
        link.url
            .expose()
            .split_once("?token=")
            .unwrap()
            .1
            .to_owned()
    }

    #[tokio::test]
    async fn an_issued_link_opens_its_account_and_only_its_hash_is_stored() {
        let (db, clock, user) = setup().await;
        let link = issue(
            &db,
            clock.as_ref(),
            "https://id.example.com",
            user.id,
            LinkPurpose::Invite,
            WEEK,
        )
        .await
        .unwrap();
        assert!(
            link.url
                .expose()
                .starts_with("https://id.example.com/password/set?token="),
            "{}",
            link.url.expose()
        );
        assert_eq!(link.expires_at, clock.unix() + 7 * 86_400);
        let token = token_of(&link);
        assert_eq!(token.len(), TOKEN_CHARS);

        let (stored, owner) = open(&db, clock.as_ref(), &token).await.unwrap().unwrap();
        assert_eq!(owner.id, user.id);
        assert_eq!(stored.token_hash, sha256_b64url(token.as_bytes()));
        assert_ne!(stored.token_hash, token);
        assert_eq!(stored.purpose, LinkPurpose::Invite);
    }

    #[tokio::test]
    async fn a_link_stops_opening_when_it_expires() {
        let (db, clock, user) = setup().await;
        let link = issue(&db, clock.as_ref(), "", user.id, LinkPurpose::Invite, WEEK)
            .await
            .unwrap();
        let token = token_of(&link);
        clock.advance(WEEK.checked_sub(Duration::from_secs(1)).unwrap());
        assert!(open(&db, clock.as_ref(), &token).await.unwrap().is_some());
        clock.advance(Duration::from_secs(1));
        assert!(open(&db, clock.as_ref(), &token).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_new_link_replaces_the_unused_one_of_the_same_purpose() {
        let (db, clock, user) = setup().await;
        let first = issue(&db, clock.as_ref(), "", user.id, LinkPurpose::Invite, WEEK)
            .await
            .unwrap();
        let reset = issue(&db, clock.as_ref(), "", user.id, LinkPurpose::Reset, WEEK)
            .await
            .unwrap();
        let second = issue(&db, clock.as_ref(), "", user.id, LinkPurpose::Invite, WEEK)
            .await
            .unwrap();
        assert!(
            open(&db, clock.as_ref(), &token_of(&first))
                .await
                .unwrap()
                .is_none()
        );
        for kept in [&second, &reset] {
            assert!(
                open(&db, clock.as_ref(), &token_of(kept))
                    .await
                    .unwrap()
                    .is_some()
            );
        }
    }

    #[tokio::test]
    async fn malformed_unknown_and_disabled_account_tokens_open_nothing() {
        let (db, clock, user) = setup().await;
        let link = issue(&db, clock.as_ref(), "", user.id, LinkPurpose::Invite, WEEK)
            .await
            .unwrap();
        for token in ["", "short", "x' OR 1=1 --", &random_token(TOKEN_BYTES)] {
            assert!(
                open(&db, clock.as_ref(), token).await.unwrap().is_none(),
                "{token}"
            );
        }
        crate::db::entity::users::Entity::update_many()
            .col_expr(
                crate::db::entity::users::Column::Disabled,
                sea_orm::sea_query::Expr::value(true),
            )
            .exec(&db)
            .await
            .unwrap();
        assert!(
            open(&db, clock.as_ref(), &token_of(&link))
                .await
                .unwrap()
                .is_none()
        );
    }
}
