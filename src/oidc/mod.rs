//! The protocol surface: discovery (`OpenID` Connect Discovery 1.0, RFC 8414),
//! JWKS, and client registration from the CLI and the config file.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`discovery`] | the metadata documents, serialised once at start-up |
//! | [`registration`] | turning a [`crate::config::ClientSpec`] into a stored client |
//! | `routes` | the HTTP endpoints |

pub mod discovery;
pub mod registration;
mod routes;

pub use discovery::Discovery;
pub use registration::{Registered, RegistrationError, register_client, sync_declared_clients};
pub use routes::routes;
