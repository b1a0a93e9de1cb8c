//! Credential handling shared by every feature: the password policy
//! (DESIGN.md §5), password hashing with argon2id (DESIGN.md "Passwords"),
//! client secrets and the random tokens and digests that codes and handles
//! are made of.
//!
//! Everything here is plain functions and types that know nothing of HTTP or
//! storage, so each rule is tested once here and the features only call it.
//! Nothing in this module logs or displays a secret: inputs arrive as
//! [`crate::domain::SecretString`] where they are secret, and every error's
//! `Display` is safe to show.

pub mod audit;
pub mod client_secret;
pub mod password_hash;
pub mod password_policy;

pub use client_secret::{
    SecretError, generate_client_secret, hash_client_secret, random_token, sha256_b64url,
    validate_supplied_secret, verify_client_secret,
};
pub use password_hash::{HashError, HashParams, PasswordHasher};
pub use password_policy::{POLICY_SUMMARY, PolicyViolations, Rule, Strength, check_password};
