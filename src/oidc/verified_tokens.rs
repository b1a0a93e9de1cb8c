//! Access tokens whose signature has already been checked.
//!
//! Verifying an ES256 signature is the dearest step of userinfo and
//! introspection (≈60 µs, against a few µs for everything else), and a
//! resource server or client presents the same token many times while it
//! lives. So the claims of a token that verified are kept under the SHA-256
//! of the token, and the next presentation skips the signature.
//!
//! What the cache never skips: expiry and revocation are checked on every
//! presentation by [`super::access_token::validate`], and an entry counts only
//! while the key set it was verified against is still the current one (any
//! change to the published keys, such as a key withdrawn, empties it).
//!
//! Bounded by two generations of at most `capacity / 2` entries each: when
//! the young one fills, it becomes the old one and the previous old one is
//! dropped; a hit in the old generation moves the entry back into the young
//! one. Tokens in use stay, forgotten ones age out, and memory stays bounded
//! without any bookkeeping per hit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::tokens::AccessClaims;

/// SHA-256 of a token's text.
pub type TokenDigest = [u8; 32];

pub struct VerifiedTokens {
    generations: Mutex<Generations>,
    half: usize,
}

#[derive(Default)]
struct Generations {
    /// The key-set generation every entry below was verified against.
    key_generation: u64,
    young: HashMap<TokenDigest, Arc<AccessClaims>>,
    old: HashMap<TokenDigest, Arc<AccessClaims>>,
}

impl VerifiedTokens {
    /// Holds at most `capacity` tokens (at least two).
    pub fn new(capacity: usize) -> Self {
        Self {
            generations: Mutex::default(),
            half: (capacity / 2).max(1),
        }
    }

    /// The claims of a token verified under key-set `key_generation`.
    pub fn get(&self, digest: &TokenDigest, key_generation: u64) -> Option<Arc<AccessClaims>> {
        let mut g = self.lock();
        if g.key_generation != key_generation {
            return None;
        }
        if let Some(claims) = g.young.get(digest) {
            return Some(Arc::clone(claims));
        }
        let claims = g.old.remove(digest)?;
        self.insert_young(&mut g, *digest, Arc::clone(&claims));
        Some(claims)
    }

    /// Remembers a token that verified under key-set `key_generation`.
    pub fn insert(&self, digest: TokenDigest, claims: Arc<AccessClaims>, key_generation: u64) {
        let mut g = self.lock();
        if g.key_generation != key_generation {
            // The keys changed: nothing verified before says anything now.
            g.young.clear();
            g.old.clear();
            g.key_generation = key_generation;
        }
        self.insert_young(&mut g, digest, claims);
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.young.len() + g.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert_young(&self, g: &mut Generations, digest: TokenDigest, claims: Arc<AccessClaims>) {
        if g.young.len() >= self.half && !g.young.contains_key(&digest) {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(digest, claims);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jti: &str) -> Arc<AccessClaims> {
        Arc::new(AccessClaims {
            iss: "https://issuer.example".into(),
            sub: "alice".into(),
            aud: "https://issuer.example".into(),
            client_id: "console".into(),
            scope: "openid".into(),
            iat: 0,
            exp: 60,
            jti: jti.into(),
            auth_time: None,
            acr: None,
            amr: Vec::new(),
            sid: None,
            fid: None,
            uic: Vec::new(),
        })
    }

    fn digest(n: u8) -> TokenDigest {
        [n; 32]
    }

    #[test]
    fn a_remembered_token_is_found_under_the_same_keys_only() {
        let cache = VerifiedTokens::new(8);
        cache.insert(digest(1), claims("a"), 7);
        assert_eq!(cache.get(&digest(1), 7).unwrap().jti, "a");
        assert!(cache.get(&digest(2), 7).is_none());
        assert!(
            cache.get(&digest(1), 8).is_none(),
            "a token verified under another key set must be verified again"
        );
    }

    #[test]
    fn a_new_key_set_forgets_everything_verified_before() {
        let cache = VerifiedTokens::new(8);
        cache.insert(digest(1), claims("a"), 1);
        cache.insert(digest(2), claims("b"), 2);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&digest(1), 2).is_none());
        assert_eq!(cache.get(&digest(2), 2).unwrap().jti, "b");
    }

    #[test]
    fn it_never_holds_more_than_its_capacity() {
        let cache = VerifiedTokens::new(4);
        for n in 0..100 {
            cache.insert(digest(n), claims("x"), 0);
            assert!(cache.len() <= 4, "{} entries after {n}", cache.len());
        }
        // The newest two are certainly there; the oldest are gone.
        assert!(cache.get(&digest(99), 0).is_some());
        assert!(cache.get(&digest(98), 0).is_some());
        assert!(cache.get(&digest(0), 0).is_none());
    }

    #[test]
    fn a_token_in_use_survives_while_others_age_out() {
        let cache = VerifiedTokens::new(4);
        cache.insert(digest(0), claims("busy"), 0);
        for n in 1..50 {
            cache.insert(digest(n), claims("x"), 0);
            assert!(cache.get(&digest(0), 0).is_some(), "lost after {n}");
        }
    }
}
