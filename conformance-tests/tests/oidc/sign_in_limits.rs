//! What an anonymous client can make Gatehouse store: each `/authorize`
//! that needs a sign-in keeps one in the store for 15 minutes, so one
//! address may start only `session.starts_per_address_per_minute` of them.

use conformance_tests::browser::Browser;
use conformance_tests::provider::{PASSWORD, Provider, RP, USERNAME};
use gatehouse::testing::TestApp;

const STATE: &str = "flood-state";
const LIMIT: u64 = 3;

#[tokio::test]
async fn one_address_past_its_sign_in_budget_gets_temporarily_unavailable() {
    let p = Provider::start_with(
        TestApp::builder().config(|c| c.session.starts_per_address_per_minute = LIMIT),
    )
    .await;
    let url = p.authorize_url(&Provider::request("client", STATE, "n-1", &[]));
    // One person signs in (the first start), then anonymous starts use up the rest.
    let signed_in = Browser::new();
    let callback = signed_in
        .login(&url, USERNAME, PASSWORD, true, RP)
        .await
        .expect_redirect();
    assert!(callback.param("code").is_some());
    for _ in 1..LIMIT {
        let page = Browser::new().navigate(&url, RP).await.expect_page();
        assert!(
            page.url.contains("/login"),
            "a sign-in within the budget starts: {}",
            page.url
        );
    }

    let callback = Browser::new().navigate(&url, RP).await.expect_redirect();
    assert_eq!(callback.param("error"), Some("temporarily_unavailable"));
    assert_eq!(callback.param("state"), Some(STATE));
    assert_eq!(callback.param("iss"), Some(p.app.issuer.as_str()));
    assert_eq!(callback.param("code"), None);

    // Only new sign-ins are held back: the person signed in still gets a
    // code, and prompt=none still hears login_required.
    let callback = signed_in.navigate(&url, RP).await.expect_redirect();
    assert!(callback.param("code").is_some(), "{:?}", callback.params);
    let silent = p.authorize_url(&Provider::request(
        "client",
        STATE,
        "n-2",
        &[("prompt", "none")],
    ));
    let callback = Browser::new().navigate(&silent, RP).await.expect_redirect();
    assert_eq!(callback.param("error"), Some("login_required"));
}
