//! Gatehouse: an OpenID Connect provider.
//!
//! # Layout
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`config`] | typed configuration: defaults, `config/gatehouse.toml`, `GATEHOUSE__…` env overrides, validation |
//! | [`app`] | [`app::AppState`], the router merged from the features, [`app::serve`] |
//! | [`clock`] | the only place that reads wall time |
//! | [`domain`] | newtypes parsed at the edge: usernames, emails, phones, URIs, scopes, secrets |
//! | [`web`] | HTTP plumbing no feature owns: templates, error pages, CSRF, cookies, client address, security headers, assets |
//! | [`oidc`] | protocol endpoints: discovery, authorize, token, userinfo, introspection, revocation, logout, device |
//! | [`login`] | hosted sign-in pages, consent, the SSO session |
//! | [`recovery`] | single-use password links, invitations, the set-password page |
//! | [`keys`] | signing keys: generation, encryption at rest, rotation, JWKS |
//! | [`store`] | the ephemeral store trait, with memory and Redis backends |
//! | [`db`] | sea-orm entities and queries per aggregate |
//! | [`notify`] | email senders: SMTP, the development outbox, an in-memory capture for tests |
//! | [`security`] | password policy and hashing, client secrets, audit events |
//! | [`ops`] | `/healthz`, `/readyz`, `/metrics` |
//! | [`cli`] | the `gatehouse` sub-commands |
//! | [`testing`] | throw-away services and an in-process app for tests |

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod keys;
pub mod login;
pub mod notify;
pub mod oidc;
pub mod ops;
pub mod recovery;
pub mod security;
pub mod store;
#[doc(hidden)]
pub mod testing;
pub mod web;
