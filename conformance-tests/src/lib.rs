//! The harness of the black-box `OpenID` Connect checks.
//!
//! Each check in `tests/` is named after the `OpenID` Foundation conformance
//! suite module it mirrors (`oidcc_discovery_endpoint_verification`, …), so a
//! failure here maps straight onto a certification module. The checks start
//! Gatehouse in-process on a free port and speak to it only over HTTP, with the
//! `openidconnect` crate, as a relying party would, plus raw assertions for
//! what relying-party libraries are lenient about.

use openidconnect::core::CoreProviderMetadata;
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

/// Discovers the provider the way `openidconnect` relying parties do, which
/// also checks that the discovered issuer matches the one asked for.
pub async fn discover(app: &TestApp) -> CoreProviderMetadata {
    let issuer = IssuerUrl::new(app.issuer.clone()).unwrap_or_else(|e| panic!("issuer: {e}"));
    CoreProviderMetadata::discover_async(issuer, &rp_http_client())
        .await
        .unwrap_or_else(|e| panic!("discovery failed: {e:?}"))
}
