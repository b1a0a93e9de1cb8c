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
    // The recorder is shared by every app in this process, so other tests
    // may add to the counts meanwhile: they can only grow by more.
    let before = jwks_requests(&app).await;
    for _ in 0..3 {
        assert_eq!(app.get("/jwks.json").await.status(), 200);
    }
    assert!(jwks_requests(&app).await >= before + 3);
    app.get("/healthz").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("http_requests_total") && l.contains("route=\"/healthz\"")),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_report_the_cpu_time_of_password_hashes() {
    let app = TestApp::spawn().await;
    app.create_user("hash-metric", "Correct-h0rse-battery")
        .await;
    let text = app.get("/metrics").await.text().await.unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0.0, |v| v.parse().unwrap())
    };
    assert!(value("password_hash_cpu_seconds_count") >= 1.0, "{text}");
    assert!(value("password_hash_cpu_seconds_sum") > 0.0, "{text}");
}

/// The successful GETs of the JWKS counted so far.
async fn jwks_requests(app: &TestApp) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find(|l| {
            l.starts_with("http_requests_total")
                && l.contains("route=\"/jwks.json\"")
                && l.contains("method=\"GET\"")
                && l.contains("status=\"200\"")
        })
        .map_or(0, |l| l.rsplit(' ').next().unwrap().parse().unwrap())
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in [
        "/healthz",
        "/jwks.json",
        "/.well-known/openid-configuration",
        "/no-such-page",
    ] {
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
async fn metadata_refuses_other_methods_with_405_and_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/jwks.json", "/.well-known/openid-configuration"] {
        let response = app.http.post(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 405, "{path}");
        assert_eq!(response.headers()["allow"], "GET,HEAD", "{path}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
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
