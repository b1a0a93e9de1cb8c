//! `gatehouse org create`.

use clap::Subcommand;

use super::{CliError, Output, audit};
use crate::clock::{Clock as _, SystemClock};
use crate::db::Db;
use crate::db::organisations::{NewOrganisation, insert_organisation};
use crate::domain::EmailAddress;

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation.
    Create {
        #[arg(long)]
        name: String,
        /// Name of its web account manager.
        #[arg(long)]
        manager_name: Option<String>,
        /// Email address of its web account manager.
        #[arg(long)]
        manager_email: Option<String>,
    },
}

pub async fn run(cmd: OrgCommand, db: &Db, out: &Output) -> Result<(), CliError> {
    let OrgCommand::Create {
        name,
        manager_name,
        manager_email,
    } = cmd;
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(CliError::Invalid("--name: 1 to 200 characters".into()));
    }
    let manager_email = manager_email
        .map(|e| {
            EmailAddress::parse(&e)
                .map_err(|err| CliError::Invalid(format!("--manager-email: {err}")))
        })
        .transpose()?;
    let org = insert_organisation(
        db,
        NewOrganisation {
            name: name.clone(),
            address: None,
            registration_number: None,
            manager_name,
            manager_email: manager_email.map(|e| e.as_str().to_owned()),
        },
        SystemClock.unix(),
    )
    .await?;
    audit(
        db,
        "org.created",
        None,
        Some(org.id),
        None,
        serde_json::json!({ "name": name }),
    )
    .await?;
    out.emit(
        &serde_json::json!({ "id": org.id, "name": org.name }),
        &format!("organisation {} created ({})", org.name, org.id),
    );
    Ok(())
}
