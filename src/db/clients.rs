//! Clients (relying parties) with their redirect URIs, as one aggregate.
//!
//! The metadata follows OpenID Connect Dynamic Client Registration 1.0 §2 and
//! RFC 7591 §2. Redirect URIs live in their own table and are always written
//! in the same transaction as the client, so a reader never sees a client
//! with half its URIs. They are compared by exact string match (RFC 9700
//! §4.1.3), so they are stored exactly as given and returned sorted.
//!
//! Clients come from two places: the CLI (`insert_client`, which refuses a
//! taken id) and the config file (`upsert_client`, which rewrites the stored
//! copy at every start-up so the file stays the source of truth).

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    TransactionSession, TransactionTrait,
};
use serde_json::Value;

use super::entity::client_redirect_uris::{self as uris, KIND_LOGIN, KIND_POST_LOGOUT};
use super::entity::clients;
use super::json::{decode_list, decode_value, encode_list};
use super::{DbError, Unique as _};

/// A client with its lists parsed and its redirect URIs attached.
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent client metadata flags (RFC 7591 §2), not a state machine"
)]
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRecord {
    pub client_id: String,
    pub name: Option<String>,
    /// Hash of the client secret; `None` for public and `private_key_jwt` clients.
    pub secret_hash: Option<String>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    pub auth_method: String,
    pub grant_types: Vec<String>,
    /// Allowed scopes; empty means the standard OIDC scopes.
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    pub require_pkce: bool,
    /// Only pushed authorization requests are accepted (RFC 9126 §6).
    pub require_par: bool,
    /// `jwt` (RFC 9068) or `opaque` (RFC 7662 introspection).
    pub access_token_format: String,
    pub id_token_signed_response_alg: Option<String>,
    /// The client's JWK Set, for `private_key_jwt`.
    pub jwks: Option<Value>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    pub from_config: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Inserts a client and its redirect URIs; a taken `client_id` is a
/// [`DbError::Conflict`].
pub async fn insert_client<C>(db: &C, client: &ClientRecord) -> Result<(), DbError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = db.begin().await?;
    clients::Entity::insert(to_model(client).into_active_model())
        .exec_without_returning(&txn)
        .await
        .map_err(|err| {
            DbError::unless_conflict(err, || format!("client `{}`", client.client_id))
        })?;
    insert_redirect_uris(&txn, client).await?;
    txn.commit().await?;
    Ok(())
}

/// Inserts a client or replaces every field and URI of the stored one, except
/// its `created_at`.
pub async fn upsert_client<C>(db: &C, client: &ClientRecord) -> Result<(), DbError>
where
    C: ConnectionTrait + TransactionTrait,
{
    use clients::Column as Col;
    let txn = db.begin().await?;
    clients::Entity::insert(to_model(client).into_active_model())
        .on_conflict(
            OnConflict::column(Col::ClientId)
                .update_columns([
                    Col::Name,
                    Col::SecretHash,
                    Col::AuthMethod,
                    Col::GrantTypes,
                    Col::Scopes,
                    Col::FirstParty,
                    Col::RequirePkce,
                    Col::RequirePar,
                    Col::AccessTokenFormat,
                    Col::IdTokenSignedResponseAlg,
                    Col::Jwks,
                    Col::BackchannelLogoutUri,
                    Col::BackchannelLogoutSessionRequired,
                    Col::FromConfig,
                    Col::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    uris::Entity::delete_many()
        .filter(uris::Column::ClientId.eq(&client.client_id))
        .exec(&txn)
        .await?;
    insert_redirect_uris(&txn, client).await?;
    txn.commit().await?;
    Ok(())
}

pub async fn find_client<C: ConnectionTrait>(
    db: &C,
    client_id: &str,
) -> Result<Option<ClientRecord>, DbError> {
    let Some(model) = clients::Entity::find_by_id(client_id).unique(db).await? else {
        return Ok(None);
    };
    let uris = uris::Entity::find()
        .filter(uris::Column::ClientId.eq(client_id))
        .order_by_asc(uris::Column::Uri)
        .all(db)
        .await?;
    from_model(model, uris).map(Some)
}

/// Every client, in `client_id` order, with two queries whatever their number.
pub async fn find_clients<C: ConnectionTrait>(db: &C) -> Result<Vec<ClientRecord>, DbError> {
    let models = clients::Entity::find()
        .order_by_asc(clients::Column::ClientId)
        .all(db)
        .await?;
    let mut uris_by_client: BTreeMap<String, Vec<uris::Model>> = BTreeMap::new();
    for uri in uris::Entity::find()
        .order_by_asc(uris::Column::Uri)
        .all(db)
        .await?
    {
        uris_by_client
            .entry(uri.client_id.clone())
            .or_default()
            .push(uri);
    }
    models
        .into_iter()
        .map(|model| {
            let uris = uris_by_client.remove(&model.client_id).unwrap_or_default();
            from_model(model, uris)
        })
        .collect()
}

/// Deletes a client; its redirect URIs, consents and refresh tokens go with it
/// (foreign keys cascade). Returns whether there was such a client.
pub async fn delete_client<C: ConnectionTrait>(db: &C, client_id: &str) -> Result<bool, DbError> {
    let deleted = clients::Entity::delete_by_id(client_id).exec(db).await?;
    Ok(deleted.rows_affected > 0)
}

async fn insert_redirect_uris<C: ConnectionTrait>(
    db: &C,
    client: &ClientRecord,
) -> Result<(), DbError> {
    // A set: the same URI listed twice must not trip the primary key.
    let rows: BTreeSet<(&str, &str)> = client
        .redirect_uris
        .iter()
        .map(|uri| (KIND_LOGIN, uri.as_str()))
        .chain(
            client
                .post_logout_redirect_uris
                .iter()
                .map(|uri| (KIND_POST_LOGOUT, uri.as_str())),
        )
        .collect();
    uris::Entity::insert_many(rows.into_iter().map(|(kind, uri)| {
        uris::Model {
            client_id: client.client_id.clone(),
            kind: kind.to_owned(),
            uri: uri.to_owned(),
        }
        .into_active_model()
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn to_model(client: &ClientRecord) -> clients::Model {
    clients::Model {
        client_id: client.client_id.clone(),
        name: client.name.clone(),
        secret_hash: client.secret_hash.clone(),
        auth_method: client.auth_method.clone(),
        grant_types: encode_list(&client.grant_types),
        scopes: encode_list(&client.scopes),
        first_party: client.first_party,
        require_pkce: client.require_pkce,
        require_par: client.require_par,
        access_token_format: client.access_token_format.clone(),
        id_token_signed_response_alg: client.id_token_signed_response_alg.clone(),
        jwks: client.jwks.as_ref().map(Value::to_string),
        backchannel_logout_uri: client.backchannel_logout_uri.clone(),
        backchannel_logout_session_required: client.backchannel_logout_session_required,
        from_config: client.from_config,
        created_at: client.created_at,
        updated_at: client.updated_at,
    }
}

fn from_model(model: clients::Model, uris: Vec<uris::Model>) -> Result<ClientRecord, DbError> {
    let (mut login, mut post_logout) = (Vec::new(), Vec::new());
    for row in uris {
        match row.kind.as_str() {
            KIND_LOGIN => login.push(row.uri),
            KIND_POST_LOGOUT => post_logout.push(row.uri),
            _ => return Err(DbError::Corrupt("client_redirect_uris.kind".to_owned())),
        }
    }
    Ok(ClientRecord {
        grant_types: decode_list(&model.grant_types, "clients.grant_types")?,
        scopes: decode_list(&model.scopes, "clients.scopes")?,
        jwks: model
            .jwks
            .as_deref()
            .map(|text| decode_value(text, "clients.jwks"))
            .transpose()?,
        redirect_uris: login,
        post_logout_redirect_uris: post_logout,
        client_id: model.client_id,
        name: model.name,
        secret_hash: model.secret_hash,
        auth_method: model.auth_method,
        first_party: model.first_party,
        require_pkce: model.require_pkce,
        require_par: model.require_par,
        access_token_format: model.access_token_format,
        id_token_signed_response_alg: model.id_token_signed_response_alg,
        backchannel_logout_uri: model.backchannel_logout_uri,
        backchannel_logout_session_required: model.backchannel_logout_session_required,
        from_config: model.from_config,
        created_at: model.created_at,
        updated_at: model.updated_at,
    })
}
