//! Invitations (DESIGN.md flow 3: "An invitation (account created by support
//! or a security manager) sends the same kind of link in a 'Set password'
//! email").
//!
//! Decisions:
//! - The caller records the audit event (`user.invited`): it knows who acted
//!   (the command line, a security manager) and for which organisation.
//! - A new invitation replaces the unused one before it, so re-inviting a
//!   person whose email was lost leaves exactly one working link.
//! - The link lives [`INVITATION_LIFETIME`], a constant rather than a setting:
//!   a week covers a weekend and a holiday, and an expired invitation is
//!   simply sent again.

use std::time::Duration;

use super::RecoveryError;
use super::{emails, link};
use crate::clock::Clock;
use crate::db::Db;
use crate::db::entity::users::Model as User;
use crate::db::password_links::LinkPurpose;
use crate::domain::EmailAddress;
use crate::notify::{Delivery, Mailer};
use crate::web::Templates;

/// How long an invitation link works.
pub const INVITATION_LIFETIME: Duration = Duration::from_hours(7 * 24);

/// Issues an invitation link for `user` and emails it to the user's address;
/// answers where the message went (the outbox file, for the operator).
pub async fn invite(
    db: &Db,
    mailer: &dyn Mailer,
    templates: &Templates,
    clock: &dyn Clock,
    issuer: &str,
    user: &User,
) -> Result<Delivery, RecoveryError> {
    let to = EmailAddress::parse(&user.email).map_err(RecoveryError::NoAddress)?;
    let link = link::issue(
        db,
        clock,
        issuer,
        user.id,
        LinkPurpose::Invite,
        INVITATION_LIFETIME,
    )
    .await?;
    let email = emails::invitation(templates, to, user, issuer, &link)?;
    Ok(mailer.send(&email).await?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::db::users::{NewUser, insert_user};
    use crate::notify::Captured;

    async fn setup(email: &str) -> (Db, Arc<ManualClock>, User) {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let clock = Arc::new(ManualClock::starting_now());
        let user = insert_user(
            &db,
            NewUser {
                username: "buffy".into(),
                email: email.into(),
                ..NewUser::default()
            },
            clock.unix(),
        )
        .await
        .unwrap();
        (db, clock, user)
    }

    fn token_in(text: &str) -> &str {
        let start = text.find("?token=").expect("a link") + "?token=".len();
        text[start..].split_whitespace().next().unwrap()
    }

    #[tokio::test]
    async fn the_invitation_email_carries_a_link_that_opens_the_account() {
        let (db, clock, user) = setup("buffy@example.com").await;
        let mailer = Captured::new();
        let templates = Templates::new().unwrap();

        let delivery = invite(
            &db,
            &mailer,
            &templates,
            clock.as_ref(),
            "https://id.example.com",
            &user,
        )
        .await
        .unwrap();

        assert_eq!(delivery, Delivery::Captured);
        let sent = mailer.sent_to("buffy@example.com");
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].subject, "Set your Gatehouse password");
        assert!(
            sent[0]
                .text
                .contains("https://id.example.com/password/set?token=")
        );
        let (_, owner) = link::open(&db, clock.as_ref(), token_in(&sent[0].text))
            .await
            .unwrap()
            .expect("the emailed link works");
        assert_eq!(owner.id, user.id);
    }

    #[tokio::test]
    async fn inviting_again_leaves_only_the_newest_link_working() {
        let (db, clock, user) = setup("buffy@example.com").await;
        let mailer = Captured::new();
        let templates = Templates::new().unwrap();
        for _ in 0..2 {
            invite(&db, &mailer, &templates, clock.as_ref(), "", &user)
                .await
                .unwrap();
        }
        let sent = mailer.sent();
        let first = link::open(&db, clock.as_ref(), token_in(&sent[0].text))
            .await
            .unwrap();
        let second = link::open(&db, clock.as_ref(), token_in(&sent[1].text))
            .await
            .unwrap();
        assert!(first.is_none());
        assert!(second.is_some());
    }

    #[tokio::test]
    async fn a_stored_address_that_does_not_parse_sends_nothing() {
        let (db, clock, user) = setup("not-an-address").await;
        let mailer = Captured::new();
        let err = invite(
            &db,
            &mailer,
            &Templates::new().unwrap(),
            clock.as_ref(),
            "",
            &user,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, RecoveryError::NoAddress(_)), "{err:?}");
        assert!(mailer.sent().is_empty());
    }
}
