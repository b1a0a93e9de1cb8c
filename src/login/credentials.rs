//! Password checking that tells an attacker nothing: an unknown username
//! costs one hash like a known one (against a dummy), every failure reads
//! the same, and attempts per username are limited, for known and unknown
//! names alike, so the limit itself reveals nothing.

use std::sync::Arc;
use std::time::Duration;

use crate::app::AppState;
use crate::db::entity::users::Model as User;
use crate::domain::{SecretString, Username};

/// Attempts per username in [`WINDOW`] before sign-in is refused for a while.
pub const MAX_ATTEMPTS: u64 = 10;
/// Failed attempts per client address in [`WINDOW`]: stops one source
/// spraying a common password over many usernames, while an office behind
/// one address still signs in (successes do not count).
pub const MAX_ATTEMPTS_PER_ADDRESS: u64 = 100;
pub const WINDOW: Duration = Duration::from_mins(15);

pub enum Verdict {
    Valid(Arc<User>),
    Invalid,
    TooManyAttempts,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("the store is unavailable")]
    Store(#[from] crate::store::StoreError),
    #[error("the database is unavailable")]
    Db(#[from] crate::db::DbError),
    #[error("password hashing failed")]
    Hash(#[from] crate::security::HashError),
}

pub async fn check_password(
    state: &AppState,
    username: &str,
    password: &SecretString,
    from: std::net::IpAddr,
) -> Result<Verdict, CredentialsError> {
    let address_key = crate::web::client_ip::limit_key("login_failures_from", from);
    if crate::store::count(state.store.as_ref(), &address_key).await? >= MAX_ATTEMPTS_PER_ADDRESS {
        return Ok(Verdict::TooManyAttempts);
    }
    let normalised = Username::parse(username).map(|u| u.as_str().to_owned());
    let counter_key = format!(
        "login_attempts:{}",
        crate::security::sha256_b64url(normalised.as_deref().unwrap_or(username).as_bytes())
    );
    if state.store.incr(&counter_key, WINDOW).await? > MAX_ATTEMPTS {
        return Ok(Verdict::TooManyAttempts);
    }
    let read_at = state.clock.now();
    let (user, stored) = match &normalised {
        Ok(name) => crate::db::users::find_user_with_password_hash(&state.db, name)
            .await?
            .map_or((None, None), |(user, hash)| {
                let hash = hash.filter(|_| !user.disabled);
                (Some(user), hash)
            }),
        Err(_) => (None, None),
    };
    // With no stored hash this still spends one hash, on the dummy.
    let matches = state.passwords.verify(password, stored.as_deref()).await?;
    match user {
        Some(user) if matches && stored.is_some() => {
            state.store.delete(&counter_key).await?;
            let user = Arc::new(user);
            state.users.remember(read_at, Arc::clone(&user));
            Ok(Verdict::Valid(user))
        }
        _ => {
            state.store.incr(&address_key, WINDOW).await?;
            Ok(Verdict::Invalid)
        }
    }
}
