//! The audit log: one event for every security-relevant change (accounts,
//! roles, MFA enforcement, clients, keys), kept in the database, where it
//! outlives the users it speaks of, and echoed to the log for collectors.

use uuid::Uuid;

use crate::clock::Clock;
use crate::db::audit::{NewAuditEvent, insert_audit_event};
use crate::db::{Db, DbError};

/// What happened, who did it and to whom. `detail` must hold no secret.
#[derive(Debug)]
pub struct AuditEvent<'a> {
    /// Dotted name such as `user.created` or `mfa.enforced`.
    pub kind: &'a str,
    /// `cli`, `user:<sub>`, `support`, …
    pub actor: &'a str,
    pub user_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub client_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: serde_json::Value,
}

pub async fn record(db: &Db, clock: &dyn Clock, event: AuditEvent<'_>) -> Result<(), DbError> {
    tracing::info!(
        target: "audit",
        kind = event.kind,
        actor = event.actor,
        user_id = ?event.user_id,
        org_id = ?event.org_id,
        client_id = event.client_id,
        "audit event"
    );
    insert_audit_event(
        db,
        NewAuditEvent {
            kind: event.kind.to_owned(),
            actor: event.actor.to_owned(),
            user_id: event.user_id,
            org_id: event.org_id,
            client_id: event.client_id.map(str::to_owned),
            ip: event.ip.map(str::to_owned),
            detail: event.detail,
            at: clock.unix(),
        },
    )
    .await
}

/// Records `event`; a failure to record is logged, never shown to the person
/// whose request caused it (the change itself already happened).
pub async fn record_or_warn(db: &Db, clock: &dyn Clock, event: AuditEvent<'_>) {
    let kind = event.kind;
    if let Err(error) = record(db, clock, event).await {
        tracing::warn!(%error, kind, "could not record an audit event");
    }
}
