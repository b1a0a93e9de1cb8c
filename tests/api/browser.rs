//! The hosted pages in a real headless Chromium (through chromedriver): what
//! only a browser proves — the pages render and submit with their
//! Content-Security-Policy in force, and the `form_post` page's script posts
//! the answer to the client by itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use fantoccini::{Client, ClientBuilder, Locator};
use gatehouse::config::ClientSpec;
use gatehouse::domain::SecretString;
use gatehouse::testing::TestApp;
use gatehouse::testing::services::{Service, chromedriver, chromium_binary};

/// What the relying party received: the method and the raw parameters.
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A relying party's callback on a free port, recording what arrives.
async fn relying_party() -> (String, Received) {
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/cb",
            get(
                |State(r): State<Received>, RawQuery(q): RawQuery| async move {
                    r.lock()
                        .unwrap()
                        .push(("GET".into(), q.unwrap_or_default()));
                    axum::response::Html("<h1>Signed in at the client</h1>")
                },
            )
            .post(|State(r): State<Received>, body: String| async move {
                r.lock().unwrap().push(("POST".into(), body));
                axum::response::Html("<h1>Signed in at the client</h1>")
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, received)
}

async fn chrome(driver: &Service, profile: &tempfile::TempDir) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium_binary().unwrap(),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--window-size=1000,900",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    ClientBuilder::native()
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("chromedriver session")
}

async fn app_with_client(rp: &str) -> TestApp {
    let app = TestApp::spawn().await;
    app.create_user("willow", "Tara#Maclay1").await;
    app.create_client(ClientSpec {
        client_id: "webapp".into(),
        name: Some("The Web App".into()),
        secret: Some(SecretString::from(
            "a-long-enough-secret-for-the-web-app-0123",
        )),
        redirect_uris: vec![format!("{rp}/cb")],
        ..ClientSpec::default()
    })
    .await;
    app
}

/// Types into the page as a person does and follows the pages to the client.
async fn sign_in(c: &Client, authorize_url: &str, screenshot: Option<&str>) {
    c.goto(authorize_url).await.unwrap();
    let username = c.wait().for_element(Locator::Id("username")).await.unwrap();
    if let Some(path) = screenshot {
        let png = c.screenshot().await.unwrap();
        std::fs::write(path, png).unwrap();
    }
    username.send_keys("willow").await.unwrap();
    c.find(Locator::Css("form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let password = c.wait().for_element(Locator::Id("password")).await.unwrap();
    password.send_keys("Tara#Maclay1").await.unwrap();
    c.find(Locator::Css("form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let allow = c
        .wait()
        .for_element(Locator::Css("button[value=allow]"))
        .await
        .unwrap();
    allow.click().await.unwrap();
}

async fn wait_for(received: &Received) -> (String, String) {
    for _ in 0..100 {
        if let Some(first) = received.lock().unwrap().first().cloned() {
            return first;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the client received nothing");
}

#[tokio::test]
async fn a_person_signs_in_in_a_real_browser_and_the_client_gets_a_code() {
    let Some(driver) = chromedriver("api::browser") else {
        return;
    };
    let (rp, received) = relying_party().await;
    let app = app_with_client(&rp).await;
    let profile = tempfile::tempdir().unwrap();
    let c = chrome(&driver, &profile).await;
    let url = app.url(&format!(
        "/authorize?client_id=webapp&response_type=code&scope=openid&state=s-1&redirect_uri={rp}/cb"
    ));
    let shot = std::env::temp_dir().join("gatehouse-login-page.png");
    sign_in(&c, &url, Some(shot.to_str().unwrap())).await;
    let (method, query) = wait_for(&received).await;
    assert_eq!(method, "GET");
    assert!(query.contains("code="), "{query}");
    assert!(query.contains("state=s-1"), "{query}");
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 1000,
        "a screenshot of the login page"
    );
    c.close().await.unwrap();
}

#[tokio::test]
async fn the_form_post_page_delivers_the_code_by_itself() {
    let Some(driver) = chromedriver("api::browser") else {
        return;
    };
    let (rp, received) = relying_party().await;
    let app = app_with_client(&rp).await;
    let profile = tempfile::tempdir().unwrap();
    let c = chrome(&driver, &profile).await;
    let url = app.url(&format!(
        "/authorize?client_id=webapp&response_type=code&response_mode=form_post&scope=openid&state=s-2&redirect_uri={rp}/cb"
    ));
    sign_in(&c, &url, None).await;
    let (method, body) = wait_for(&received).await;
    assert_eq!(
        method, "POST",
        "the script submitted the form, CSP allowing it"
    );
    assert!(body.contains("code="), "{body}");
    assert!(body.contains("state=s-2"), "{body}");
    c.close().await.unwrap();
}
