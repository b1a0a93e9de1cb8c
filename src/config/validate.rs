//! The checks no type can make: URLs, ranges, secrets read from files.

use base64::Engine as _;

use super::{Config, ConfigError, EmailTransport};
use crate::domain::SecretString;

impl Config {
    pub(super) fn validated(mut self) -> Result<Self, ConfigError> {
        self.issuer = validate_issuer(&self.issuer)?;
        validate_database_url(&self.database.url)?;
        if self.database.max_connections == Some(0) {
            return Err(ConfigError::new(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        validate_store_url(&self.store.url)?;
        self.keys_encryption_key()?;
        if self.keys.reload_seconds == 0 {
            return Err(ConfigError::new(
                "keys.reload_seconds",
                "must be at least 1",
            ));
        }
        let t = &self.tokens;
        for (key, value, max) in [
            (
                "tokens.access_token_seconds",
                t.access_token_seconds,
                86_400,
            ),
            ("tokens.id_token_seconds", t.id_token_seconds, 86_400),
            (
                "tokens.refresh_token_seconds",
                t.refresh_token_seconds,
                365 * 86_400,
            ),
            (
                "tokens.authorization_code_seconds",
                t.authorization_code_seconds,
                600,
            ),
            (
                "session.lifetime_seconds",
                self.session.lifetime_seconds,
                30 * 86_400,
            ),
        ] {
            if value == 0 || value > max {
                return Err(ConfigError::new(
                    key,
                    format!("must be between 1 and {max} seconds"),
                ));
            }
        }
        if self.session.starts_per_address_per_minute == 0 {
            return Err(ConfigError::new(
                "session.starts_per_address_per_minute",
                "must be at least 1",
            ));
        }
        if !matches!(t.access_token_alg.as_str(), "ES256" | "RS256" | "EdDSA") {
            return Err(ConfigError::new(
                "tokens.access_token_alg",
                "must be ES256, RS256 or EdDSA",
            ));
        }
        let p = &self.password;
        if p.parallelism == 0 || p.iterations == 0 || p.memory_kib < 8 * p.parallelism {
            return Err(ConfigError::new(
                "password",
                "argon2 needs iterations ≥ 1, parallelism ≥ 1 and memory_kib ≥ 8 × parallelism",
            ));
        }
        validate_email_from(&self.email.from)?;
        let smtp_url = self.email_smtp_url()?;
        if self.email.transport == EmailTransport::Smtp && smtp_url.is_none() {
            return Err(ConfigError::new(
                "email.smtp_url",
                "is required when email.transport is smtp",
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(ConfigError::new("log.format", "must be text or json"));
        }
        if self.log.filter().is_err() {
            return Err(ConfigError::new("log.level", "is not a valid log filter"));
        }
        for (i, client) in self.clients.iter().enumerate() {
            if client.client_id.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("clients[{i}].client_id"),
                    "is required",
                ));
            }
        }
        Ok(self)
    }

    /// The key that encrypts signing keys at rest, read from the value or its file.
    pub fn keys_encryption_key(&self) -> Result<Option<[u8; 32]>, ConfigError> {
        let (key, text) = match (&self.keys.encryption_key, &self.keys.encryption_key_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "keys.encryption_key",
                    "set either the key or encryption_key_file, not both",
                ));
            }
            (Some(secret), None) => ("keys.encryption_key", secret.expose().to_owned()),
            (None, Some(path)) => (
                "keys.encryption_key_file",
                std::fs::read_to_string(path).map_err(|e| {
                    ConfigError::new(
                        "keys.encryption_key_file",
                        format!("{}: {e}", path.display()),
                    )
                })?,
            ),
            (None, None) => return Ok(None),
        };
        let text = text.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| ConfigError::new(key, "must be base64"))?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(Some)
            .map_err(|_| {
                ConfigError::new(
                    key,
                    "must decode to exactly 32 bytes (openssl rand -base64 32)",
                )
            })
    }

    /// The SMTP relay URL, read from the value or its file; checked to be an
    /// `smtp://` or `smtps://` URL with a host. Errors never echo the URL,
    /// which holds the relay's password.
    pub fn email_smtp_url(&self) -> Result<Option<SecretString>, ConfigError> {
        let (key, url) = match (&self.email.smtp_url, &self.email.smtp_url_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "email.smtp_url",
                    "set either the URL or smtp_url_file, not both",
                ));
            }
            (Some(url), None) => ("email.smtp_url", url.expose().trim().to_owned()),
            (None, Some(path)) => (
                "email.smtp_url_file",
                std::fs::read_to_string(path)
                    .map_err(|e| {
                        ConfigError::new("email.smtp_url_file", format!("{}: {e}", path.display()))
                    })?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => return Ok(None),
        };
        let parsed = url::Url::parse(&url)
            .map_err(|_| ConfigError::new(key, "is not a URL (smtps://user:password@host:465)"))?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") || parsed.host_str().is_none() {
            return Err(ConfigError::new(
                key,
                "must be smtps://user:password@host:465 or smtp://host:587?tls=required",
            ));
        }
        let starttls = parsed
            .query_pairs()
            .any(|(name, value)| name == "tls" && value == "required");
        let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if parsed.scheme() == "smtp" && !starttls && !loopback {
            return Err(ConfigError::new(
                key,
                "plain smtp:// is allowed only for localhost: use smtps:// or add ?tls=required",
            ));
        }
        Ok(Some(SecretString::from(url)))
    }

    /// The longest life of anything a signing key signs: a retired key stays
    /// published this long.
    pub fn longest_token_seconds(&self) -> u64 {
        self.tokens
            .access_token_seconds
            .max(self.tokens.id_token_seconds)
    }
}

fn validate_issuer(issuer: &str) -> Result<String, ConfigError> {
    let key = "issuer";
    let trimmed = issuer.trim_end_matches('/');
    let url =
        url::Url::parse(trimmed).map_err(|e| ConfigError::new(key, format!("not a URL: {e}")))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(ConfigError::new(
            key,
            "must have no query, fragment or user info (RFC 8414 §2)",
        ));
    }
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(ConfigError::new(
                key,
                "must use https (http is allowed only for localhost)",
            ));
        }
        other => {
            return Err(ConfigError::new(
                key,
                format!("scheme {other} is not https"),
            ));
        }
    }
    Ok(trimmed.to_owned())
}

fn validate_email_from(from: &str) -> Result<(), ConfigError> {
    from.parse::<lettre::message::Mailbox>()
        .map(drop)
        .map_err(|_| {
            ConfigError::new(
                "email.from",
                "must be an address, optionally with a name: \"Gatehouse <no-reply@example.com>\"",
            )
        })
}

fn validate_database_url(url: &str) -> Result<(), ConfigError> {
    if url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://")
    {
        Ok(())
    } else {
        Err(ConfigError::new(
            "database.url",
            "must start with sqlite:, postgres:// or postgresql://",
        ))
    }
}

fn validate_store_url(url: &str) -> Result<(), ConfigError> {
    if matches!(url, "memory" | "memory://")
        || url.starts_with("redis://")
        || url.starts_with("rediss://")
    {
        Ok(())
    } else {
        Err(ConfigError::new(
            "store.url",
            "must be memory:// or redis://host:port",
        ))
    }
}
