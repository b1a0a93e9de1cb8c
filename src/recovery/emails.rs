//! The emails of the password flows, rendered from `templates/email/`.
//!
//! Decisions:
//! - Plain text only for now: every mail client shows it, nothing in it can
//!   be spoofed by markup, and the link reads as itself. [`Email::html`] is
//!   there for when a designed version is wanted.
//! - Times are written out in UTC with the month in words
//!   ("29 November 2026, 10:15 UTC"): the reader may be anywhere and should
//!   not have to guess whether 11/12 is November or December.
//! - A person is greeted by their given name, or their username when they
//!   have none.

use minijinja::context;
use time::OffsetDateTime;
use time::macros::format_description;

use super::link::IssuedLink;
use crate::db::entity::users::Model as User;
use crate::domain::EmailAddress;
use crate::notify::Email;
use crate::web::{RenderError, Templates};

pub const INVITATION_SUBJECT: &str = "Set your Gatehouse password";
pub const PASSWORD_SET_SUBJECT: &str = "Your Gatehouse password was set";

/// "Set your Gatehouse password", with the link.
pub fn invitation(
    templates: &Templates,
    to: EmailAddress,
    user: &User,
    issuer: &str,
    link: &IssuedLink,
) -> Result<Email, RenderError> {
    let text = templates.render(
        "email/invitation.txt",
        context! {
            name => greeting_name(user),
            username => &user.username,
            issuer => issuer,
            link => link.url.expose(),
            expires => written_time(link.expires_at),
        },
    )?;
    Ok(Email {
        to,
        subject: INVITATION_SUBJECT.to_owned(),
        text,
        html: None,
    })
}

/// "Your Gatehouse password was set", at `when` (Unix seconds).
pub fn password_set(
    templates: &Templates,
    to: EmailAddress,
    user: &User,
    when: i64,
) -> Result<Email, RenderError> {
    let text = templates.render(
        "email/password_set.txt",
        context! {
            name => greeting_name(user),
            username => &user.username,
            when => written_time(when),
        },
    )?;
    Ok(Email {
        to,
        subject: PASSWORD_SET_SUBJECT.to_owned(),
        text,
        html: None,
    })
}

fn greeting_name(user: &User) -> &str {
    user.given_name
        .as_deref()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or(&user.username)
}

/// `unix` as "29 November 2026, 10:15 UTC".
fn written_time(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| {
            at.format(format_description!(
                "[day padding:none] [month repr:long] [year], [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| "a date too far to write".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SecretString;

    fn user(given_name: Option<&str>) -> User {
        User {
            given_name: given_name.map(str::to_owned),
            ..crate::db::users::unsaved("buffy")
        }
    }

    fn templates() -> Templates {
        Templates::new().unwrap()
    }

    fn address() -> EmailAddress {
        EmailAddress::parse("buffy@example.com").unwrap()
    }

    // 2026-11-29 10:15:00 UTC.
    const EXPIRES: i64 = 1_795_947_300;

    #[test]
    fn the_invitation_greets_by_name_and_carries_the_link_and_its_expiry() {
        let link = IssuedLink {
            url: SecretString::from("https://id.example.com/password/set?token=abc_DEF-123&x=<b>"),
            expires_at: EXPIRES,
        };
        let email = invitation(
            &templates(),
            address(),
            &user(Some("Buffy")),
            "https://id.example.com",
            &link,
        )
        .unwrap();
        assert_eq!(email.subject, "Set your Gatehouse password");
        assert_eq!(email.to, address());
        assert!(email.text.starts_with("Hello Buffy,\n"), "{}", email.text);
        assert!(email.text.contains("Your username is: buffy"));
        // Plain text: the link is not HTML-escaped.
        assert!(
            email
                .text
                .contains("\nhttps://id.example.com/password/set?token=abc_DEF-123&x=<b>\n"),
            "{}",
            email.text
        );
        assert!(
            email.text.contains("until 29 November 2026, 10:15 UTC."),
            "{}",
            email.text
        );
        assert!(email.html.is_none());
    }

    #[test]
    fn the_confirmation_says_when_and_greets_by_username_without_a_given_name() {
        let email = password_set(&templates(), address(), &user(None), EXPIRES).unwrap();
        assert_eq!(email.subject, "Your Gatehouse password was set");
        assert!(email.text.starts_with("Hello buffy,\n"), "{}", email.text);
        assert!(
            email
                .text
                .contains("account buffy was set on 29 November 2026, 10:15 UTC."),
            "{}",
            email.text
        );
        assert!(!email.text.contains("token"));
    }
}
