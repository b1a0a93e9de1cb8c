//! `refresh_tokens`: the hashes of issued refresh tokens.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    /// Hex SHA-256 of the token; the token itself is never stored.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub family_id: Uuid,
    pub issued_at: i64,
    /// Set when the token was exchanged; a second use revokes the family.
    pub spent_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::refresh_token_families::Entity",
        from = "Column::FamilyId",
        to = "super::refresh_token_families::Column::Id",
        on_delete = "Cascade"
    )]
    Family,
}

impl Related<super::refresh_token_families::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Family.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
