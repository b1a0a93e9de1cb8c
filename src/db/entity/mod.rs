//! Hand-written sea-orm entities, one file per table of `migrations/`.
//!
//! Written by hand (not generated) so that each carries the doc comments and
//! relations the queries need; the schema itself is owned by the migrations,
//! and the tests in [`crate::db`] run every query against the migrated schema
//! on both backends, which catches any drift between the two.
//!
//! Columns keep their storage shapes here (JSON lists as `String`, times as
//! Unix seconds); the query modules beside this one turn them into typed Rust.

pub mod audit_events;
pub mod client_redirect_uris;
pub mod clients;
pub mod consents;
pub mod mfa_methods;
pub mod organisations;
pub mod password_credentials;
pub mod refresh_token_families;
pub mod refresh_tokens;
pub mod signing_keys;
pub mod user_roles;
pub mod users;
