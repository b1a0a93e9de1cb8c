//! The audit log: security-relevant events, kept for the organisation's
//! security managers and for support.
//!
//! Events are only ever inserted. Ids are UUID v7 (RFC 9562 §5.7), which sort
//! by creation time, so events stamped with the same second still come back
//! in the order they were written. They take the wall clock rather than the
//! app's [`crate::clock::Clock`] because they only order and identify rows;
//! the event's time is `at`, which does come from the clock.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::entity::audit_events::{self, Column, Entity};
use super::json::decode_value;
use super::{DbError, in_few_shapes};

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    /// What happened, e.g. `login.succeeded`, `mfa.enforced`.
    pub kind: String,
    /// Who did it: a user id, `support:<name>`, `system`.
    pub actor: String,
    /// The user the event is about, if any.
    pub user_id: Option<Uuid>,
    /// The organisation whose security managers may read the event.
    pub org_id: Option<Uuid>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// Details as a JSON object; never a secret.
    pub detail: Value,
    /// Unix seconds, from the app's clock.
    pub at: i64,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub kind: String,
    pub actor: String,
    pub user_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: Value,
    pub at: i64,
}

/// Records an event.
pub async fn insert_audit_event<C: ConnectionTrait>(
    db: &C,
    event: NewAuditEvent,
) -> Result<(), DbError> {
    Entity::insert(to_row(&event).into_active_model())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Records events, many to a statement, in the order given (the group
/// commit's batch).
pub async fn insert_audit_events<C: ConnectionTrait>(
    db: &C,
    events: &[&NewAuditEvent],
) -> Result<(), DbError> {
    for chunk in in_few_shapes(events) {
        Entity::insert_many(chunk.iter().map(|event| to_row(event).into_active_model()))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

fn to_row(event: &NewAuditEvent) -> audit_events::Model {
    audit_events::Model {
        id: Uuid::now_v7(),
        at: event.at,
        kind: event.kind.clone(),
        actor: event.actor.clone(),
        user_id: event.user_id,
        org_id: event.org_id,
        client_id: event.client_id.clone(),
        ip: event.ip.clone(),
        detail: event.detail.to_string(),
    }
}

/// The newest `limit` events, of one organisation or (support) of all.
pub async fn find_audit_events<C: ConnectionTrait>(
    db: &C,
    org_id: Option<Uuid>,
    limit: u64,
) -> Result<Vec<AuditEvent>, DbError> {
    let mut query = Entity::find()
        .order_by_desc(Column::At)
        .order_by_desc(Column::Id)
        .limit(limit);
    if let Some(org_id) = org_id {
        query = query.filter(Column::OrgId.eq(org_id));
    }
    query
        .all(db)
        .await?
        .into_iter()
        .map(|row| {
            Ok(AuditEvent {
                detail: decode_value(&row.detail, "audit_events.detail")?,
                id: row.id,
                kind: row.kind,
                actor: row.actor,
                user_id: row.user_id,
                org_id: row.org_id,
                client_id: row.client_id,
                ip: row.ip,
                at: row.at,
            })
        })
        .collect()
}
