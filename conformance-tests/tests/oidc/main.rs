//! The black-box OpenID Connect checks, one module per certification plan or
//! protocol feature. They share one test binary so the workspace links one
//! large executable here instead of one per file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failure should stop loudly"
)]

mod basic_op;
mod client_authentication;
mod config_op;
mod device_grant;
mod examples;
mod form_post_op;
mod logout_op;
mod multi_instance;
mod par;
mod sign_in_limits;
mod signing_keys;
mod token_lifecycle;
