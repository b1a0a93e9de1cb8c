//! Setting a password through a link (DESIGN.md flow 3: "The link opens the
//! change-password page (new password twice, the policy shown, a strength
//! meter). Success sends a confirmation email.").
//!
//! [`set_password`] does the steps below; the page only shows the outcome.
//!
//! Decisions:
//! - Attempts are counted per link ([`MAX_ATTEMPTS`] per [`WINDOW`]), before
//!   anything else, so a link cannot drive unlimited password hashing.
//! - Policy and confirmation are checked before the link is spent, so a
//!   refused password leaves the link usable for the next try.
//! - The link is spent and the hash stored in one transaction: a second
//!   submit (another tab, another instance) finds the link used and changes
//!   nothing, and a failure leaves neither half done.
//! - The password is hashed before that transaction, so no database lock is
//!   held for the length of an argon2 hash.
//! - No sign-in follows: the person signs in with the new password, which
//!   proves it works and keeps one way into a session.
//! - The confirmation email is best effort: the password is set either way,
//!   so a failed send is logged, not shown.

use std::time::Duration;

use sea_orm::TransactionTrait as _;

use super::{RecoveryError, emails, link};
use crate::app::AppState;
use crate::db::entity::users::Model as User;
use crate::db::password_links::{LinkPurpose, delete_unused_password_links};
use crate::domain::{EmailAddress, SecretString};
use crate::security::PolicyViolations;
use crate::security::audit::{AuditEvent, record};

/// Submits allowed per link in [`WINDOW`].
pub const MAX_ATTEMPTS: u64 = 10;
pub const WINDOW: Duration = Duration::from_mins(15);

/// What became of a submitted password.
#[derive(Debug)]
pub enum Outcome {
    /// The password is set and the link spent.
    Set(Box<User>),
    /// The link is unknown, used, expired or its account disabled; the page
    /// says the same in every case.
    LinkUnusable,
    /// The link still works; the person should try again.
    Refused(Refusal),
    TooManyAttempts,
}

/// Why a password was refused; more than one reason may hold.
#[derive(Debug, Default)]
pub struct Refusal {
    pub violations: Option<PolicyViolations>,
    /// The two entries differ.
    pub mismatch: bool,
}

/// Sets the password of the account `token` opens, if `password` follows
/// the policy and `confirmation` repeats it.
pub async fn set_password(
    state: &AppState,
    token: &str,
    password: &SecretString,
    confirmation: &SecretString,
) -> Result<Outcome, RecoveryError> {
    // 1. Count the attempt on this link.
    let counter = format!("password_set_attempts:{}", link::token_hash(token));
    if state.store.incr(&counter, WINDOW).await? > MAX_ATTEMPTS {
        return Ok(Outcome::TooManyAttempts);
    }
    // 2. The link must still work.
    let clock = state.clock.as_ref();
    let Some((opened, user)) = link::open(&state.db, clock, token).await? else {
        return Ok(Outcome::LinkUnusable);
    };
    // 3. The policy, and the same password twice.
    let refusal = Refusal {
        violations: crate::security::check_password(password.expose()).err(),
        mismatch: password != confirmation,
    };
    if refusal.violations.is_some() || refusal.mismatch {
        return Ok(Outcome::Refused(refusal));
    }
    // 4. Hash, then spend the link and store the hash together.
    let hash = state.passwords.hash(password).await?;
    let now = clock.unix();
    let txn = state.db.begin().await.map_err(crate::db::DbError::from)?;
    if !crate::db::password_links::update_password_link_used(&txn, &opened.token_hash, now).await? {
        txn.rollback().await.map_err(crate::db::DbError::from)?;
        return Ok(Outcome::LinkUnusable);
    }
    crate::db::users::upsert_password_hash(&txn, user.id, &hash, now).await?;
    txn.commit().await.map_err(crate::db::DbError::from)?;
    // 5. Any other link would now only overwrite this password.
    for purpose in [LinkPurpose::Invite, LinkPurpose::Reset] {
        delete_unused_password_links(&state.db, user.id, purpose).await?;
    }
    // 6. The audit event, then the confirmation email.
    let actor = format!("user:{}", user.id);
    record(
        &state.db,
        clock,
        AuditEvent {
            kind: "password.set",
            actor: &actor,
            user_id: Some(user.id),
            org_id: user.org_id,
            client_id: None,
            ip: None,
            detail: serde_json::json!({ "via": opened.purpose.as_str() }),
        },
    )
    .await?;
    if let Err(error) = confirm(state, &user, now).await {
        tracing::warn!(%error, user_id = %user.id, "password set, but the confirmation email failed");
    }
    Ok(Outcome::Set(Box::new(user)))
}

async fn confirm(state: &AppState, user: &User, when: i64) -> Result<(), RecoveryError> {
    let to = EmailAddress::parse(&user.email).map_err(RecoveryError::NoAddress)?;
    let email = emails::password_set(&state.templates, to, user, when)?;
    state.mailer.send(&email).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock as _;
    use crate::db::users::{NewUser, find_password_hash, insert_user};
    use crate::testing::TestApp;

    const GOOD: &str = "Sunnydale#1997";

    /// The app with its outbox in `outbox`, and an invited user's token.
    async fn invited(outbox: &std::path::Path) -> (TestApp, User, String) {
        let dir = outbox.to_path_buf();
        let app = TestApp::builder()
            .config(move |config| config.email.outbox_dir = dir)
            .spawn()
            .await;
        let user = insert_user(
            &app.state.db,
            NewUser {
                username: "buffy".into(),
                email: "buffy@example.com".into(),
                ..NewUser::default()
            },
            app.clock.unix(),
        )
        .await
        .unwrap();
        let issued = link::issue(
            &app.state.db,
            app.clock.as_ref(),
            &app.issuer,
            user.id,
            LinkPurpose::Invite,
            super::super::INVITATION_LIFETIME,
        )
        .await
        .unwrap();
        let token = issued
            .url
            .expose()
            .split_once("?token=")
            .unwrap()
            .1
            .to_owned();
        (app, user, token)
    }

    fn secret(text: &str) -> SecretString {
        SecretString::from(text)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_concurrent_submits_of_one_link_set_the_password_once() {
        let outbox = tempfile::tempdir().unwrap();
        let (app, user, token) = invited(outbox.path()).await;
        let (first, second) = (secret("First#Password1"), secret("Second#Password2"));

        let (a, b) = tokio::join!(
            set_password(&app.state, &token, &first, &first),
            set_password(&app.state, &token, &second, &second),
        );

        let outcomes = [a.unwrap(), b.unwrap()];
        let winners: Vec<usize> = (0..2)
            .filter(|i| matches!(outcomes[*i], Outcome::Set(_)))
            .collect();
        assert_eq!(winners.len(), 1, "{outcomes:?}");
        let loser = 1 - winners[0];
        assert!(
            matches!(outcomes[loser], Outcome::LinkUnusable),
            "{outcomes:?}"
        );
        let stored = find_password_hash(&app.state.db, user.id).await.unwrap();
        let winner = if winners[0] == 0 { &first } else { &second };
        assert!(
            app.state
                .passwords
                .verify(winner, stored.as_deref())
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn the_eleventh_attempt_on_a_link_is_refused_even_with_a_good_password() {
        let outbox = tempfile::tempdir().unwrap();
        let (app, user, token) = invited(outbox.path()).await;
        for _ in 0..MAX_ATTEMPTS {
            let outcome = set_password(&app.state, &token, &secret("weak"), &secret("weak"))
                .await
                .unwrap();
            assert!(matches!(outcome, Outcome::Refused(_)), "{outcome:?}");
        }
        let outcome = set_password(&app.state, &token, &secret(GOOD), &secret(GOOD))
            .await
            .unwrap();
        assert!(matches!(outcome, Outcome::TooManyAttempts), "{outcome:?}");
        assert_eq!(
            find_password_hash(&app.state.db, user.id).await.unwrap(),
            None
        );

        app.clock.advance(WINDOW);
        let outcome = set_password(&app.state, &token, &secret(GOOD), &secret(GOOD))
            .await
            .unwrap();
        assert!(matches!(outcome, Outcome::Set(_)), "{outcome:?}");
    }

    #[tokio::test]
    async fn a_refusal_names_both_the_broken_rules_and_the_mismatch() {
        let outbox = tempfile::tempdir().unwrap();
        let (app, _, token) = invited(outbox.path()).await;
        let outcome = set_password(&app.state, &token, &secret("sunnydale"), &secret("other"))
            .await
            .unwrap();
        let Outcome::Refused(refusal) = outcome else {
            panic!("expected a refusal, got {outcome:?}");
        };
        assert!(refusal.mismatch);
        let codes: Vec<_> = refusal.violations.unwrap().codes().collect();
        assert_eq!(
            codes,
            ["missing_uppercase", "missing_digit", "missing_special"]
        );
    }
}
