//! `gatehouse user create [--invite] | enforce-mfa | set-role`.

use clap::{Subcommand, ValueEnum};

use super::{CliError, Output, audit};
use crate::clock::{Clock as _, SystemClock};
use crate::config::Config;
use crate::db::Db;
use crate::db::users::{Authentication, NewUser};
use crate::domain::{EmailAddress, PhoneNumber, SecretString, Username};
use crate::notify::Delivery;
use crate::security::password_hash::PasswordHasher;
use crate::security::password_policy::check_password;

/// Roles an operator may grant.
pub const ROLES: &[&str] = &["security_manager"];

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user account.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// International format, e.g. +33612345678.
        #[arg(long)]
        phone: Option<String>,
        /// Name of the user's organisation.
        #[arg(long)]
        org: Option<String>,
        /// Initial password (checked against the password policy).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the initial password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Create the account without a password and email the user a link to
        /// choose one (valid 7 days), through the configured `[email]` transport.
        #[arg(long, conflicts_with_all = ["password", "password_stdin"])]
        invite: bool,
        #[arg(long)]
        given_name: Option<String>,
        #[arg(long)]
        family_name: Option<String>,
        #[arg(long, value_enum)]
        title: Option<Title>,
    },
    /// Require (or with --off, stop requiring) a second factor for one of the
    /// user's authentications.
    EnforceMfa {
        #[arg(long)]
        username: String,
        #[arg(long, value_enum)]
        authentication: AuthenticationArg,
        #[arg(long)]
        off: bool,
    },
    /// Grant a role (or with --remove, take it back).
    SetRole {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        remove: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Title {
    Mr,
    Mrs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AuthenticationArg {
    Console,
    Api,
}

pub async fn run(cmd: UserCommand, config: &Config, db: &Db, out: &Output) -> Result<(), CliError> {
    match cmd {
        UserCommand::Create {
            username,
            email,
            phone,
            org,
            password,
            password_stdin,
            invite,
            given_name,
            family_name,
            title,
        } => {
            let password = match (password, password_stdin) {
                (Some(p), _) => Some(p),
                (None, true) => Some(read_stdin_line()?),
                (None, false) => None,
            };
            let input = CreateUser {
                username,
                email,
                phone,
                org,
                password: password.map(SecretString::from),
                invite,
                given_name,
                family_name,
                title: title.map(|t| match t {
                    Title::Mr => "mr",
                    Title::Mrs => "mrs",
                }),
            };
            create(input, config, db, out).await
        }
        UserCommand::EnforceMfa {
            username,
            authentication,
            off,
        } => enforce_mfa(db, out, &username, authentication, off).await,
        UserCommand::SetRole {
            username,
            role,
            remove,
        } => set_role(db, out, &username, &role, remove).await,
    }
}

async fn enforce_mfa(
    db: &Db,
    out: &Output,
    username: &str,
    authentication: AuthenticationArg,
    off: bool,
) -> Result<(), CliError> {
    let user = find(db, username).await?;
    let (which, name) = match authentication {
        AuthenticationArg::Console => (Authentication::Console, "console"),
        AuthenticationArg::Api => (Authentication::Api, "api"),
    };
    crate::db::users::update_mfa_enforcement(db, user.id, which, !off, SystemClock.unix()).await?;
    let kind = if off { "mfa.lifted" } else { "mfa.enforced" };
    audit(
        db,
        kind,
        Some(user.id),
        user.org_id,
        None,
        serde_json::json!({ "authentication": name }),
    )
    .await?;
    out.emit(
        &serde_json::json!({ "username": user.username, "authentication": name, "mfa": !off }),
        &format!(
            "MFA {} for {}'s {name} authentication",
            if off {
                "no longer required"
            } else {
                "required"
            },
            user.username
        ),
    );
    Ok(())
}

async fn set_role(
    db: &Db,
    out: &Output,
    username: &str,
    role: &str,
    remove: bool,
) -> Result<(), CliError> {
    if !ROLES.contains(&role) {
        return Err(CliError::Invalid(format!(
            "--role: must be one of {}",
            ROLES.join(", ")
        )));
    }
    let user = find(db, username).await?;
    if remove {
        crate::db::users::delete_role(db, user.id, role).await?;
    } else {
        crate::db::users::insert_role(db, user.id, role).await?;
    }
    let kind = if remove {
        "role.removed"
    } else {
        "role.granted"
    };
    audit(
        db,
        kind,
        Some(user.id),
        user.org_id,
        None,
        serde_json::json!({ "role": role }),
    )
    .await?;
    let roles = crate::db::users::find_roles(db, user.id).await?;
    let listed = if roles.is_empty() {
        "none".to_owned()
    } else {
        roles.join(", ")
    };
    out.emit(
        &serde_json::json!({ "username": user.username, "roles": roles }),
        &format!("{} now has roles: {listed}", user.username),
    );
    Ok(())
}

struct CreateUser {
    username: String,
    email: String,
    phone: Option<String>,
    org: Option<String>,
    password: Option<SecretString>,
    invite: bool,
    given_name: Option<String>,
    family_name: Option<String>,
    title: Option<&'static str>,
}

async fn create(input: CreateUser, config: &Config, db: &Db, out: &Output) -> Result<(), CliError> {
    let bad = |flag: &str, e: &dyn std::fmt::Display| CliError::Invalid(format!("{flag}: {e}"));
    let username = Username::parse(&input.username).map_err(|e| bad("--username", &e))?;
    let email = EmailAddress::parse(&input.email).map_err(|e| bad("--email", &e))?;
    let phone = input
        .phone
        .as_deref()
        .map(PhoneNumber::parse)
        .transpose()
        .map_err(|e| bad("--phone", &e))?;
    for (flag, value) in [
        ("--given-name", &input.given_name),
        ("--family-name", &input.family_name),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.trim().is_empty() || v.chars().count() > 100)
        {
            return Err(CliError::Invalid(format!("{flag}: 1 to 100 characters")));
        }
    }
    let org = match &input.org {
        Some(name) => Some(
            crate::db::organisations::find_organisation_by_name(db, name)
                .await?
                .ok_or_else(|| {
                    CliError::Invalid(format!("--org: no organisation named {name:?}"))
                })?,
        ),
        None => None,
    };
    // Check the password before anything is written.
    let hash = match &input.password {
        Some(password) => {
            check_password(password.expose()).map_err(|e| bad("--password", &e))?;
            let hasher = PasswordHasher::new(config.password.hash_params(), 1)
                .map_err(|e| CliError::Invalid(e.to_string()))?;
            Some(
                hasher
                    .hash(password)
                    .await
                    .map_err(|e| CliError::Invalid(e.to_string()))?,
            )
        }
        None => None,
    };
    // A broken email setup stops the command before the account exists.
    let inviter = if input.invite {
        Some(Inviter::from_config(config)?)
    } else {
        None
    };
    let now = SystemClock.unix();
    let user = crate::db::users::insert_user(
        db,
        NewUser {
            username: username.as_str().to_owned(),
            org_id: org.as_ref().map(|o| o.id),
            title: input.title.map(str::to_owned),
            given_name: input.given_name.map(|s| s.trim().to_owned()),
            family_name: input.family_name.map(|s| s.trim().to_owned()),
            email: email.as_str().to_owned(),
            phone: phone.map(|p| p.as_str().to_owned()),
        },
        now,
    )
    .await?;
    if let Some(hash) = hash {
        crate::db::users::upsert_password_hash(db, user.id, &hash, now).await?;
    }
    audit(
        db,
        "user.created",
        Some(user.id),
        user.org_id,
        None,
        serde_json::json!({ "username": user.username, "password_set": input.password.is_some() }),
    )
    .await?;
    let delivery = match &inviter {
        Some(inviter) => Some(inviter.invite(config, db, &user).await?),
        None => None,
    };
    let json = serde_json::json!({
        "sub": user.id,
        "username": user.username,
        "email": user.email,
        "org": org.as_ref().map(|o| o.name.clone()),
        "password_set": input.password.is_some(),
    });
    report_created(out, json, &user, delivery.as_ref());
    Ok(())
}

/// Prints the new account, and where its invitation went: the outbox file
/// is what the operator opens (or forwards) in development.
fn report_created(
    out: &Output,
    mut json: serde_json::Value,
    user: &crate::db::entity::users::Model,
    delivery: Option<&Delivery>,
) {
    json["invited"] = delivery.is_some().into();
    let mut text = format!("user {} created (sub {})", user.username, user.id);
    match delivery {
        Some(Delivery::Written(path)) => {
            json["outbox_file"] = path.display().to_string().into();
            text.push_str("\ninvitation written to the outbox: ");
            text.push_str(&path.display().to_string());
        }
        Some(_) => {
            text.push_str("\ninvitation emailed to ");
            text.push_str(&user.email);
        }
        None => {}
    }
    out.emit(&json, &text);
}

/// What `--invite` needs, built from the config before anything is written.
struct Inviter {
    mailer: crate::notify::SharedMailer,
    templates: crate::web::Templates,
}

impl Inviter {
    fn from_config(config: &Config) -> Result<Self, CliError> {
        let mailer = crate::notify::from_config(config, std::sync::Arc::new(SystemClock))
            .map_err(|e| CliError::Invalid(e.to_string()))?;
        let templates =
            crate::web::Templates::new().map_err(|e| CliError::Invalid(e.to_string()))?;
        Ok(Self { mailer, templates })
    }

    /// Emails the invitation and records it in the audit log.
    async fn invite(
        &self,
        config: &Config,
        db: &Db,
        user: &crate::db::entity::users::Model,
    ) -> Result<Delivery, CliError> {
        let delivery = crate::recovery::invite(
            db,
            self.mailer.as_ref(),
            &self.templates,
            &SystemClock,
            &config.issuer,
            user,
        )
        .await
        .map_err(|e| {
            // The operator may see the cause (a refused relay, a full disk).
            CliError::Invalid(format!(
                "user {} created, but the invitation failed: {}",
                user.username,
                with_causes(&e)
            ))
        })?;
        let transport = match delivery {
            Delivery::Written(_) => "outbox",
            Delivery::Relayed => "smtp",
            Delivery::Captured => "captured",
        };
        audit(
            db,
            "user.invited",
            Some(user.id),
            user.org_id,
            None,
            serde_json::json!({ "username": user.username, "transport": transport }),
        )
        .await?;
        Ok(delivery)
    }
}

/// `error: cause: cause…`, on one line.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    // One line, whatever a relay answered.
    line.replace(['\r', '\n'], " ")
}

async fn find(db: &Db, username: &str) -> Result<crate::db::entity::users::Model, CliError> {
    let parsed =
        Username::parse(username).map_err(|e| CliError::Invalid(format!("--username: {e}")))?;
    crate::db::users::find_user_by_username(db, parsed.as_str())
        .await?
        .ok_or_else(|| CliError::Invalid(format!("--username: no user named {}", parsed.as_str())))
}

fn read_stdin_line() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
