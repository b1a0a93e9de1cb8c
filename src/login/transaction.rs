//! A sign-in in progress: the validated authorization request waiting for
//! the person, kept in the store under a random id carried in the forms.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::oidc::authorize::request::AuthorizationRequest;
use crate::store::StoreError;

/// Long enough to type a password, short enough to not linger.
const LIFETIME: Duration = Duration::from_mins(15);

/// What the sign-in is for, and so where it goes when done.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Purpose {
    /// An authorization request from a client, finished by `oidc::authorize::complete`.
    Authorize(Box<AuthorizationRequest>),
    /// Approving a device (RFC 8628): back to the device page with its code.
    Device {
        user_code: String,
        client_id: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginTx {
    pub purpose: Purpose,
    /// Normalised username typed on the first page.
    pub username: Option<String>,
}

impl LoginTx {
    pub fn client_id(&self) -> &str {
        match &self.purpose {
            Purpose::Authorize(request) => &request.client_id,
            Purpose::Device { client_id, .. } => client_id,
        }
    }
}

fn key(id: &str) -> String {
    format!("login_tx:{}", crate::security::sha256_b64url(id.as_bytes()))
}

pub async fn create(state: &AppState, tx: &LoginTx) -> Result<String, StoreError> {
    let id = crate::security::random_token(24);
    save(state, &id, tx).await?;
    Ok(id)
}

pub async fn save(state: &AppState, id: &str, tx: &LoginTx) -> Result<(), StoreError> {
    crate::store::put_json(state.store.as_ref(), &key(id), tx, LIFETIME).await
}

pub async fn load(state: &AppState, id: &str) -> Result<Option<LoginTx>, StoreError> {
    crate::store::get_json(state.store.as_ref(), &key(id)).await
}

/// Takes the transaction once: a form posted twice finishes the sign-in once.
pub async fn take(state: &AppState, id: &str) -> Result<Option<LoginTx>, StoreError> {
    crate::store::take_json(state.store.as_ref(), &key(id)).await
}
