//! Notifications (DESIGN.md, "Notifications"): email behind the [`Mailer`]
//! trait, with three senders.
//!
//! | module | sender |
//! | --- | --- |
//! | [`outbox`] | [`Outbox`]: one JSON file per message in a directory, and a log line (development, the default) |
//! | [`smtp`] | [`Smtp`]: an SMTP relay through lettre, over TLS |
//! | [`captured`] | [`Captured`]: kept in memory, for tests |
//!
//! Decisions:
//! - A trait object at this edge (STYLE.md "State"): the transport is chosen by
//!   the config at start-up, and tests swap in [`Captured`].
//! - [`Mailer::send`] answers a [`Delivery`] saying where the message went,
//!   so the command line can show the operator the outbox file to open.
//! - Emails carry single-use links, so [`Email`]'s `Debug` and every log line
//!   show the recipient and subject only, never the body.
//! - Sending is awaited by the caller (no queue yet): a failed send is an
//!   error the caller decides about (the CLI reports it; a confirmation email
//!   that fails after the password is set is only logged).

pub mod captured;
pub mod outbox;
pub mod smtp;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::{Config, EmailTransport};
use crate::domain::EmailAddress;

pub use captured::Captured;
pub use outbox::Outbox;
pub use smtp::Smtp;

/// One message to one person. The `From` is the sender's (from the config).
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    pub to: EmailAddress,
    pub subject: String,
    /// The plain-text body; every email has one.
    pub text: String,
    /// An HTML alternative, when the template has one.
    pub html: Option<String>,
}

/// Recipient and subject only: bodies hold links that must not reach a log.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("to", &self.to.as_str())
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Where a sent message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the SMTP relay.
    Relayed,
    /// Written to this file by the outbox.
    Written(PathBuf),
    /// Kept in memory by [`Captured`].
    Captured,
}

/// Sends emails.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, email: &Email) -> Result<Delivery, NotifyError>;
}

/// The mailer as the application holds it.
pub type SharedMailer = Arc<dyn Mailer>;

/// Why a message could not be sent. `Display` is safe to show; the cause
/// (which may name a host or a path, never a password) is the source.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("the email could not be written to the outbox")]
    Outbox(#[source] std::io::Error),
    #[error("the email could not be encoded")]
    Encode(#[source] serde_json::Error),
    #[error("the email could not be built")]
    Message(#[source] lettre::error::Error),
    #[error("an email address is not valid")]
    Address(#[source] lettre::address::AddressError),
    #[error("the email could not be sent")]
    Smtp(#[source] lettre::transport::smtp::Error),
    /// `email.smtp_url` is missing or unusable; the text names the key.
    #[error("email configuration: {0}")]
    Config(String),
}

/// The mailer `config.email` describes: the outbox (default) or SMTP.
pub fn from_config(config: &Config, clock: SharedClock) -> Result<SharedMailer, NotifyError> {
    let email = &config.email;
    match email.transport {
        EmailTransport::Outbox => Ok(Arc::new(Outbox::new(
            email.outbox_dir.clone(),
            &email.from,
            clock,
        ))),
        EmailTransport::Smtp => {
            let url = config
                .email_smtp_url()
                .map_err(|e| NotifyError::Config(e.to_string()))?
                .ok_or_else(|| NotifyError::Config("email.smtp_url is not set".to_owned()))?;
            Ok(Arc::new(Smtp::new(&url, &email.from)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn email() -> Email {
        Email {
            to: EmailAddress::parse("buffy@example.com").unwrap(),
            subject: "Set your Gatehouse password".into(),
            text: "https://id.example.com/password/set?token=SECRET".into(),
            html: Some("<a href=\"…?token=SECRET\">".into()),
        }
    }

    #[test]
    fn debug_shows_recipient_and_subject_but_never_the_body() {
        let shown = format!("{:?}", email());
        assert!(shown.contains("buffy@example.com"), "{shown}");
        assert!(shown.contains("Set your Gatehouse password"), "{shown}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[tokio::test]
    async fn the_default_config_writes_to_the_outbox_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.email.outbox_dir = dir.path().join("outbox");
        let mailer = from_config(&config, Arc::new(ManualClock::starting_now())).unwrap();
        let delivery = mailer.send(&email()).await.unwrap();
        let Delivery::Written(path) = delivery else {
            panic!("expected a file, got {delivery:?}");
        };
        assert!(path.starts_with(dir.path().join("outbox")), "{path:?}");
    }

    #[test]
    fn smtp_without_a_url_is_a_config_error() {
        let mut config = Config::default();
        config.email.transport = EmailTransport::Smtp;
        let err = from_config(&config, Arc::new(ManualClock::starting_now()))
            .err()
            .expect("no URL, no mailer");
        assert!(err.to_string().contains("email.smtp_url"), "{err}");
    }
}
