//! Refresh tokens on the hot path: the store decides, the database keeps.
//!
//! A rotating refresh is the busiest write of a provider. Done in the
//! database it costs a transaction per refresh (≈0.6 ms of CPU on SQLite,
//! more on a remote PostgreSQL); done here it costs a few store operations,
//! and the database learns of it moments later, many rotations to one
//! transaction (see [`journal`]).
//!
//! What lives where:
//!
//! - The database holds every family and every token hash (durable: a
//!   restart or an empty store loses no grant), written when a family
//!   starts, before its first token is handed out (through the group
//!   commit, [`crate::db::group_commit`]), and by the journal for each
//!   rotation.
//! - The store holds, per token hash, its family: `rt:` while it is unspent
//!   (the whole family) and `rt_spent:` once spent (the family id). Both
//!   expire long before the grant does; a token the store no longer knows is
//!   looked up in the database, and rotated there.
//!
//! "Spend once" is decided by one atomic store operation, `SET NX` on the
//! spent marker (`put_new`): of two requests (or two instances) presenting
//! the same token, exactly one creates the marker. The marker is written
//! before the live entry is removed and removed only once the database has
//! the spend, so a request that finds neither in the store asks a database
//! that knows.
//!
//! Revocation is a store marker per family (set with the database update in
//! [`super::access_token::revoke_family`]), checked on every use, so a
//! family revoked on one instance is refused at once by all.

pub mod journal;

use std::time::Duration;

use crate::app::AppState;
use crate::clock::Clock;
use crate::db::DbError;
use crate::db::group_commit::Write;
use crate::db::refresh_tokens::{Family, NewFamily, RotateOutcome, Rotation};
use crate::store::StoreError;

/// How long the store keeps a live token's entry (~600 bytes): clients
/// refresh as their access tokens expire, minutes apart, so an hour keeps
/// every active grant hot; the database answers for the rest.
pub const LIVE_FOR: Duration = Duration::from_hours(1);
/// The longest a spent token's marker stays in the store. The journal
/// removes it as soon as the database has the spend (milliseconds), so this
/// only bounds the markers of an instance that died before writing them.
pub const SPENT_FOR: Duration = Duration::from_hours(1);

/// A presented refresh token, as far as Gatehouse knows it.
#[derive(Debug, Clone)]
pub struct Found {
    /// Its grant; `revoked_at` is set when the family was revoked.
    pub family: Family,
    /// When it was issued; `None` once spent: presenting it again is a
    /// replay (RFC 9700 §4.14.2).
    pub unspent_since: Option<i64>,
    /// Where it was found, which decides how it is rotated.
    source: Source,
}

impl Found {
    pub fn is_spent(&self) -> bool {
        self.unspent_since.is_none()
    }
}

/// What the store keeps under a token's hash: written from a borrowed
/// family (`Entry<&Family>`), read back as an owned one.
#[derive(serde::Serialize, serde::Deserialize)]
struct Entry<F> {
    issued_at: i64,
    family: F,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Store,
    Database,
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshStoreError {
    #[error("the store is unavailable")]
    Store(#[from] StoreError),
    #[error("the database is unavailable")]
    Db(#[from] DbError),
}

/// A new family's id: time-ordered (a version 7 UUID) for the reason tokens are
/// ([`new_token`]): each family adds to the right edge of the family
/// index. It names the grant in access tokens (`fid`) and is no secret.
pub fn new_family_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// Hex digits of a token's issue time (milliseconds since the epoch).
const ORDER_DIGITS: usize = 12;
/// An ordered token: the issue time, then 32 random bytes in base64url.
const ORDERED_LEN: usize = ORDER_DIGITS + 43;

/// A new refresh token: its issue time in milliseconds as 12 hex digits,
/// then 32 random bytes (all the entropy there is).
///
/// The time leads so that the keys tokens are stored under
/// ([`hash`]) sort by issue time: a new token then lands at the right edge
/// of the token index, where the tokens of the moments before are, not on
/// a random page of it. A batch of rotations writes a few index pages
/// instead of one page per rotation (the reason version 7 UUIDs exist);
/// with random keys those pages were most of the bytes a rotation wrote.
/// The client learns nothing it did not know: when it received the token.
pub fn new_token(clock: &dyn Clock) -> String {
    let millis = clock.now().unix_timestamp_nanos() / 1_000_000;
    let order = u64::try_from(millis).unwrap_or(0) & 0xffff_ffff_ffff;
    format!("{order:012x}{}", crate::security::random_token(32))
}

/// The key under which a refresh token is known: its SHA-256, led by its
/// issue-time digits when it has them ([`new_token`]); the token itself is
/// never stored. Tokens issued before the time led (43 random characters)
/// keep the bare SHA-256 they were stored under.
pub fn hash(token: &str) -> String {
    let digest = crate::security::sha256_b64url(token.as_bytes());
    match token.get(..ORDER_DIGITS) {
        Some(order)
            if token.len() == ORDERED_LEN
                && order
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            format!("{order}{digest}")
        }
        _ => digest,
    }
}

fn live_key(hash: &str) -> String {
    format!("rt:{hash}")
}

pub(super) fn spent_key(hash: &str) -> String {
    format!("rt_spent:{hash}")
}

/// Records a new family and returns its first refresh token.
pub async fn start_family(
    state: &AppState,
    family: NewFamily,
) -> Result<String, RefreshStoreError> {
    let token = new_token(state.clock.as_ref());
    let token_hash = hash(&token);
    let (live, created_at) = (family.to_family(), family.created_at);
    let write = Write::Family {
        family,
        first_token_hash: token_hash.clone(),
    };
    state.group_commit.write(&state.db, write).await?;
    remember_live(state, &token_hash, &live, created_at).await?;
    Ok(token)
}

/// Finds the token with hash `token_hash`: in the store, else in the database.
pub async fn find(state: &AppState, token_hash: &str) -> Result<Option<Found>, RefreshStoreError> {
    let store = state.store.as_ref();
    if let Some(Entry {
        issued_at,
        mut family,
    }) = crate::store::get_json::<Entry<Family>>(store, &live_key(token_hash)).await?
    {
        if super::access_token::is_family_revoked(state, family.id).await? {
            family.revoked_at = Some(state.clock.unix());
        }
        return Ok(Some(Found {
            family,
            unspent_since: Some(issued_at),
            source: Source::Store,
        }));
    }
    // Spent through the store: the family is in the database (written when
    // it started), the spend may not be yet. A replay is rare; it may cost a
    // query.
    if let Some(family_id) = store.get(&spent_key(token_hash)).await? {
        let family_id = std::str::from_utf8(&family_id)
            .ok()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| DbError::Corrupt("refresh token spent marker".to_owned()))?;
        return Ok(crate::db::refresh_tokens::find_family(&state.db, family_id)
            .await?
            .map(|family| Found {
                family,
                unspent_since: None,
                source: Source::Store,
            }));
    }
    Ok(crate::db::refresh_tokens::find_token(&state.db, token_hash)
        .await?
        .map(|(row, family)| Found {
            family,
            unspent_since: row.spent_at.is_none().then_some(row.issued_at),
            source: Source::Database,
        }))
}

/// Spends the unspent token `found` (hash `token_hash`) for its successor
/// `next_hash`. [`RotateOutcome::AlreadySpent`] when another request spent
/// it first: the caller treats that as a replay.
pub async fn rotate(
    state: &AppState,
    found: &Found,
    token_hash: &str,
    next_hash: &str,
) -> Result<RotateOutcome, RefreshStoreError> {
    let store = state.store.as_ref();
    let family = &found.family;
    let claim = family.id.to_string();
    if !store
        .put_new(&spent_key(token_hash), claim.as_bytes(), SPENT_FOR)
        .await?
    {
        return Ok(RotateOutcome::AlreadySpent);
    }
    let now = state.clock.unix();
    match found.source {
        Source::Store => {
            store.delete(&live_key(token_hash)).await?;
            state
                .refresh_journal
                .record(
                    &state.db,
                    state.store.as_ref(),
                    Rotation {
                        old_hash: token_hash.to_owned(),
                        new_hash: next_hash.to_owned(),
                        family_id: family.id,
                        at: now,
                    },
                )
                .await;
        }
        // Not in the store: the database may know more than the store (it
        // was emptied), so it decides, at once.
        Source::Database => {
            let outcome =
                crate::db::refresh_tokens::rotate(&state.db, token_hash, next_hash, now).await;
            // Written (or refused) by the database, which answers from now on.
            store.delete(&spent_key(token_hash)).await?;
            let outcome = outcome?;
            if outcome != RotateOutcome::Rotated {
                return Ok(outcome);
            }
        }
    }
    remember_live(state, next_hash, family, now).await?;
    Ok(RotateOutcome::Rotated)
}

async fn remember_live(
    state: &AppState,
    token_hash: &str,
    family: &Family,
    issued_at: i64,
) -> Result<(), StoreError> {
    let left = u64::try_from(family.expires_at - state.clock.unix()).unwrap_or(0);
    let ttl = LIVE_FOR.min(Duration::from_secs(left.max(1)));
    let entry = Entry { issued_at, family };
    crate::store::put_json(state.store.as_ref(), &live_key(token_hash), &entry, ttl).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::macros::datetime;

    use super::*;
    use crate::clock::ManualClock;
    use crate::security::sha256_b64url;

    #[test]
    fn new_tokens_lead_with_their_issue_time_and_sort_by_it() {
        let clock = ManualClock::new(datetime!(2026-12-06 20:00:00.123 UTC));
        let first = new_token(&clock);
        assert_eq!(first.len(), ORDERED_LEN);
        assert_eq!(
            &first[..ORDER_DIGITS],
            format!("{:012x}", 1_796_587_200_123_u64)
        );
        clock.advance(Duration::from_millis(1));
        let second = new_token(&clock);
        assert_ne!(
            first[ORDER_DIGITS..],
            second[ORDER_DIGITS..],
            "the random part differs"
        );
        assert!(first < second && hash(&first) < hash(&second));
    }

    #[test]
    fn a_token_is_known_by_its_time_and_digest_and_an_older_one_by_its_digest() {
        let clock = ManualClock::new(datetime!(2026-12-06 20:00:00 UTC));
        let token = new_token(&clock);
        assert_eq!(
            hash(&token),
            format!(
                "{}{}",
                &token[..ORDER_DIGITS],
                sha256_b64url(token.as_bytes())
            )
        );
        // Issued before the time led: still found under the digest it was stored under.
        let older = crate::security::random_token(32);
        assert_eq!(hash(&older), sha256_b64url(older.as_bytes()));
        // Anything else presented is only digested: no part of it is taken as given.
        for presented in [
            format!("{}{}", "0123456789AB", &token[ORDER_DIGITS..]),
            format!("{token}x"),
            token[..ORDERED_LEN - 1].to_owned(),
            // 55 bytes with no character boundary after the twelfth byte.
            format!("a{}", "é".repeat(27)),
        ] {
            assert_eq!(
                hash(&presented),
                sha256_b64url(presented.as_bytes()),
                "{presented}"
            );
        }
    }
}
