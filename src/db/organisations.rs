//! Organisations: the customer companies users belong to (DESIGN.md, "People
//! and things").

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};
use uuid::Uuid;

use super::entity::organisations::{self, Column, Entity, Model};
use super::{DbError, Unique as _};

/// What is needed to register an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganisation {
    pub name: String,
    pub address: Option<String>,
    pub registration_number: Option<String>,
    pub manager_name: Option<String>,
    pub manager_email: Option<String>,
}

/// Inserts an organisation with a fresh id; a taken name is a
/// [`DbError::Conflict`].
pub async fn insert_organisation<C: ConnectionTrait>(
    db: &C,
    new: NewOrganisation,
    now: i64,
) -> Result<Model, DbError> {
    let model = organisations::Model {
        id: Uuid::new_v4(),
        name: new.name,
        address: new.address,
        registration_number: new.registration_number,
        manager_name: new.manager_name,
        manager_email: new.manager_email,
        created_at: now,
    };
    Entity::insert(model.clone().into_active_model())
        .exec_without_returning(db)
        .await
        .map_err(|err| {
            DbError::unless_conflict(err, || format!("organisation `{}`", model.name))
        })?;
    Ok(model)
}

pub async fn find_organisation_by_id<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<Model>, DbError> {
    Ok(Entity::find_by_id(id).unique(db).await?)
}

pub async fn find_organisation_by_name<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<Model>, DbError> {
    Ok(Entity::find()
        .filter(Column::Name.eq(name))
        .unique(db)
        .await?)
}
