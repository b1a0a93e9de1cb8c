//! Bad input to the hosted pages gets a page a person understands, never a
//! framework's message.

use gatehouse::testing::TestApp;

#[tokio::test]
async fn malformed_form_posts_get_an_error_page_not_a_framework_message() {
    let app = TestApp::spawn().await;
    for path in [
        "/login/username",
        "/login/password",
        "/consent",
        "/device",
        "/password/set",
    ] {
        let response = app
            .http
            .post(app.url(path))
            .header("content-type", "text/plain")
            .body("\u{0}\u{ff}garbage")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{path}: {status}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let body = response.text().await.unwrap();
        assert!(!body.contains("Failed to deserialize"), "{path}: {body}");
        assert!(!body.contains("Content-Type"), "{path}: {body}");
    }
}

#[tokio::test]
async fn an_expired_sign_in_page_says_so_plainly() {
    let app = TestApp::spawn().await;
    let response = app.get("/login?tx=unknown").await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("expired"));
}
