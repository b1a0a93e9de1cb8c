//! The audit log: one event for every security-relevant change (accounts,
//! roles, MFA enforcement, clients, keys), kept in the database, where it
//! outlives the users it speaks of, and echoed to the log for collectors.

use uuid::Uuid;

use crate::app::AppState;
use crate::clock::Clock;
use crate::db::audit::{NewAuditEvent, insert_audit_event};
use crate::db::group_commit::Write;
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

/// Records `event` in the database at once.
pub async fn record(db: &Db, clock: &dyn Clock, event: AuditEvent<'_>) -> Result<(), DbError> {
    insert_audit_event(db, echoed(clock, event)).await
}

/// Records `event` through the group commit (it shares a transaction with
/// other requests' writes); a failure to record is logged, never shown to
/// the person whose request caused it (the change itself already happened).
pub async fn record_or_warn(state: &AppState, event: AuditEvent<'_>) {
    let kind = event.kind;
    let write = Write::Audit(echoed(state.clock.as_ref(), event));
    if let Err(error) = state.group_commit.write(&state.db, write).await {
        tracing::warn!(%error, kind, "could not record an audit event");
    }
}

/// The event as stored, once echoed to the log.
fn echoed(clock: &dyn Clock, event: AuditEvent<'_>) -> NewAuditEvent {
    tracing::info!(
        target: "audit",
        kind = event.kind,
        actor = event.actor,
        user_id = ?event.user_id,
        org_id = ?event.org_id,
        client_id = event.client_id,
        "audit event"
    );
    NewAuditEvent {
        kind: event.kind.to_owned(),
        actor: event.actor.to_owned(),
        user_id: event.user_id,
        org_id: event.org_id,
        client_id: event.client_id.map(str::to_owned),
        ip: event.ip.map(str::to_owned),
        detail: event.detail,
        at: clock.unix(),
    }
}
