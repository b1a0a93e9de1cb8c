//! Test support shared by the unit tests, `tests/` and `conformance-tests/`:
//! throw-away database and store servers, and the app in-process.
//! Compiled into the library (not behind `cfg(test)`) because the integration
//! test crates link the library like any other user.

#![allow(
    clippy::expect_used,
    reason = "test support: a failed setup should stop the test loudly"
)]

pub mod app;
pub mod services;

pub use app::{TestApp, TestAppBuilder};
