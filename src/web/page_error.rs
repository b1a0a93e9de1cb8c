//! The error page a person sees when a hosted page cannot go on.
//!
//! Decisions:
//! - A heading and one plain sentence, never a cause: handlers log the cause
//!   (once, where they know it) and build a [`PageError`] from what is safe
//!   to say. The constructors with a fixed message are for the cases where
//!   nothing more should be said.
//! - Rendering needs the [`Templates`], which live in the app state, so this
//!   type is turned into a response with [`PageError::into_response_with`]
//!   rather than `IntoResponse`.

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;

use super::csrf::CsrfError;
use super::render::Templates;

/// An error page: the status, a heading and a sentence a person understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
}

impl PageError {
    /// 400: the request cannot be handled as it is; `message` says why.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            title: "This request cannot be handled",
            message: message.into(),
        }
    }

    /// 404.
    pub fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            title: "Page not found",
            message: "There is nothing at this address. Please check the link.".into(),
        }
    }

    /// 403: the person may not do this; `message` says what to do instead.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            title: "Access denied",
            message: message.into(),
        }
    }

    /// 429.
    pub fn too_many_requests() -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            title: "Too many attempts",
            message: "Please wait a few minutes before trying again.".into(),
        }
    }

    /// 503: a backing service (database, store) failed; worth a retry.
    pub fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Temporarily unavailable",
            message: "This service is briefly unavailable. Please try again in a moment.".into(),
        }
    }

    /// 500: says nothing about what failed.
    pub fn internal() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Something went wrong",
            message: "We could not complete your request. Please try again in a moment.".into(),
        }
    }

    /// Renders `error.html` with this status.
    pub fn into_response_with(self, templates: &Templates) -> Response {
        templates.page_with_status(
            self.status,
            "error.html",
            context! { title => self.title, message => self.message },
        )
    }
}

/// A failed CSRF check is a 403 whose message tells the person to go back.
impl From<CsrfError> for PageError {
    fn from(err: CsrfError) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            title: "This form has expired",
            message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn respond(error: PageError) -> (StatusCode, String) {
        let templates = Templates::new().unwrap();
        let response = error.into_response_with(&templates);
        let status = response.status();
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn each_constructor_answers_its_status_with_a_heading_and_a_sentence() {
        let cases = [
            (
                PageError::bad_request("The link is incomplete."),
                400,
                "The link is incomplete.",
            ),
            (
                PageError::not_found(),
                404,
                "There is nothing at this address.",
            ),
            (
                PageError::forbidden("Ask your security manager."),
                403,
                "Ask your security manager.",
            ),
            (
                PageError::too_many_requests(),
                429,
                "Please wait a few minutes",
            ),
            (PageError::unavailable(), 503, "briefly unavailable"),
            (
                PageError::internal(),
                500,
                "We could not complete your request.",
            ),
        ];
        for (error, status, sentence) in cases {
            let title = error.title;
            let (got, body) = respond(error).await;
            assert_eq!(got.as_u16(), status);
            assert!(body.contains(&format!("<h1>{title}</h1>")), "{body}");
            assert!(body.contains(sentence), "{body}");
        }
    }

    #[tokio::test]
    async fn a_message_with_markup_is_escaped() {
        let (_, body) = respond(PageError::bad_request("<img src=x onerror=alert(1)>")).await;
        assert!(!body.contains("<img"));
        assert!(body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    }

    #[tokio::test]
    async fn a_failed_csrf_check_is_a_403_telling_the_person_to_go_back() {
        let (status, body) = respond(CsrfError::Mismatch.into()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("<h1>This form has expired</h1>"));
        assert!(body.contains("Please go back and try again."));
    }
}
