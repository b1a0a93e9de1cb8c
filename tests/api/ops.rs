use gatehouse::testing::TestApp;
use serde_json::Value;

#[tokio::test]
async fn health_and_readiness_answer_when_database_and_store_are_up() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"database": "ok", "store": "ok"}));
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern() {
    let app = TestApp::spawn().await;
    app.get("/jwks.json").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("http_requests_total") && l.contains("route=\"/jwks.json\"")),
        "{text}"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/jwks.json", "/no-such-page"] {
        let response = app.get(path).await;
        let h = response.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(h.contains_key("content-security-policy"), "{path}");
    }
    let health = app.get("/healthz").await;
    assert_eq!(health.headers()["cache-control"], "no-store");
    let jwks = app.get("/jwks.json").await;
    assert_eq!(jwks.headers()["cache-control"], "public, max-age=300");
}

#[tokio::test]
async fn an_unknown_path_is_a_plain_404() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/no-such-page").await.status(), 404);
}
