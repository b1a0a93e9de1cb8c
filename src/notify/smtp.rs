//! Email through an SMTP relay (RFC 5321), with lettre.
//!
//! Decisions:
//! - The relay is one URL, `email.smtp_url` (lettre's connection URL):
//!   `smtps://user:password@host:465` for TLS from the first byte (RFC 8314,
//!   preferred), or `smtp://…:587?tls=required` for STARTTLS. The config
//!   refuses plain `smtp://` except to a relay on this machine, since the
//!   credentials and the links would cross the network in clear.
//! - rustls with the webpki roots, not OpenSSL: no system certificate store
//!   is needed in a container.
//! - A pooled, async transport shared by every request; each send waits at
//!   most [`TIMEOUT`], so a dead relay cannot hold a request for minutes.
//! - A message with an HTML body is `multipart/alternative` with the text
//!   first (RFC 2046 §5.1.4: the last part is the preferred one).

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use super::{Delivery, Email, Mailer, NotifyError};
use crate::domain::SecretString;

/// Longest wait for the relay on each step of a send.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends through the relay named by a connection URL.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    /// A transport for `url`; nothing is connected until the first send.
    /// Call it inside the Tokio runtime: the pool starts its idle-connection
    /// reaper as a task.
    pub fn new(url: &SecretString, from: &str) -> Result<Self, NotifyError> {
        let from: Mailbox = from.parse().map_err(NotifyError::Address)?;
        // The annotation picks the executor (lettre's builder is generic over it).
        let transport: AsyncSmtpTransport<Tokio1Executor> =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                .map_err(NotifyError::Smtp)?
                .timeout(Some(TIMEOUT))
                .build();
        Ok(Self { transport, from })
    }

    /// The RFC 5322 message for `email`, from the configured sender.
    fn message(&self, email: &Email) -> Result<Message, NotifyError> {
        let to = Mailbox::new(
            None,
            email.to.as_str().parse().map_err(NotifyError::Address)?,
        );
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.as_str());
        match &email.html {
            None => builder.singlepart(SinglePart::plain(email.text.clone())),
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                html.clone(),
            )),
        }
        .map_err(NotifyError::Message)
    }
}

#[async_trait::async_trait]
impl Mailer for Smtp {
    async fn send(&self, email: &Email) -> Result<Delivery, NotifyError> {
        let message = self.message(email)?;
        self.transport
            .send(message)
            .await
            .map_err(NotifyError::Smtp)?;
        tracing::info!(to = %email.to, subject = %email.subject, "email sent");
        Ok(Delivery::Relayed)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    use tokio::net::TcpListener;

    use super::*;
    use crate::domain::EmailAddress;

    fn invitation(html: Option<&str>) -> Email {
        Email {
            to: EmailAddress::parse("buffy@example.com").unwrap(),
            subject: "Set your Gatehouse password".into(),
            text: "Open http://localhost:8080/password/set?token=abc within 7 days.".into(),
            html: html.map(str::to_owned),
        }
    }

    /// Speaks just enough SMTP to accept one message; answers with what the
    /// client sent: the envelope commands, then the message itself.
    async fn fake_relay() -> (String, tokio::task::JoinHandle<(Vec<String>, String)>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
            let mut commands = Vec::new();
            let mut data: Option<String> = None;
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(body) = data.as_mut() {
                    if line == "." {
                        write.write_all(b"250 queued\r\n").await.unwrap();
                        return (commands, data.unwrap_or_default());
                    }
                    body.push_str(&line);
                    body.push('\n');
                    continue;
                }
                let reply: &[u8] = if line.starts_with("EHLO") {
                    b"250-fake\r\n250 8BITMIME\r\n"
                } else if line == "DATA" {
                    data = Some(String::new());
                    b"354 go ahead\r\n"
                } else {
                    b"250 ok\r\n"
                };
                commands.push(line);
                write.write_all(reply).await.unwrap();
            }
            panic!("the client left before sending a message");
        });
        (url, task)
    }

    #[tokio::test]
    async fn a_message_reaches_the_relay_with_its_envelope_subject_and_link() {
        let (url, relay) = fake_relay().await;
        let smtp = Smtp::new(&SecretString::from(url), "Gatehouse <no-reply@localhost>").unwrap();

        let delivery = smtp.send(&invitation(None)).await.unwrap();

        assert_eq!(delivery, Delivery::Relayed);
        let (commands, message) = relay.await.unwrap();
        assert!(
            commands.contains(&"MAIL FROM:<no-reply@localhost>".to_owned()),
            "{commands:?}"
        );
        assert!(
            commands.contains(&"RCPT TO:<buffy@example.com>".to_owned()),
            "{commands:?}"
        );
        assert!(
            message.contains("Subject: Set your Gatehouse password"),
            "{message}"
        );
        assert!(message.contains("To: buffy@example.com"), "{message}");
        assert!(message.contains("password/set?token=abc"), "{message}");
    }

    #[tokio::test]
    async fn an_html_body_makes_a_multipart_alternative_with_the_text_first() {
        let smtp = Smtp::new(
            &SecretString::from("smtps://u:p@relay.example.com"),
            "no-reply@example.com",
        )
        .unwrap();
        let message = smtp
            .message(&invitation(Some("<p>Open the link</p>")))
            .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(raw.contains("multipart/alternative"), "{raw}");
        let text_at = raw.find("text/plain").unwrap();
        let html_at = raw.find("text/html").unwrap();
        assert!(text_at < html_at, "{raw}");
    }

    #[test]
    fn a_bad_relay_url_is_refused_without_echoing_it() {
        let err = Smtp::new(
            &SecretString::from("ftp://mailer:hunter2@relay.example.com"),
            "no-reply@example.com",
        )
        .err()
        .expect("ftp is no relay");
        assert!(matches!(err, NotifyError::Smtp(_)), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn an_unreachable_relay_is_an_smtp_error() {
        // A port that was free a moment ago: nothing listens there now.
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let smtp = Smtp::new(
            &SecretString::from(format!("smtp://127.0.0.1:{port}")),
            "no-reply@example.com",
        )
        .unwrap();
        let err = smtp.send(&invitation(None)).await.unwrap_err();
        assert!(matches!(err, NotifyError::Smtp(_)), "{err:?}");
        assert_eq!(err.to_string(), "the email could not be sent");
    }
}
