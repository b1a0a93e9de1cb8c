//! The protocol surface: OpenID Connect Core 1.0 and the OAuth 2 RFCs it
//! builds on.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`discovery`] | provider metadata (OpenID Connect Discovery 1.0, RFC 8414), serialised once |
//! | [`metadata`] | the discovery and JWKS routes, outside the shared layers |
//! | [`authorize`] | the authorization endpoint and pushed authorization requests |
//! | [`code`] | authorization codes: single use, replay revokes |
//! | [`token`] | the token endpoint, one module per grant |
//! | [`tokens`] | minting access, ID and refresh tokens |
//! | [`access_token`] | checking presented access tokens; revocation markers |
//! | [`verified_tokens`] | the claims of access tokens whose signature was already checked |
//! | [`refresh`] | refresh tokens: spent in the store, kept in the database |
//! | [`grant`] | what a user authorized, behind every token |
//! | [`claims`] | standard user claims by scope and by name |
//! | [`userinfo`] | the userinfo endpoint |
//! | [`introspect`], [`revoke`] | RFC 7662 and RFC 7009 |
//! | [`end_session`], [`backchannel`] | RP-initiated and back-channel logout |
//! | [`device`] | the device authorization grant (RFC 8628) |
//! | [`client_auth`] | authenticating clients |
//! | [`registration`] | turning a [`crate::config::ClientSpec`] into a stored client |
//! | [`error`] | RFC error codes and how they reach the client |

pub mod access_token;
pub mod authorize;
pub mod backchannel;
pub mod claims;
pub mod client_auth;
pub mod code;
pub mod device;
pub mod discovery;
pub mod end_session;
pub mod error;
pub mod grant;
pub mod introspect;
pub mod metadata;
pub mod refresh;
pub mod registration;
pub mod revoke;
pub mod routes;
pub mod token;
pub mod tokens;
pub mod userinfo;
pub mod verified_tokens;

pub use discovery::Discovery;
pub use registration::{Registered, RegistrationError, register_client, sync_declared_clients};
pub use routes::routes;
