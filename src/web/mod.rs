//! HTTP plumbing that no feature owns.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`assets`] | the embedded stylesheet and `form_post` script under `/assets` |
//! | [`client_ip`] | the client address behind trusted proxies, for rate limits and audit |
//! | [`cookies`] | reading and writing cookies, `__Host-` prefixed on https |
//! | [`csrf`] | double-submit cookie CSRF tokens for every hosted form |
//! | [`headers`] | security headers every response carries |
//! | [`page_error`] | the error page a person sees |
//! | [`render`] | the embedded minijinja page templates |

pub mod assets;
pub mod client_ip;
pub mod cookies;
pub mod csrf;
pub mod headers;
pub mod page_error;
pub mod render;

pub use headers::security_headers;
pub use page_error::PageError;
pub use render::{RenderError, Templates};
