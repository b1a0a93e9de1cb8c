//! Set / forgot password (DESIGN.md flow 3). For now: invitations, and the
//! single-use link and set-password page that the forgotten-password flow
//! will share.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`link`] | the single-use, expiring link: issue, open |
//! | [`invite`](mod@invite) | the invitation email of an account created by support or a security manager |
//! | [`set_password`](mod@set_password) | setting the password through a link, and the confirmation email |
//! | `emails` | the emails, from `templates/email/` |
//! | `routes` | `GET` and `POST /password/set` |
//!
//! A forgotten-password flow only needs to issue a link with
//! [`LinkPurpose::Reset`] and email it: the page, the policy check, the
//! single use and the confirmation are already here.

mod emails;
pub mod invite;
pub mod link;
mod routes;
pub mod set_password;

pub use crate::db::password_links::LinkPurpose;
pub use emails::{INVITATION_SUBJECT, PASSWORD_SET_SUBJECT};
pub use invite::{INVITATION_LIFETIME, invite};
pub use routes::routes;

/// Why a recovery step failed. `Display` is safe to show; the cause is the
/// source, logged once by whoever handles the error.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("the database is unavailable")]
    Db(#[from] crate::db::DbError),
    #[error("the session store is unavailable")]
    Store(#[from] crate::store::StoreError),
    #[error("the email could not be prepared")]
    Render(#[from] crate::web::RenderError),
    #[error("the email could not be sent")]
    Notify(#[from] crate::notify::NotifyError),
    #[error("the password could not be stored")]
    Hash(#[from] crate::security::HashError),
    /// The account's stored email address does not parse, so no email can go.
    #[error("the account has no usable email address")]
    NoAddress(#[source] crate::domain::DomainError),
}
