//! `client_redirect_uris`: the exact URIs a client registered.

use sea_orm::entity::prelude::*;

/// `login`: a `redirect_uri` for authorization responses.
pub const KIND_LOGIN: &str = "login";
/// `post_logout`: a `post_logout_redirect_uri` for RP-initiated logout.
pub const KIND_POST_LOGOUT: &str = "post_logout";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_redirect_uris")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// [`KIND_LOGIN`] or [`KIND_POST_LOGOUT`].
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub uri: String,
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
}

impl Related<super::clients::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Client.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
