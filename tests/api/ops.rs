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
async fn an_unknown_path_is_a_404_page_a_person_understands() {
    let app = TestApp::spawn().await;
    let response = app.get("/no-such-page").await;
    assert_eq!(response.status(), 404);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn an_https_issuer_adds_strict_transport_security_and_http_does_not() {
    let https = TestApp::builder()
        .config(|c| c.issuer = "https://id.example.com".into())
        .spawn()
        .await;
    let response = https.get("/healthz").await;
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let http = TestApp::spawn().await;
    assert!(
        !http
            .get("/healthz")
            .await
            .headers()
            .contains_key("strict-transport-security")
    );
}
