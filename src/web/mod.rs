//! HTTP plumbing that no feature owns.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`headers`] | security headers every response carries |

pub mod headers;

pub use headers::security_headers;
