//! The development outbox (DESIGN.md: "for development each has an outbox
//! that writes what would be sent to `data/outbox/` and the log").
//!
//! Decisions:
//! - One JSON file per message, `<UTC time>-<uuid>.json`: names sort by time,
//!   never collide, and the fields (`from`, `to`, `subject`, `date`, `text`,
//!   `html`) are what an SMTP message would carry, readable by a person and
//!   by a test without a MIME parser.
//! - Written under a hidden temporary name and renamed, so whoever watches
//!   the directory never reads half a message; readable by the owner only
//!   (Unix), since the files hold live links.
//! - The log line names the recipient, the subject and the file, never the
//!   body: it holds single-use links.

use std::path::{Path, PathBuf};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::{Delivery, Email, Mailer, NotifyError};
use crate::clock::SharedClock;

/// Writes each message to a file in a directory (created when missing).
pub struct Outbox {
    dir: PathBuf,
    from: String,
    clock: SharedClock,
}

/// The file's shape.
#[derive(Serialize)]
struct Written<'a> {
    from: &'a str,
    to: &'a str,
    subject: &'a str,
    date: String,
    text: &'a str,
    html: Option<&'a str>,
}

impl Outbox {
    pub fn new(dir: PathBuf, from: &str, clock: SharedClock) -> Self {
        Self {
            dir,
            from: from.to_owned(),
            clock,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    async fn write(&self, email: &Email) -> Result<PathBuf, NotifyError> {
        let now = self.clock.now();
        let stamp = now
            .format(format_description!(
                "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
            ))
            .map_err(|e| NotifyError::Outbox(std::io::Error::other(e)))?;
        let name = format!("{stamp}-{}.json", uuid::Uuid::new_v4());
        let body = serde_json::to_vec_pretty(&Written {
            from: &self.from,
            to: email.to.as_str(),
            subject: &email.subject,
            date: now
                .format(&Rfc3339)
                .map_err(|e| NotifyError::Outbox(std::io::Error::other(e)))?,
            text: &email.text,
            html: email.html.as_deref(),
        })
        .map_err(NotifyError::Encode)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(NotifyError::Outbox)?;
        let partial = self.dir.join(format!(".{name}.partial"));
        let path = self.dir.join(name);
        write_private(&partial, &body)
            .await
            .map_err(NotifyError::Outbox)?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(NotifyError::Outbox)?;
        Ok(path)
    }
}

#[async_trait::async_trait]
impl Mailer for Outbox {
    async fn send(&self, email: &Email) -> Result<Delivery, NotifyError> {
        let path = self.write(email).await?;
        tracing::info!(
            to = %email.to,
            subject = %email.subject,
            file = %path.display(),
            "email written to outbox"
        );
        Ok(Delivery::Written(path))
    }
}

/// Creates `path` readable and writable by the owner only, and fills it.
async fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt as _;

    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    file.write_all(body).await?;
    file.flush().await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::EmailAddress;

    fn outbox(dir: &Path) -> Outbox {
        let clock = ManualClock::new(time::macros::datetime!(2026-11-22 10:15:30.25 UTC));
        Outbox::new(
            dir.join("outbox"),
            "Gatehouse <no-reply@localhost>",
            Arc::new(clock),
        )
    }

    fn invitation() -> Email {
        Email {
            to: EmailAddress::parse("buffy@example.com").unwrap(),
            subject: "Set your Gatehouse password".into(),
            text: "Open http://localhost:8080/password/set?token=abc-DEF_123 within 7 days.".into(),
            html: None,
        }
    }

    fn files_in(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
    }

    #[tokio::test]
    async fn a_message_becomes_one_json_file_with_the_subject_and_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox(dir.path());

        let delivery = outbox.send(&invitation()).await.unwrap();

        let files = files_in(outbox.dir());
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(delivery, Delivery::Written(files[0].clone()));
        let name = files[0].file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("20261122T101530.250Z-"), "{name}");
        assert!(
            std::path::Path::new(name)
                .extension()
                .is_some_and(|e| e == "json"),
            "{name}"
        );
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
        assert_eq!(written["to"], "buffy@example.com");
        assert_eq!(written["from"], "Gatehouse <no-reply@localhost>");
        assert_eq!(written["subject"], "Set your Gatehouse password");
        assert_eq!(written["date"], "2026-11-22T10:15:30.25Z");
        assert!(
            written["text"]
                .as_str()
                .unwrap()
                .contains("http://localhost:8080/password/set?token=abc-DEF_123")
        );
        assert_eq!(written["html"], serde_json::Value::Null);
    }

    #[tokio::test]
    async fn each_message_gets_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox(dir.path());
        outbox.send(&invitation()).await.unwrap();
        outbox.send(&invitation()).await.unwrap();
        assert_eq!(files_in(outbox.dir()).len(), 2);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;

        let dir = tempfile::tempdir().unwrap();
        let outbox = outbox(dir.path());
        let Delivery::Written(path) = outbox.send(&invitation()).await.unwrap() else {
            panic!("the outbox writes files");
        };
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[tokio::test]
    async fn an_unwritable_directory_is_an_outbox_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("outbox");
        std::fs::write(&blocker, "a file where the directory should be").unwrap();
        let err = outbox(dir.path()).send(&invitation()).await.unwrap_err();
        assert!(matches!(err, NotifyError::Outbox(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the email could not be written to the outbox"
        );
    }
}
