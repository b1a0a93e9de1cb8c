use gatehouse::testing::TestApp;
use serde_json::Value;

#[tokio::test]
async fn both_well_known_documents_name_this_issuer() {
    let app = TestApp::spawn().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["issuer"], app.issuer.as_str());
        assert_eq!(doc["jwks_uri"], app.url("/jwks.json"));
    }
}

#[tokio::test]
async fn jwks_publishes_one_public_key_per_algorithm_with_distinct_kids() {
    let app = TestApp::spawn().await;
    let response = app.get("/jwks.json").await;
    assert_eq!(response.status(), 200);
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    let mut kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    kids.sort_unstable();
    kids.dedup();
    assert_eq!(kids.len(), 3, "kids must be distinct");
    for key in keys {
        assert_eq!(key["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{private} leaked in {key}");
        }
    }
}

#[tokio::test]
async fn a_rotated_key_is_published_before_it_signs() {
    let app = TestApp::spawn().await;
    let settings = gatehouse::app::key_settings(&app.state.config).unwrap();
    let before = app
        .state
        .keys
        .active_kid(gatehouse::keys::Alg::Es256)
        .unwrap();
    let added = gatehouse::keys::rotate(
        &app.state.db,
        app.clock.as_ref(),
        &settings,
        Some(gatehouse::keys::Alg::Es256),
    )
    .await
    .unwrap();
    app.state.keys.refresh(&app.state.db).await.unwrap();
    let jwks: Value = app.get("/jwks.json").await.json().await.unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&added[0].kid.as_str()),
        "new key is published"
    );
    assert!(kids.contains(&before.as_str()), "old key still published");
    assert_eq!(
        app.state
            .keys
            .active_kid(gatehouse::keys::Alg::Es256)
            .unwrap(),
        before,
        "the old key keeps signing during the overlap"
    );
}
