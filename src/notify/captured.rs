//! A mailer that keeps every message in memory, for tests: they read what a
//! person would have received instead of parsing files or running a server.

use std::sync::Mutex;

use super::{Delivery, Email, Mailer, NotifyError};

/// Keeps sent messages, oldest first.
#[derive(Default)]
pub struct Captured {
    sent: Mutex<Vec<Email>>,
}

impl Captured {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent so far, oldest first.
    pub fn sent(&self) -> Vec<Email> {
        self.lock().clone()
    }

    /// The messages sent so far to `to`, oldest first.
    pub fn sent_to(&self, to: &str) -> Vec<Email> {
        self.lock()
            .iter()
            .filter(|email| email.to.as_str() == to)
            .cloned()
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Email>> {
        // A test that panicked while holding the lock left whole messages.
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl Mailer for Captured {
    async fn send(&self, email: &Email) -> Result<Delivery, NotifyError> {
        self.lock().push(email.clone());
        Ok(Delivery::Captured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EmailAddress;

    fn email(to: &str, subject: &str) -> Email {
        Email {
            to: EmailAddress::parse(to).unwrap(),
            subject: subject.into(),
            text: format!("{subject} body"),
            html: None,
        }
    }

    #[tokio::test]
    async fn sent_messages_are_kept_in_order_and_found_by_recipient() {
        let mailer = Captured::new();
        assert!(mailer.sent().is_empty());
        for (to, subject) in [
            ("buffy@example.com", "first"),
            ("willow@example.com", "second"),
            ("buffy@example.com", "third"),
        ] {
            assert_eq!(
                mailer.send(&email(to, subject)).await.unwrap(),
                Delivery::Captured
            );
        }
        let subjects: Vec<_> = mailer.sent().into_iter().map(|e| e.subject).collect();
        assert_eq!(subjects, ["first", "second", "third"]);
        let to_buffy: Vec<_> = mailer
            .sent_to("buffy@example.com")
            .into_iter()
            .map(|e| e.text)
            .collect();
        assert_eq!(to_buffy, ["first body", "third body"]);
    }
}
