//! `gatehouse keys rotate` and `gatehouse keys list`.

use std::fmt::Write as _;

use clap::Subcommand;

use super::{CliError, Output, audit};
use crate::app::key_settings;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::db::Db;
use crate::keys::{Alg, KeyInfo};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new key (for every algorithm, or one) that starts signing after
    /// the configured overlap; the current key retires then.
    Rotate {
        /// `RS256`, `ES256` or `EdDSA` [default: all three].
        #[arg(long)]
        alg: Option<Alg>,
    },
    /// Show every key and its state.
    List,
}

pub async fn run(cmd: KeysCommand, config: &Config, db: &Db, out: &Output) -> Result<(), CliError> {
    let settings = key_settings(config)?;
    // Gives a fresh installation its first keys, exactly as `serve` would,
    // and proves the stored keys decrypt with the configured key.
    crate::keys::KeyRing::load(db, std::sync::Arc::new(SystemClock), settings.clone()).await?;
    match cmd {
        KeysCommand::Rotate { alg } => {
            let added = crate::keys::rotate(db, &SystemClock, &settings, alg).await?;
            for key in &added {
                audit(
                    db,
                    "keys.rotated",
                    None,
                    None,
                    None,
                    serde_json::json!({ "kid": key.kid, "alg": key.alg, "activates_at": key.activates_at }),
                )
                .await?;
            }
            emit_keys(out, &added, "added");
        }
        KeysCommand::List => {
            let keys = crate::keys::list(db, &SystemClock, &settings).await?;
            emit_keys(out, &keys, "keys");
        }
    }
    Ok(())
}

fn emit_keys(out: &Output, keys: &[KeyInfo], title: &str) {
    let value = serde_json::to_value(keys).unwrap_or_default();
    let mut text = format!("{title}:");
    for key in keys {
        let _ = write!(
            text,
            "\n  {:<6} {:<24} {:<9} activates_at={}",
            key.alg.as_str(),
            key.kid,
            serde_json::to_value(key.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            key.activates_at
        );
    }
    out.emit(&value, &text);
}
