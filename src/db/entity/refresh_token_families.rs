//! `refresh_token_families`: one grant's chain of rotated refresh tokens.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_token_families")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub client_id: String,
    /// `None` for grants without a user.
    pub user_id: Option<Uuid>,
    /// Space-separated scope, as granted.
    #[sea_orm(column_type = "Text")]
    pub scope: String,
    pub sid: Option<String>,
    pub auth_time: i64,
    pub acr: Option<String>,
    /// JSON array of `amr` values (RFC 8176).
    #[sea_orm(column_type = "Text")]
    pub amr: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Set when a spent token was replayed or the grant was revoked.
    pub revoked_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::clients::Entity",
        from = "Column::ClientId",
        to = "super::clients::Column::ClientId",
        on_delete = "Cascade"
    )]
    Client,
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    User,
    #[sea_orm(has_many = "super::refresh_tokens::Entity")]
    Tokens,
}

impl Related<super::clients::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::refresh_tokens::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tokens.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
