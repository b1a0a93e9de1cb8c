//! Server-side rendering of the hosted pages (minijinja).
//!
//! Decisions:
//! - Every template is embedded with `include_str!`, so the binary serves the
//!   same pages from any working directory and a syntax error fails
//!   [`Templates::new`] at start-up rather than a request in production.
//! - `.html` templates are HTML auto-escaped. The formatter escapes `& < > " '`
//!   (enough for text and double-quoted attributes, which is all the templates
//!   use) but, unlike minijinja's default, leaves `/` alone, so a redirect URI
//!   in a `form_post` page reads as itself in the markup.
//! - Undefined values are semi-strict: printing a variable the handler forgot
//!   (a missing `csrf` would give a form that can never be posted) is a render
//!   error, while `{% if x %}` on an optional value is fine. `none` prints as
//!   nothing, so handlers may pass `Option`s straight through.
//! - Debug info is off: in debug mode minijinja copies the variables in scope
//!   into errors, and those hold CSRF tokens that must never reach the log.
//! - A render error is logged once here and the person sees a plain 500 page
//!   with no detail.

use std::fmt;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{AutoEscape, Environment, Output, State, UndefinedBehavior, Value};

/// Every page template, by the name handlers render it with.
///
/// A new template is added here as well as under `templates/`.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("error.html", include_str!("../../templates/error.html")),
    (
        "form_post.html",
        include_str!("../../templates/form_post.html"),
    ),
    (
        "login/_client.html",
        include_str!("../../templates/login/_client.html"),
    ),
    (
        "login/_error.html",
        include_str!("../../templates/login/_error.html"),
    ),
    (
        "device/confirm.html",
        include_str!("../../templates/device/confirm.html"),
    ),
    (
        "login/username.html",
        include_str!("../../templates/login/username.html"),
    ),
    (
        "login/password.html",
        include_str!("../../templates/login/password.html"),
    ),
    (
        "login/consent.html",
        include_str!("../../templates/login/consent.html"),
    ),
    (
        "logout/confirm.html",
        include_str!("../../templates/logout/confirm.html"),
    ),
    (
        "logout/done.html",
        include_str!("../../templates/logout/done.html"),
    ),
    (
        "device/code.html",
        include_str!("../../templates/device/code.html"),
    ),
    (
        "device/confirm.html",
        include_str!("../../templates/device/confirm.html"),
    ),
    (
        "device/done.html",
        include_str!("../../templates/device/done.html"),
    ),
    (
        "recovery/set_password.html",
        include_str!("../../templates/recovery/set_password.html"),
    ),
    (
        "recovery/password_set.html",
        include_str!("../../templates/recovery/password_set.html"),
    ),
    (
        "email/invitation.txt",
        include_str!("../../templates/email/invitation.txt"),
    ),
    (
        "email/password_set.txt",
        include_str!("../../templates/email/password_set.txt"),
    ),
];

/// Answered when a template itself fails: it cannot depend on the templates.
const FALLBACK_500: &str = "<!doctype html>\n<html lang=\"en\">\n<head>\n  \
    <meta charset=\"utf-8\">\n  \
    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  \
    <title>Something went wrong · Gatehouse</title>\n  \
    <link rel=\"stylesheet\" href=\"/assets/gatehouse.css\">\n</head>\n<body>\n  \
    <header class=\"site-header\"><span class=\"brand\">Gatehouse</span></header>\n  \
    <main class=\"card\">\n    <h1>Something went wrong</h1>\n    \
    <p>We could not show this page. Please try again in a moment.</p>\n  \
    </main>\n</body>\n</html>\n";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("a page template is invalid")]
    Invalid {
        template: &'static str,
        #[source]
        source: minijinja::Error,
    },
    #[error("the page could not be shown")]
    Render {
        template: String,
        #[source]
        source: minijinja::Error,
    },
}

impl RenderError {
    fn cause(&self) -> &minijinja::Error {
        match self {
            Self::Invalid { source, .. } | Self::Render { source, .. } => source,
        }
    }
}

/// The compiled page templates; cheap to clone (shared behind an `Arc`).
#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field("count", &TEMPLATES.len())
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// Compiles every embedded template; fails on the first syntax error.
    pub fn new() -> Result<Self, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_debug(false);
        env.set_auto_reload(false);
        env.set_formatter(html_formatter);
        for &(name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|source| RenderError::Invalid {
                    template: name,
                    source,
                })?;
        }
        Ok(Self { env: Arc::new(env) })
    }

    /// Renders `name` with `ctx` (build it with `minijinja::context!`).
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, RenderError> {
        let wrap = |source| RenderError::Render {
            template: name.to_owned(),
            source,
        };
        self.env
            .get_template(name)
            .map_err(wrap)?
            .render(ctx)
            .map_err(wrap)
    }

    /// A 200 `text/html` page, or a plain 500 page if rendering fails.
    pub fn page(&self, name: &str, ctx: Value) -> Response {
        self.page_with_status(StatusCode::OK, name, ctx)
    }

    /// Like [`Templates::page`] with another status (error pages, a form
    /// shown again with a 400 or 403).
    pub fn page_with_status(&self, status: StatusCode, name: &str, ctx: Value) -> Response {
        match self.render(name, ctx) {
            Ok(body) => (status, Html(body)).into_response(),
            Err(err) => {
                // The minijinja error names the template, line and problem,
                // never the values (debug info is off).
                tracing::error!(
                    template = name,
                    cause = %err.cause(),
                    "page rendering failed"
                );
                internal_error_page()
            }
        }
    }
}

/// The 500 page that needs no template.
pub fn internal_error_page() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, Html(FALLBACK_500)).into_response()
}

/// minijinja's escaping formatter, with `/` left as is and `none` printed as
/// nothing (see the module docs).
fn html_formatter(
    out: &mut Output,
    state: &mut State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    if value.is_none() {
        return Ok(());
    }
    if matches!(state.auto_escape(), AutoEscape::Html)
        && !value.is_safe()
        && let Some(text) = value.as_str()
    {
        return write_html_escaped(out, text).map_err(minijinja::Error::from);
    }
    minijinja::escape_formatter(out, state, value)
}

fn write_html_escaped(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    let mut start = 0;
    for (at, character) in text.char_indices() {
        let entity = match character {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&text[start..at])?;
        out.write_str(entity)?;
        // Every escaped character is one byte long.
        start = at + 1;
    }
    out.write_str(&text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    const SCRIPT: &str = "<script>alert(1)</script>";
    const ESCAPED_SCRIPT: &str = "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;";

    fn templates() -> Templates {
        Templates::new().expect("every embedded template compiles")
    }

    fn render(name: &str, ctx: Value) -> String {
        templates()
            .render(name, ctx)
            .unwrap_or_else(|err| panic!("{name} renders: {err:#}"))
    }

    fn assert_escaped(html: &str) {
        assert!(!html.contains(SCRIPT), "raw script in:\n{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "escaped script missing in:\n{html}"
        );
        assert!(
            !html.contains(ESCAPED_SCRIPT),
            "slash was escaped in:\n{html}"
        );
    }

    fn assert_page_shell(html: &str) {
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<meta name=\"viewport\""));
        assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/gatehouse.css\">"));
        assert!(html.contains("<span class=\"brand\">Gatehouse</span>"));
    }

    #[test]
    fn no_template_holds_an_inline_script_or_style() {
        for (name, source) in TEMPLATES {
            assert!(!source.contains("<style"), "{name}");
            assert!(!source.contains("style="), "{name}");
            assert!(
                !source
                    .split_whitespace()
                    .any(|word| word.starts_with("on") && word.contains('=')),
                "{name} has an inline event handler"
            );
            for (at, _) in source.match_indices("<script") {
                assert!(
                    source[at..].starts_with("<script src=\"/assets/"),
                    "{name} has an inline script"
                );
            }
        }
    }

    #[test]
    fn username_page_follows_the_contract() {
        let html = render(
            "login/username.html",
            context! { tx => "tx-1", csrf => "tok-1", login_hint => "alice", client_name => "Console" },
        );
        assert_page_shell(&html);
        assert!(html.contains("<form method=\"post\" action=\"/login/username\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"tx\" value=\"tx-1\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"csrf\" value=\"tok-1\">"));
        assert!(html.contains("<label for=\"username\">Username</label>"));
        assert!(
            html.contains("<input id=\"username\" name=\"username\" autocomplete=\"username\"")
        );
        assert!(html.contains("value=\"alice\""));
        assert!(html.contains("<button type=\"submit\">Next</button>"));
        assert!(html.contains("Console"));
    }

    #[test]
    fn username_page_renders_without_optional_values() {
        let html = render("login/username.html", context! { tx => "t", csrf => "c" });
        assert!(html.contains("name=\"username\""));
        assert!(!html.contains("value=\"\""), "no empty prefill: {html}");
        assert!(!html.contains("role=\"alert\""));
        assert!(!html.contains("to continue to"));
    }

    #[test]
    fn an_option_passed_as_none_prints_nothing() {
        let html = render(
            "login/username.html",
            context! { tx => "t", csrf => "c", login_hint => None::<String>, error => None::<String> },
        );
        assert!(
            html.contains("required autofocus>"),
            "no prefill from none: {html}"
        );
        assert!(!html.contains("role=\"alert\""));
        let printed = templates()
            .env
            .render_named_str("probe.html", "[{{ x }}]", context! { x => None::<String> })
            .unwrap();
        assert_eq!(printed, "[]");
    }

    #[test]
    fn username_page_escapes_user_controlled_values() {
        let html = render(
            "login/username.html",
            context! { tx => "t", csrf => "c", login_hint => SCRIPT, error => SCRIPT, client_name => SCRIPT },
        );
        assert_escaped(&html);
        assert_eq!(html.matches("&lt;script&gt;").count(), 3);
    }

    #[test]
    fn a_quote_in_a_value_cannot_leave_its_attribute() {
        let html = render(
            "login/username.html",
            context! { tx => "t", csrf => "c", login_hint => "a\" autofocus onfocus=\"x'" },
        );
        assert!(
            html.contains("value=\"a&quot; autofocus onfocus=&quot;x&#39;\""),
            "{html}"
        );
    }

    #[test]
    fn password_page_follows_the_contract_and_shows_the_lock() {
        let html = render(
            "login/password.html",
            context! { tx => "tx-2", csrf => "tok-2", username => "alice", mfa_protected => true, client_name => "Console" },
        );
        assert_page_shell(&html);
        assert!(html.contains("<form method=\"post\" action=\"/login/password\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"tx\" value=\"tx-2\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"csrf\" value=\"tok-2\">"));
        assert!(html.contains("<label for=\"password\">Password</label>"));
        assert!(html.contains(
            "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\""
        ));
        assert!(html.contains("<button type=\"submit\">Sign in</button>"));
        assert!(html.contains("<span class=\"username\">alice</span>"));
        assert!(html.contains("aria-label=\"protected by a second factor\""));
        assert!(html.contains('🔒'));
    }

    #[test]
    fn password_page_hides_the_lock_when_not_protected() {
        for ctx in [
            context! { tx => "t", csrf => "c", username => "bob", mfa_protected => false },
            context! { tx => "t", csrf => "c", username => "bob" },
        ] {
            let html = render("login/password.html", ctx);
            assert!(!html.contains('🔒'));
            assert!(!html.contains("protected by a second factor"));
            assert!(html.contains("<span class=\"username\">bob</span>"));
        }
    }

    #[test]
    fn password_page_escapes_username_error_and_client_name() {
        let html = render(
            "login/password.html",
            context! { tx => "t", csrf => "c", username => SCRIPT, error => SCRIPT, client_name => SCRIPT },
        );
        assert_escaped(&html);
        assert!(html.matches("&lt;script&gt;").count() >= 3);
    }

    #[test]
    fn wrong_credentials_message_is_shown_as_an_alert() {
        let html = render(
            "login/password.html",
            context! { tx => "t", csrf => "c", username => "bob", error => "Wrong username or password." },
        );
        assert!(html.contains("role=\"alert\">Wrong username or password.</p>"));
    }

    #[test]
    fn consent_page_lists_scopes_and_offers_allow_and_deny() {
        let html = render(
            "login/consent.html",
            context! {
                tx => "tx-3", csrf => "tok-3", client_name => SCRIPT,
                scopes => vec![
                    context! { name => "openid", description => "Know who you are" },
                    context! { name => "email" },
                ],
            },
        );
        assert_page_shell(&html);
        assert_escaped(&html);
        assert!(html.contains("<form method=\"post\" action=\"/consent\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"tx\" value=\"tx-3\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"csrf\" value=\"tok-3\">"));
        assert!(html.contains("<button name=\"decision\" value=\"allow\">Allow</button>"));
        assert!(html.contains(
            "<button name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button>"
        ));
        assert!(html.contains("openid</span>: Know who you are</li>"));
        assert!(html.contains("email</span></li>"));
    }

    #[test]
    fn form_post_has_one_hidden_input_per_field_and_the_exact_action() {
        let html = render(
            "form_post.html",
            context! {
                action => "https://rp.example/cb?x=1&y=2",
                fields => vec![vec!["code", "abc"], vec!["state", SCRIPT], vec!["iss", "https://id.example"]],
            },
        );
        assert_page_shell(&html);
        assert!(
            html.contains("<form method=\"post\" action=\"https://rp.example/cb?x=1&amp;y=2\">")
        );
        assert_eq!(html.matches("<input type=\"hidden\"").count(), 3);
        assert!(html.contains("<input type=\"hidden\" name=\"code\" value=\"abc\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"iss\" value=\"https://id.example\">"));
        assert_escaped(&html);
        assert!(html.contains("<button type=\"submit\">Continue</button>"));
        assert!(html.contains("<script src=\"/assets/form_post.js\"></script>"));
    }

    #[test]
    fn form_post_fields_may_be_pairs_as_tuples() {
        let html = render(
            "form_post.html",
            context! { action => "https://rp.example/cb", fields => vec![("code", "abc"), ("state", "xyz")] },
        );
        assert!(html.contains("<input type=\"hidden\" name=\"code\" value=\"abc\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"state\" value=\"xyz\">"));
    }

    #[test]
    fn logout_confirmation_carries_only_the_values_given() {
        let full = render(
            "logout/confirm.html",
            context! { csrf => "tok", state => "s1", post_logout_redirect_uri => "https://rp.example/bye", client_id => "rp" },
        );
        assert_page_shell(&full);
        assert!(full.contains("<form method=\"post\" action=\"/end_session\">"));
        assert!(full.contains("<input type=\"hidden\" name=\"csrf\" value=\"tok\">"));
        assert!(full.contains("<input type=\"hidden\" name=\"state\" value=\"s1\">"));
        assert!(full.contains(
            "<input type=\"hidden\" name=\"post_logout_redirect_uri\" value=\"https://rp.example/bye\">"
        ));
        assert!(full.contains("<input type=\"hidden\" name=\"client_id\" value=\"rp\">"));
        // `confirm` tells the handler the POST comes from this page.
        assert!(
            full.contains(
                "<button type=\"submit\" name=\"confirm\" value=\"yes\">Sign out</button>"
            )
        );

        let bare = render("logout/confirm.html", context! { csrf => "tok" });
        assert_eq!(bare.matches("<input type=\"hidden\"").count(), 1);
    }

    #[test]
    fn logged_out_page_says_so_and_embeds_nothing() {
        let html = render("logout/done.html", context! {});
        assert_page_shell(&html);
        assert!(html.contains("<h1>You are signed out</h1>"));
        assert!(!html.contains("<iframe"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("<img"));
    }

    #[test]
    fn device_code_page_follows_the_contract() {
        let html = render(
            "device/code.html",
            context! { csrf => "tok", user_code => "WDJB-MJHT", error => SCRIPT },
        );
        assert_page_shell(&html);
        assert_escaped(&html);
        assert!(html.contains("<form method=\"post\" action=\"/device\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"csrf\" value=\"tok\">"));
        assert!(html.contains("name=\"user_code\""));
        assert!(html.contains("value=\"WDJB-MJHT\""));
        assert!(html.contains("<button type=\"submit\">Continue</button>"));

        let bare = render("device/code.html", context! { csrf => "tok" });
        assert!(!bare.contains("value=\"WDJB"));
        assert!(!bare.contains("role=\"alert\""));
    }

    #[test]
    fn device_confirmation_shows_the_code_and_posts_the_decision() {
        let html = render(
            "device/confirm.html",
            context! { csrf => "tok", user_code => "WDJB-MJHT", client_name => SCRIPT, scopes => vec!["openid", "api"] },
        );
        assert_page_shell(&html);
        assert_escaped(&html);
        assert!(html.contains("with the code <strong>WDJB-MJHT</strong>"));
        assert!(html.contains("<form method=\"post\" action=\"/device\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"csrf\" value=\"tok\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"user_code\" value=\"WDJB-MJHT\">"));
        assert!(html.contains("<button name=\"decision\" value=\"allow\">Allow</button>"));
        assert!(html.contains("value=\"deny\" class=\"secondary\">Deny</button>"));
        assert!(html.contains("<span class=\"scope-name\">api</span>"));
    }

    #[test]
    fn device_done_page_says_whether_the_device_is_connected() {
        let yes = render("device/done.html", context! { approved => true });
        assert!(yes.contains("Your device is connected"));
        let no = render("device/done.html", context! { approved => false });
        assert!(!no.contains("Your device is connected"));
        assert!(no.contains("Access denied"));
    }

    #[test]
    fn error_page_shows_title_and_escaped_message() {
        let html = render(
            "error.html",
            context! { title => "Page not found", message => SCRIPT },
        );
        assert_page_shell(&html);
        assert!(html.contains("<h1>Page not found</h1>"));
        assert_escaped(&html);
    }

    #[test]
    fn a_forgotten_csrf_token_is_a_render_error_not_an_empty_field() {
        let err = templates()
            .render("login/username.html", context! { tx => "t" })
            .expect_err("csrf is required");
        assert!(matches!(err, RenderError::Render { .. }));
        assert_eq!(err.to_string(), "the page could not be shown");
    }

    #[test]
    fn an_unknown_template_is_a_render_error() {
        let err = templates()
            .render("nope.html", context! {})
            .expect_err("no such template");
        assert!(matches!(err, RenderError::Render { ref template, .. } if template == "nope.html"));
    }

    #[test]
    fn escaping_leaves_text_without_markup_untouched() {
        let mut out = String::new();
        write_html_escaped(&mut out, "héllo/wörld & <b>'x'</b>").unwrap();
        assert_eq!(out, "héllo/wörld &amp; &lt;b&gt;&#39;x&#39;&lt;/b&gt;");
    }

    async fn body_of(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn page_answers_200_html() {
        let response = templates().page("logout/done.html", context! {});
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        assert!(body_of(response).await.contains("You are signed out"));
    }

    #[tokio::test]
    async fn a_failing_page_answers_a_plain_500_without_details() {
        let response = templates().page("login/username.html", context! { tx => "secret-tx" });
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        let body = body_of(response).await;
        assert!(body.contains("<h1>Something went wrong</h1>"));
        assert!(!body.contains("secret-tx"));
        assert!(!body.contains("csrf"));
        assert!(!body.contains("username.html"));
    }
}
