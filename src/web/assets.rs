//! The static files the hosted pages use, embedded in the binary.
//!
//! Decisions:
//! - Embedded with `include_str!`, like the templates, so the binary serves
//!   them from any working directory and needs no static-file directory.
//! - Served from our own origin because the Content-Security-Policy allows
//!   only `'self'` for scripts and styles, and forbids inline ones: this is
//!   why the `form_post` auto-submit lives in a file.
//! - `Cache-Control: public, max-age=86400`: they hold nothing personal; a
//!   day keeps a changed file from lingering long after a release.

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

const STYLESHEET: &str = include_str!("../../assets/gatehouse.css");
const FORM_POST_SCRIPT: &str = include_str!("../../assets/form_post.js");
const PASSWORD_STRENGTH_SCRIPT: &str = include_str!("../../assets/password_strength.js");
const CACHE_FOR_A_DAY: &str = "public, max-age=86400";

/// `/assets/gatehouse.css`, `/assets/form_post.js` and
/// `/assets/password_strength.js` (the set-password page's meter).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/assets/gatehouse.css", get(stylesheet))
        .route("/assets/form_post.js", get(form_post_script))
        .route(
            "/assets/password_strength.js",
            get(|| async { script(PASSWORD_STRENGTH_SCRIPT) }),
        )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static(CACHE_FOR_A_DAY)),
        ],
        STYLESHEET,
    )
}

async fn form_post_script() -> impl IntoResponse {
    script(FORM_POST_SCRIPT)
}

fn script(source: &'static str) -> impl IntoResponse {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static(CACHE_FOR_A_DAY)),
        ],
        source,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves the asset routes on a loopback port; the task ends with the test.
    async fn serve() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, routes::<()>()).await.unwrap();
        });
        format!("http://{address}")
    }

    async fn fetch(path: &str) -> reqwest::Response {
        let base = serve().await;
        reqwest::get(format!("{base}{path}")).await.unwrap()
    }

    #[tokio::test]
    async fn stylesheet_is_served_as_css_and_cacheable() {
        let response = fetch("/assets/gatehouse.css").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/css; charset=utf-8"
        );
        assert_eq!(response.headers()["cache-control"], "public, max-age=86400");
        let body = response.text().await.unwrap();
        assert!(body.contains(":focus-visible"));
        assert!(!body.contains("url("), "no external resources");
        assert!(!body.contains("@import"));
    }

    #[tokio::test]
    async fn form_post_script_is_served_as_javascript_and_submits_the_first_form() {
        let response = fetch("/assets/form_post.js").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(response.headers()["cache-control"], "public, max-age=86400");
        let body = response.text().await.unwrap();
        assert!(body.contains("DOMContentLoaded"));
        assert!(body.contains("document.forms[0]"));
        assert!(body.contains(".submit()"));
    }

    #[tokio::test]
    async fn password_strength_script_is_served_as_javascript_and_knows_every_rule() {
        let response = fetch("/assets/password_strength.js").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        let body = response.text().await.unwrap();
        for code in [
            "too_short",
            "missing_lowercase",
            "missing_uppercase",
            "missing_digit",
            "missing_special",
            "forbidden_character",
        ] {
            assert!(body.contains(code), "{code} missing");
        }
        // Its character class lists exactly the policy's special characters.
        assert!(
            body.contains(
                crate::security::password_policy::SPECIAL_CHARACTERS
                    .replace('-', "\\-")
                    .replace('/', "\\/")
                    .as_str()
            )
        );
    }

    #[tokio::test]
    async fn an_unknown_asset_is_not_found() {
        let response = fetch("/assets/other.js").await;
        assert_eq!(response.status(), 404);
    }
}
