//! `gatehouse client create | list | delete`.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Subcommand;

use super::{CliError, Output, audit};
use crate::clock::{Clock as _, SystemClock};
use crate::config::ClientSpec;
use crate::db::Db;
use crate::db::clients::ClientRecord;
use crate::domain::SecretString;
use crate::oidc::register_client;

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per process")]
pub enum ClientCommand {
    /// Register a relying party. A secret is generated and printed once when
    /// the method needs one and none is given.
    Create {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        /// At least 32 characters.
        #[arg(long)]
        secret: Option<String>,
        #[arg(long = "redirect-uri", num_args = 1..)]
        redirect_uris: Vec<String>,
        /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` or `none`.
        #[arg(long)]
        auth_method: Option<String>,
        /// `authorization_code` (default), `refresh_token`, `client_credentials`,
        /// `urn:ietf:params:oauth:grant-type:device_code`.
        #[arg(long = "grant-type", num_args = 1..)]
        grant_types: Vec<String>,
        /// Scopes the client may ask for [default: the standard OIDC scopes and `offline_access`].
        #[arg(long = "scope", num_args = 1..)]
        scopes: Vec<String>,
        #[arg(long = "post-logout-redirect-uri", num_args = 1..)]
        post_logout_redirect_uris: Vec<String>,
        /// A first-party client skips the consent page.
        #[arg(long)]
        first_party: bool,
        /// Require PKCE even though the client is confidential.
        #[arg(long)]
        require_pkce: bool,
        /// Require pushed authorization requests (RFC 9126).
        #[arg(long)]
        require_par: bool,
        /// jwt (default) or opaque access tokens.
        #[arg(long)]
        access_token_format: Option<String>,
        /// `RS256` (default), `ES256` or `EdDSA`.
        #[arg(long)]
        id_token_signed_response_alg: Option<String>,
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        /// The client's public keys, for `private_key_jwt`.
        #[arg(long)]
        jwks_file: Option<PathBuf>,
    },
    /// List registered clients.
    List,
    /// Delete a client; its tokens stop working.
    Delete {
        #[arg(long)]
        client_id: String,
    },
}

pub async fn run(cmd: ClientCommand, db: &Db, out: &Output) -> Result<(), CliError> {
    match cmd {
        ClientCommand::Create {
            client_id,
            name,
            secret,
            redirect_uris,
            auth_method,
            grant_types,
            scopes,
            post_logout_redirect_uris,
            first_party,
            require_pkce,
            require_par,
            access_token_format,
            id_token_signed_response_alg,
            backchannel_logout_uri,
            jwks_file,
        } => {
            let spec = ClientSpec {
                client_id,
                name,
                secret: secret.map(SecretString::from),
                redirect_uris,
                post_logout_redirect_uris,
                auth_method,
                grant_types,
                scopes,
                first_party,
                require_pkce,
                require_par,
                access_token_format,
                id_token_signed_response_alg,
                backchannel_logout_session_required: backchannel_logout_uri.is_some(),
                backchannel_logout_uri,
                jwks_file,
                ..ClientSpec::default()
            };
            let registered = register_client(&spec, SystemClock.unix())?;
            crate::db::clients::insert_client(db, &registered.record).await?;
            let record = &registered.record;
            audit(
                db,
                "client.created",
                None,
                None,
                Some(&record.client_id),
                serde_json::json!({ "auth_method": record.auth_method, "grant_types": record.grant_types }),
            )
            .await?;
            let mut value = describe(record);
            let mut text = format!("client {} created", record.client_id);
            if let Some(secret) = &registered.generated_secret {
                value["client_secret"] = secret.expose().into();
                let _ = write!(
                    text,
                    "\nclient_secret: {}\n(shown once: it is stored hashed and cannot be recovered)",
                    secret.expose()
                );
            }
            out.emit(&value, &text);
        }
        ClientCommand::List => {
            let clients = crate::db::clients::find_clients(db).await?;
            let value = serde_json::Value::Array(clients.iter().map(describe).collect());
            let mut text = format!("{} client(s)", clients.len());
            for c in &clients {
                let _ = write!(
                    text,
                    "\n  {:<24} {:<20} {}",
                    c.client_id,
                    c.auth_method,
                    c.redirect_uris.join(" ")
                );
            }
            out.emit(&value, &text);
        }
        ClientCommand::Delete { client_id } => {
            if !crate::db::clients::delete_client(db, &client_id).await? {
                return Err(CliError::Invalid(format!(
                    "--client-id: no client {client_id:?}"
                )));
            }
            audit(
                db,
                "client.deleted",
                None,
                None,
                Some(&client_id),
                serde_json::json!({}),
            )
            .await?;
            out.emit(
                &serde_json::json!({ "deleted": client_id }),
                &format!("client {client_id} deleted"),
            );
        }
    }
    Ok(())
}

/// A client as shown to an operator: never its secret hash.
fn describe(c: &ClientRecord) -> serde_json::Value {
    serde_json::json!({
        "client_id": c.client_id,
        "name": c.name,
        "auth_method": c.auth_method,
        "grant_types": c.grant_types,
        "scopes": c.scopes,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "first_party": c.first_party,
        "require_pkce": c.require_pkce,
        "require_par": c.require_par,
        "access_token_format": c.access_token_format,
        "from_config": c.from_config,
    })
}
