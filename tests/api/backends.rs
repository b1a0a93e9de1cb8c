//! The same app on PostgreSQL and Redis, as several instances run it.

use gatehouse::testing::TestApp;
use gatehouse::testing::services::{postgres, redis};
use serde_json::Value;

#[tokio::test]
async fn the_app_runs_on_postgresql_and_redis() {
    let (Some(pg), Some(rd)) = (postgres("api::backends"), redis("api::backends")) else {
        return;
    };
    let app = TestApp::builder()
        .database(&pg.url)
        .store(&rd.url)
        .spawn()
        .await;
    let ready: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready, serde_json::json!({"database": "ok", "store": "ok"}));
    let jwks: Value = app.get("/jwks.json").await.json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);

    // A second instance on the same database publishes the same keys instead
    // of making its own.
    let second = TestApp::builder()
        .database(&pg.url)
        .store(&rd.url)
        .spawn()
        .await;
    let jwks2: Value = second.get("/jwks.json").await.json().await.unwrap();
    assert_eq!(jwks, jwks2);
}

#[tokio::test]
async fn readiness_fails_when_the_store_goes_away() {
    let Some(rd) = redis("api::backends") else {
        return;
    };
    let app = TestApp::builder().store(&rd.url).spawn().await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    drop(rd);
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["store"], "unavailable");
    assert_eq!(body["database"], "ok");
}
