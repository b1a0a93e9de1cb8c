//! The harness of the black-box `OpenID` Connect checks.
//!
//! Each check in `tests/` is named after the `OpenID` Foundation conformance
//! suite module it mirrors (`oidcc_discovery_endpoint_verification`, …), so a
//! failure here maps straight onto a certification module. The checks start
//! Gatehouse in-process on a free port and speak to it only over HTTP, with the
//! `openidconnect` crate, as a relying party would, plus raw assertions for
//! what relying-party libraries are lenient about.

pub mod browser;
mod html;
pub mod provider;

use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use openidconnect::{IssuerUrl, reqwest};

pub use gatehouse::testing::TestApp;

/// An HTTP client as a relying party uses it: no redirects followed, so a
/// check sees exactly what the provider answered.
pub fn rp_http_client() -> reqwest::Client {
    reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("http client: {e}"))
}

/// The provider's JWKS, parsed by the relying-party library.
pub async fn fetch_jwks(metadata: &CoreProviderMetadata) -> CoreJsonWebKeySet {
    let response = rp_http_client()
        .get(metadata.jwks_uri().as_str())
        .send()
        .await
        .unwrap_or_else(|e| panic!("JWKS request: {e}"));
    response
        .json()
        .await
        .unwrap_or_else(|e| panic!("JWKS does not parse: {e}"))
}

/// Discovers the provider the way `openidconnect` relying parties do, which
/// also checks that the discovered issuer matches the one asked for.
pub async fn discover(app: &TestApp) -> CoreProviderMetadata {
    let issuer = IssuerUrl::new(app.issuer.clone()).unwrap_or_else(|e| panic!("issuer: {e}"));
    CoreProviderMetadata::discover_async(issuer, &rp_http_client())
        .await
        .unwrap_or_else(|e| panic!("discovery failed: {e:?}"))
}
