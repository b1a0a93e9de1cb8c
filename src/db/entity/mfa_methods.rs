//! `mfa_methods`: second factors a user enrolled.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_methods")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// `email`, `sms`, `mobile_connect`, `totp` or `webauthn`.
    pub kind: String,
    pub label: Option<String>,
    /// Method-specific material (a TOTP seed, a WebAuthn credential), as an
    /// envelope string the MFA module encrypts; opaque here.
    #[sea_orm(column_type = "Text", nullable)]
    pub secret: Option<String>,
    pub is_default: bool,
    /// `None` until the user proved the method works.
    pub verified_at: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
