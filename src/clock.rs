//! The only place that reads wall time.
//!
//! Every expiry, `iat`, `auth_time`, TTL and lockout takes `now` from a
//! [`Clock`], so tests can move time forward instead of sleeping.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;

    /// Seconds since the Unix epoch, as JWT claims and database columns use.
    fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// Real time, for the running server.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "this is the one place allowed to read wall time"
    )]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to, for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Starts at the real current time, so tokens it stamps also pass
    /// third-party validators that read the wall clock (relying-party libraries).
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::new(time::macros::datetime!(2030-01-01 00:00 UTC));
        let before = clock.unix();
        assert_eq!(clock.unix(), before);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.unix(), before + 90);
    }
}
