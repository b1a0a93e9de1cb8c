//! Which key signs, which keys are published: pure functions over the rows.
//!
//! The lifecycle is derived from `(alg, activates_at)` alone, so the table
//! needs no state column that several instances would race to update, and
//! every instance reading the same rows at the same time agrees. For one
//! algorithm, with keys sorted by activation time, key *i* is:
//!
//! 1. **upcoming** while `now < activates_at[i]`: already in the JWKS, so
//!    relying parties that cache the JWKS know it before the first token it
//!    signs reaches them (the reason for the rotation overlap);
//! 2. **active** from `activates_at[i]` until the next key activates: exactly
//!    one key per algorithm is active, the latest one activated;
//! 3. **retired** once its successor is active: it signs nothing more but stays
//!    published until `activates_at[i + 1] + retain_after_retire`, the longest
//!    token lifetime, so every token it signed can still be verified;
//! 4. **expired** after that: unpublished (the row may stay in the table).
//!
//! Two keys of one algorithm activating in the same second (two rotations in
//! a row) are ordered by `created_at`, then by their order in the input, so
//! the answer stays deterministic.

use serde::Serialize;

use super::Alg;

/// Where a key is in its life; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Upcoming,
    Active,
    Retired,
    Expired,
}

impl KeyState {
    /// Whether the key belongs in the JWKS.
    pub const fn is_published(self) -> bool {
        !matches!(self, KeyState::Expired)
    }

    /// Whether tokens are signed with the key (its private half is needed).
    pub const fn is_active(self) -> bool {
        matches!(self, KeyState::Active)
    }
}

/// The times of one key, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTimes {
    pub alg: Alg,
    pub created_at: i64,
    pub activates_at: i64,
}

/// The state of one key at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    pub state: KeyState,
    /// When the key leaves the JWKS; `None` while no successor is active yet,
    /// since until then nobody knows.
    pub published_until: Option<i64>,
}

/// The lifecycle of every key, in the order given.
pub fn classify(keys: &[KeyTimes], now: i64, retain_after_retire_secs: i64) -> Vec<Lifecycle> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| (keys[i].alg, keys[i].activates_at, keys[i].created_at, i));

    let mut lifecycles = vec![
        Lifecycle {
            state: KeyState::Expired,
            published_until: None
        };
        keys.len()
    ];
    for (position, &index) in order.iter().enumerate() {
        let key = keys[index];
        let successor = order
            .get(position + 1)
            .map(|&next| keys[next])
            .filter(|next| next.alg == key.alg);
        lifecycles[index] = lifecycle_of(key, successor, now, retain_after_retire_secs);
    }
    lifecycles
}

fn lifecycle_of(key: KeyTimes, successor: Option<KeyTimes>, now: i64, retain: i64) -> Lifecycle {
    if now < key.activates_at {
        return Lifecycle {
            state: KeyState::Upcoming,
            published_until: None,
        };
    }
    match successor {
        Some(next) if now >= next.activates_at => {
            let until = next.activates_at.saturating_add(retain);
            let state = if now < until {
                KeyState::Retired
            } else {
                KeyState::Expired
            };
            Lifecycle {
                state,
                published_until: Some(until),
            }
        }
        _ => Lifecycle {
            state: KeyState::Active,
            published_until: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RETAIN: i64 = 3_600;

    fn key(alg: Alg, created_at: i64, activates_at: i64) -> KeyTimes {
        KeyTimes {
            alg,
            created_at,
            activates_at,
        }
    }

    fn states(keys: &[KeyTimes], now: i64) -> Vec<KeyState> {
        classify(keys, now, RETAIN)
            .into_iter()
            .map(|l| l.state)
            .collect()
    }

    #[test]
    fn a_lone_activated_key_is_active_and_published_without_end() {
        let lifecycles = classify(&[key(Alg::Rs256, 100, 100)], 100, RETAIN);
        assert_eq!(
            lifecycles,
            vec![Lifecycle {
                state: KeyState::Active,
                published_until: None
            }]
        );
    }

    #[test]
    fn a_key_before_its_activation_is_upcoming_and_its_predecessor_stays_active() {
        let keys = [key(Alg::Es256, 0, 0), key(Alg::Es256, 500, 1_000)];
        assert_eq!(
            states(&keys, 999),
            vec![KeyState::Active, KeyState::Upcoming]
        );
    }

    #[test]
    fn the_successor_takes_over_at_activation_and_the_old_key_is_retained() {
        let keys = [key(Alg::Es256, 0, 0), key(Alg::Es256, 500, 1_000)];
        let lifecycles = classify(&keys, 1_000, RETAIN);
        assert_eq!(
            lifecycles[0],
            Lifecycle {
                state: KeyState::Retired,
                published_until: Some(1_000 + RETAIN)
            }
        );
        assert_eq!(lifecycles[1].state, KeyState::Active);
    }

    #[test]
    fn a_retired_key_expires_exactly_when_retention_ends() {
        let keys = [key(Alg::EdDsa, 0, 0), key(Alg::EdDsa, 500, 1_000)];
        assert_eq!(
            states(&keys, 1_000 + RETAIN - 1),
            vec![KeyState::Retired, KeyState::Active]
        );
        assert_eq!(
            states(&keys, 1_000 + RETAIN),
            vec![KeyState::Expired, KeyState::Active]
        );
    }

    #[test]
    fn algorithms_rotate_independently_whatever_the_input_order() {
        let keys = [
            key(Alg::Es256, 500, 1_000),
            key(Alg::Rs256, 0, 0),
            key(Alg::Es256, 0, 0),
            key(Alg::EdDsa, 0, 0),
        ];
        assert_eq!(
            states(&keys, 2_000),
            vec![
                KeyState::Active,
                KeyState::Active,
                KeyState::Retired,
                KeyState::Active
            ]
        );
    }

    #[test]
    fn same_second_activations_are_ordered_by_creation_time() {
        let keys = [key(Alg::Rs256, 20, 100), key(Alg::Rs256, 10, 100)];
        assert_eq!(
            states(&keys, 100),
            vec![KeyState::Active, KeyState::Retired]
        );
    }

    #[test]
    fn exactly_one_key_per_alg_is_active_after_many_rotations() {
        let keys: Vec<KeyTimes> = (0..10)
            .map(|i| key(Alg::Rs256, i * 100, i * 100 + 50))
            .collect();
        for now in [50, 149, 150, 470, 951, 5_000] {
            let active = states(&keys, now).iter().filter(|s| s.is_active()).count();
            assert_eq!(active, 1, "at {now}");
        }
    }

    #[test]
    fn nothing_is_active_before_the_first_key_activates() {
        assert_eq!(
            states(&[key(Alg::Rs256, 0, 10)], 5),
            vec![KeyState::Upcoming]
        );
    }

    #[test]
    fn states_serialise_in_lowercase() {
        assert_eq!(
            serde_json::to_string(&KeyState::Upcoming).unwrap(),
            r#""upcoming""#
        );
        assert!(!KeyState::Expired.is_published());
        assert!(KeyState::Retired.is_published());
    }
}
