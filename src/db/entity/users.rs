//! `users`: people who sign in. `id` is the OIDC `sub`.

use sea_orm::entity::prelude::*;

#[allow(
    clippy::struct_excessive_bools,
    reason = "mirrors the table: independent verification and MFA flags"
)]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub username: String,
    pub org_id: Option<Uuid>,
    /// `mr`, `mrs`, or unspecified.
    pub title: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// Not unique: several logins may share an address.
    pub email: String,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    /// MFA enforced on the `console` authentication (interactive login).
    pub mfa_console: bool,
    /// MFA enforced on the `api` authentication (device grant for CLI tools).
    pub mfa_api: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organisations::Entity",
        from = "Column::OrgId",
        to = "super::organisations::Column::Id",
        on_delete = "Restrict"
    )]
    Organisation,
    #[sea_orm(has_many = "super::user_roles::Entity")]
    Roles,
    #[sea_orm(has_one = "super::password_credentials::Entity")]
    PasswordCredential,
    #[sea_orm(has_many = "super::mfa_methods::Entity")]
    MfaMethods,
    #[sea_orm(has_many = "super::consents::Entity")]
    Consents,
    #[sea_orm(has_many = "super::refresh_token_families::Entity")]
    RefreshTokenFamilies,
}

impl Related<super::organisations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organisation.def()
    }
}

impl Related<super::user_roles::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Roles.def()
    }
}

impl Related<super::password_credentials::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PasswordCredential.def()
    }
}

impl Related<super::mfa_methods::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MfaMethods.def()
    }
}

impl Related<super::consents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Consents.def()
    }
}

impl Related<super::refresh_token_families::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RefreshTokenFamilies.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
