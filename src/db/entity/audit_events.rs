//! `audit_events`: the append-only audit log.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    /// UUID v7: sorts by creation time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub at: i64,
    /// What happened, e.g. `login.succeeded`, `mfa.enforced`.
    pub kind: String,
    /// Who did it: a user id, `support:<name>`, `system`.
    pub actor: String,
    /// The user concerned; no foreign key, the log outlives users.
    pub user_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// A JSON object with the event's details.
    #[sea_orm(column_type = "Text")]
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
