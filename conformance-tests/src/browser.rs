//! The scripted browser of the conformance checks (checklist §4.1, item 2).
//!
//! The OpenID Foundation suite drives a real browser through the provider's
//! pages; this harness gets the same coverage with an HTTP client that keeps a
//! cookie jar, follows redirects itself and fills the forms of the hosted-pages
//! contract (username, password, consent). No JavaScript is run: every page
//! works without it, which the contract promises.
//!
//! Decisions:
//! - Redirects are followed by hand, not by reqwest, so a walk can *stop* at
//!   the relying party's URI without requesting it, and so a check sees the
//!   exact `Location` the provider wrote.
//! - A `form_post` response (OAuth 2.0 Form Post Response Mode) is recognised
//!   from its shape — a 200 HTML page whose first form POSTs to the relying
//!   party — and handed back as the parameters a browser would POST, so a
//!   check treats it like a redirect. [`Browser::post`] sends them on when a
//!   check wants the relying party to receive them.
//! - Every failure to talk to the server panics with what was asked: this is
//!   test code, and a panic names the step that broke.

use std::sync::Arc;
use std::time::Duration;

use openidconnect::reqwest::cookie::{CookieStore as _, Jar};
use openidconnect::reqwest::header::{
    ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, ORIGIN,
};
use openidconnect::reqwest::{self, Method, StatusCode};
use url::Url;
use url::form_urlencoded;

mod outcome;

use outcome::find;
pub use outcome::{Callback, Form, Outcome, Page};

/// Browsers give up after about 20 redirects; so do we.
const MAX_REDIRECTS: usize = 20;
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// A browser with its own cookie jar. Clones share the jar (one person in
/// two tabs); [`Browser::new`] is a person with cleared cookies.
#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    jar: Arc<Jar>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// A browser with an empty cookie jar.
    pub fn new() -> Self {
        Self::with_jar(Arc::new(Jar::default()))
    }

    /// A browser that keeps its cookies in `jar`, e.g. to come back to an SSO
    /// session with another client configuration.
    pub fn with_jar(jar: Arc<Jar>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,*/*;q=0.8"),
        );
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .default_headers(headers)
            .user_agent("gatehouse-conformance-browser")
            // A hung server fails the check instead of hanging the suite.
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|e| panic!("browser http client: {e}"));
        Self { http, jar }
    }

    /// The cookie jar, to share with another browser or to inspect.
    pub fn cookie_jar(&self) -> Arc<Jar> {
        self.jar.clone()
    }

    /// The `Cookie` header this browser would send to `url`, if any.
    pub fn cookie_header(&self, url: &str) -> Option<String> {
        let url = parse_url(url);
        self.jar
            .cookies(&url)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    }

    /// GETs `url` and follows redirects until a page, or until a redirect
    /// whose `Location` starts with `stop_at` (the relying party's URI), which
    /// is not requested.
    pub async fn navigate(&self, url: &str, stop_at: &str) -> Outcome {
        let request = Request {
            method: Method::GET,
            url: parse_url(url),
            body: None,
            origin: None,
        };
        self.follow(request, stop_at).await
    }

    /// POSTs `params` form-encoded to `url` (a form on another site, or the
    /// relying party receiving a `form_post`) and follows redirects as
    /// [`Browser::navigate`] does.
    pub async fn post(&self, url: &str, params: &[(String, String)], stop_at: &str) -> Outcome {
        let request = Request {
            method: Method::POST,
            url: parse_url(url),
            body: Some(form_urlencode(params)),
            origin: None,
        };
        self.follow(request, stop_at).await
    }

    /// Submits form `form_index` of `page` as a browser would: its fields
    /// with `fill` applied (a name the form has gets the new value, any other
    /// name is added, so a check can also send what no person could), plus
    /// the pressed `button` if any. Then follows redirects as
    /// [`Browser::navigate`] does.
    pub async fn submit(
        &self,
        page: &Page,
        form_index: usize,
        fill: &[(&str, &str)],
        button: Option<(&str, &str)>,
        stop_at: &str,
    ) -> Outcome {
        let Some(form) = page.forms.get(form_index) else {
            panic!("no form #{form_index} on {}", page.describe());
        };
        let mut fields = form.fields.clone();
        for &(name, value) in fill {
            match fields.iter_mut().find(|(n, _)| n == name) {
                Some(field) => value.clone_into(&mut field.1),
                None => fields.push((name.to_owned(), value.to_owned())),
            }
        }
        fields.extend(button.map(|(n, v)| (n.to_owned(), v.to_owned())));
        let mut url = parse_url(&form.action);
        let request = if form.method == "post" {
            Request {
                method: Method::POST,
                url,
                body: Some(form_urlencode(&fields)),
                origin: Some(parse_url(&page.url).origin().ascii_serialization()),
            }
        } else {
            url.set_query(Some(&form_urlencode(&fields)));
            Request {
                method: Method::GET,
                url,
                body: None,
                origin: None,
            }
        };
        self.follow(request, stop_at).await
    }

    /// Signs in through the hosted pages: the username page, the password
    /// page, then the consent page when one is shown (pressing Allow, or Deny
    /// when `consent` is false). Returns the answer delivered to `stop_at`,
    /// by redirect or `form_post`.
    ///
    /// Strict on purpose: a page that is not the one the contract says comes
    /// next (including a live session skipping the login form) panics with
    /// that page, so checks such as `prompt=login` need no extra assertion.
    pub async fn login(
        &self,
        authorize_url: &str,
        username: &str,
        password: &str,
        consent: bool,
        stop_at: &str,
    ) -> Outcome {
        // 1. The identifier-first page.
        let outcome = self.navigate(authorize_url, stop_at).await;
        let (page, form) = expect_contract_page(outcome, "the username page", &USERNAME_FORM);
        let outcome = self
            .submit(&page, form, &[("username", username)], None, stop_at)
            .await;

        // 2. The password page, the direct answer to the username.
        let (page, form) = expect_contract_page(outcome, "the password page", &PASSWORD_FORM);
        let outcome = self
            .submit(&page, form, &[("password", password)], None, stop_at)
            .await;

        // 3. Consent, unless the client is first-party or already allowed.
        let outcome = match outcome {
            Outcome::Page(page) if page.form_for(CONSENT_FORM.action).is_some() => {
                let (page, form) =
                    expect_contract_page(Outcome::Page(page), "the consent page", &CONSENT_FORM);
                let decision = if consent { "allow" } else { "deny" };
                self.submit(&page, form, &[], Some(("decision", decision)), stop_at)
                    .await
            }
            other => other,
        };

        // 4. The answer to the relying party.
        match outcome {
            Outcome::Page(page) => panic!(
                "expected the answer to {stop_at} after signing in, got {}",
                page.describe()
            ),
            delivered => delivered,
        }
    }

    async fn follow(&self, mut request: Request, stop_at: &str) -> Outcome {
        assert!(
            !stop_at.is_empty(),
            "stop_at must name the relying party's URI, or every redirect would stop"
        );
        let mut redirects = Vec::new();
        for _ in 0..=MAX_REDIRECTS {
            let response = self.send(&request).await;
            let status = response.status();
            let location = response.headers().get(LOCATION);
            if let (true, Some(location)) = (status.is_redirection(), location) {
                let written = location
                    .to_str()
                    .unwrap_or_else(|e| panic!("{} sent a non-ASCII Location: {e}", request.url));
                let target = request
                    .url
                    .join(written)
                    .unwrap_or_else(|e| panic!("{} redirected to {written:?}: {e}", request.url));
                if written.starts_with(stop_at) || target.as_str().starts_with(stop_at) {
                    return Outcome::Redirected {
                        location: written.to_owned(),
                        params: target.query_pairs().into_owned().collect(),
                    };
                }
                redirects.push(target.to_string());
                request = request.redirected(status, target);
                continue;
            }
            let page = Page::read(response, redirects).await;
            return Outcome::from_page(page, stop_at);
        }
        panic!("more than {MAX_REDIRECTS} redirects: {redirects:?}");
    }

    async fn send(&self, request: &Request) -> reqwest::Response {
        let mut builder = self
            .http
            .request(request.method.clone(), request.url.clone());
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, FORM_CONTENT_TYPE)
                .body(body.clone());
        }
        if let Some(origin) = &request.origin {
            builder = builder.header(ORIGIN, origin);
        }
        builder
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", request.method, request.url))
    }
}

/// One request of a walk, kept so a 307/308 can repeat it.
struct Request {
    method: Method,
    url: Url,
    body: Option<String>,
    /// Browsers send `Origin` with a form POST; a CSRF defence may check it.
    origin: Option<String>,
}

impl Request {
    /// The request a browser makes for a redirect: 307 and 308 repeat the
    /// method and body, the others turn into a GET (RFC 9110 §15.4).
    fn redirected(self, status: StatusCode, url: Url) -> Self {
        if matches!(
            status,
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
        ) {
            Self { url, ..self }
        } else {
            Self {
                method: Method::GET,
                url,
                body: None,
                origin: None,
            }
        }
    }
}

/// What the contract says a login step's form looks like.
struct ContractForm {
    action: &'static str,
    fields: &'static [&'static str],
    buttons: &'static [(&'static str, &'static str)],
}

const USERNAME_FORM: ContractForm = ContractForm {
    action: "/login/username",
    fields: &["tx", "csrf", "username"],
    buttons: &[],
};
const PASSWORD_FORM: ContractForm = ContractForm {
    action: "/login/password",
    fields: &["tx", "csrf", "password"],
    buttons: &[],
};
const CONSENT_FORM: ContractForm = ContractForm {
    action: "/consent",
    fields: &["tx", "csrf"],
    buttons: &[("decision", "allow"), ("decision", "deny")],
};

/// The page of a login step and the index of its contract form, checked
/// against the contract; panics with the page (or the redirect) when it is
/// something else.
fn expect_contract_page(outcome: Outcome, step: &str, contract: &ContractForm) -> (Page, usize) {
    let page = match outcome {
        Outcome::Page(page) => page,
        other => panic!("expected {step}, got {}", other.describe()),
    };
    let index = page.form_for(contract.action);
    let form = index.map(|i| &page.forms[i]);
    let problem = match form {
        _ if page.status != 200 => Some("its status is not 200".to_owned()),
        None => Some(format!("it has no form posting to {}", contract.action)),
        Some(form) if form.method != "post" => Some("its form's method is not post".to_owned()),
        Some(form) => contract
            .fields
            .iter()
            .find(|name| find(&form.fields, name).is_none())
            .map(|name| format!("its form has no field {name:?}"))
            .or_else(|| {
                contract
                    .buttons
                    .iter()
                    .find(|(n, v)| !form.buttons.iter().any(|(bn, bv)| bn == n && bv == v))
                    .map(|(n, v)| format!("its form has no button {n}={v}"))
            }),
    };
    match (problem, index) {
        (None, Some(index)) => (page, index),
        (problem, _) => panic!(
            "expected {step}, but {}; got {}",
            problem.unwrap_or_default(),
            page.describe()
        ),
    }
}

fn form_urlencode(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

fn parse_url(url: &str) -> Url {
    Url::parse(url).unwrap_or_else(|e| panic!("{url:?} is not a URL: {e}"))
}

#[cfg(test)]
mod tests {
    //! A fixture server imitating the hosted-pages contract: it insists on
    //! the cookie set by the username page and on each step's csrf value, so
    //! a browser that loses cookies or fields fails these tests.

    use std::collections::HashMap;
    use std::sync::Mutex;

    use axum::Router;
    use axum::extract::{Form as Posted, Query, State};
    use axum::http::{HeaderMap as Headers, StatusCode as Status, header};
    use axum::response::{Html, IntoResponse, Redirect, Response};
    use axum::routing::{get, post};

    use super::*;

    const RP: &str = "http://rp.example/cb";
    const SESSION_COOKIE: &str = "gh_tx=secret-1";
    /// A state with every character HTML and URLs escape.
    const AWKWARD_STATE: &str = "a b&c<d>\"e'f/g=é";

    #[derive(Default)]
    struct Seen {
        state: String,
        form_post: bool,
        callback_hits: usize,
        echo_body: Option<String>,
    }

    type Shared = Arc<Mutex<Seen>>;
    type Params = HashMap<String, String>;

    /// Escapes like minijinja's HTML auto-escaping.
    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
            .replace('/', "&#x2f;")
    }

    fn refuse(why: &str) -> Response {
        (
            Status::FORBIDDEN,
            Html(format!("<h1>Refused</h1><p>{why}</p>")),
        )
            .into_response()
    }

    fn has_session(headers: &Headers) -> bool {
        headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split("; ").any(|c| c == SESSION_COOKIE))
    }

    /// Checks the cookie, the hidden fields and the Origin a browser sends.
    fn check_step(headers: &Headers, form: &Params, csrf: &str) -> Option<Response> {
        if !has_session(headers) {
            return Some(refuse("no session cookie"));
        }
        if form.get("tx").map(String::as_str) != Some("t/1")
            || form.get("csrf").map(String::as_str) != Some(csrf)
        {
            return Some(refuse("bad tx or csrf"));
        }
        if headers.get(header::ORIGIN).is_none() {
            return Some(refuse("no Origin"));
        }
        None
    }

    async fn authorize(State(seen): State<Shared>, Query(query): Query<Params>) -> Redirect {
        let mut seen = seen.lock().unwrap();
        seen.state = query.get("state").cloned().unwrap_or_default();
        seen.form_post = query.get("response_mode").is_some_and(|m| m == "form_post");
        Redirect::to("/login?tx=t%2F1")
    }

    async fn username_page(Query(query): Query<Params>) -> Response {
        let tx = escape(&query["tx"]);
        let cookie = format!("{SESSION_COOKIE}; Path=/; HttpOnly; Secure; SameSite=Lax");
        let body = format!(
            r#"<!doctype html><h1>Sign in</h1>
            <form method="post" action="/login/username">
              <input type="hidden" name="tx" value="{tx}">
              <input type="hidden" name="csrf" value="c1">
              <label for="username">Username</label>
              <input id="username" name="username" autocomplete="username">
              <button type="submit">Next</button>
            </form>"#
        );
        ([(header::SET_COOKIE, cookie)], Html(body)).into_response()
    }

    async fn password_page(headers: Headers, Posted(form): Posted<Params>) -> Response {
        if let Some(refusal) = check_step(&headers, &form, "c1") {
            return refusal;
        }
        let user = escape(&form["username"]);
        // Other attribute orders and quotes than the username page.
        Html(format!(
            r"<p>Signing in as {user} <span aria-label='protected by a second factor'>🔒</span></p>
            <form action='/login/password' method='POST'>
              <input value='t&#x2f;1' name='tx' type='hidden' />
              <input name=csrf type=hidden value=c2 />
              <input id='password' name='password' type='password' autocomplete='current-password'/>
              <button>Sign in</button>
            </form>"
        ))
        .into_response()
    }

    async fn check_password(headers: Headers, Posted(form): Posted<Params>) -> Response {
        if let Some(refusal) = check_step(&headers, &form, "c2") {
            return refusal;
        }
        if form["password"] == "correct horse" {
            Redirect::to("/consent?tx=t%2F1").into_response()
        } else {
            refuse("wrong password")
        }
    }

    async fn consent_page(headers: Headers) -> Response {
        if !has_session(&headers) {
            return refuse("no session cookie");
        }
        Html(
            r#"<h1>Allow Demo RP?</h1><p>openid profile</p>
            <form method="post" action="/consent">
              <input type="hidden" name="tx" value="t/1"><input type="hidden" name="csrf" value="c3">
              <button name="decision" value="allow">Allow</button>
              <button name="decision" value="deny">Deny</button>
            </form>"#,
        )
        .into_response()
    }

    async fn decide(
        State(seen): State<Shared>,
        headers: Headers,
        Posted(form): Posted<Params>,
    ) -> Response {
        if let Some(refusal) = check_step(&headers, &form, "c3") {
            return refusal;
        }
        let (state, form_post) = {
            let seen = seen.lock().unwrap();
            (seen.state.clone(), seen.form_post)
        };
        let mut answer = match form.get("decision").map(String::as_str) {
            Some("allow") => vec![("code", "code-123".to_owned())],
            _ => vec![("error", "access_denied".to_owned())],
        };
        answer.push(("state", state));
        if form_post {
            let inputs = answer
                .iter()
                .map(|(n, v)| format!(r#"<input type="hidden" name="{n}" value="{}">"#, escape(v)))
                .collect::<Vec<_>>()
                .concat();
            return Html(format!(
                r#"<form method="post" action="{RP}">{inputs}<button type="submit">Continue</button></form>
                <script src="/assets/form_post.js"></script>"#
            ))
            .into_response();
        }
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(answer)
            .finish();
        Redirect::to(&format!("{RP}?{query}")).into_response()
    }

    async fn count_callback(State(seen): State<Shared>) -> &'static str {
        seen.lock().unwrap().callback_hits += 1;
        "the relying party"
    }

    async fn record_echo(State(seen): State<Shared>, body: String) -> &'static str {
        seen.lock().unwrap().echo_body = Some(body);
        "echoed"
    }

    /// Starts the fixture on a free loopback port; returns its base URL.
    async fn fixture() -> (String, Shared) {
        let seen = Shared::default();
        let app = Router::new()
            .route("/authorize", get(authorize))
            .route("/login", get(username_page))
            .route("/login/username", post(password_page))
            .route("/login/password", post(check_password))
            .route("/consent", get(consent_page).post(decide))
            .route("/broken", get(|| async { Redirect::to("/oops") }))
            .route(
                "/oops",
                get(|| async { Html("<h1>Oops</h1><p>Something else.</p>") }),
            )
            .route(
                "/bounce",
                get(|| async { Redirect::to("/cb?x=1&y=%C3%A9") }),
            )
            .route("/cb", get(count_callback))
            .route("/loop", get(|| async { Redirect::to("/loop") }))
            .route(
                "/keep-post",
                post(|| async { Redirect::temporary("/echo") }),
            )
            .route("/echo", post(record_echo))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, seen)
    }

    fn authorize_url(base: &str, extra: &str) -> String {
        let state: String = form_urlencoded::byte_serialize(AWKWARD_STATE.as_bytes()).collect();
        format!("{base}/authorize?client_id=demo&state={state}{extra}")
    }

    #[tokio::test]
    async fn login_walks_the_contract_pages_to_the_callback_with_code_and_state() {
        let (base, _) = fixture().await;
        let browser = Browser::new();

        let outcome = browser
            .login(
                &authorize_url(&base, ""),
                "alice",
                "correct horse",
                true,
                RP,
            )
            .await;

        let callback = outcome.expect_redirect();
        assert!(callback.url.starts_with(RP), "{}", callback.url);
        assert_eq!(callback.param("code"), Some("code-123"));
        assert_eq!(callback.param("state"), Some(AWKWARD_STATE));
    }

    #[tokio::test]
    async fn refusing_consent_reaches_the_callback_with_access_denied() {
        let (base, _) = fixture().await;

        let outcome = Browser::new()
            .login(
                &authorize_url(&base, ""),
                "alice",
                "correct horse",
                false,
                RP,
            )
            .await;

        assert_eq!(outcome.param("error"), Some("access_denied"));
        assert_eq!(outcome.param("code"), None);
    }

    #[tokio::test]
    async fn cookies_set_by_the_username_page_are_sent_on_every_later_step() {
        let (base, _) = fixture().await;
        let browser = Browser::new();

        browser
            .login(
                &authorize_url(&base, ""),
                "alice",
                "correct horse",
                true,
                RP,
            )
            .await
            .expect_redirect();

        // The fixture refuses every step without the cookie, so reaching the
        // callback proves it was kept; the jar still holds it afterwards.
        assert_eq!(
            browser.cookie_header(&base).as_deref(),
            Some(SESSION_COOKIE)
        );
        let same_jar = Browser::with_jar(browser.cookie_jar());
        assert_eq!(
            same_jar.cookie_header(&base).as_deref(),
            Some(SESSION_COOKIE)
        );
    }

    #[tokio::test]
    async fn a_fresh_browser_has_no_cookies_and_is_refused_midway() {
        let (base, _) = fixture().await;
        let first = Browser::new();
        let login_page = first
            .navigate(&authorize_url(&base, ""), RP)
            .await
            .expect_page();
        assert!(first.cookie_header(&base).is_some());

        let fresh = Browser::new();
        assert_eq!(fresh.cookie_header(&base), None);
        let refused = fresh
            .submit(&login_page, 0, &[("username", "alice")], None, RP)
            .await
            .expect_page();
        assert_eq!(refused.status, 403);
        assert!(
            refused.text().contains("no session cookie"),
            "{}",
            refused.body
        );
    }

    #[tokio::test]
    async fn form_post_is_detected_with_its_values_decoded() {
        let (base, _) = fixture().await;

        let outcome = Browser::new()
            .login(
                &authorize_url(&base, "&response_mode=form_post"),
                "alice",
                "correct horse",
                true,
                RP,
            )
            .await;

        let Outcome::FormPost {
            action,
            params,
            page,
        } = outcome
        else {
            panic!("expected a form_post, got {}", outcome.describe());
        };
        assert_eq!(action, RP);
        assert_eq!(
            params,
            vec![
                ("code".to_owned(), "code-123".to_owned()),
                ("state".to_owned(), AWKWARD_STATE.to_owned()),
            ]
        );
        assert!(page.body.contains(r#"<script src="/assets/form_post.js">"#));
    }

    #[tokio::test]
    #[should_panic(
        expected = "expected the username page, but it has no form posting to /login/username"
    )]
    async fn login_panics_with_the_page_when_it_is_not_the_contract_page() {
        let (base, _) = fixture().await;

        Browser::new()
            .login(
                &format!("{base}/broken"),
                "alice",
                "correct horse",
                true,
                RP,
            )
            .await;
    }

    #[tokio::test]
    #[should_panic(expected = "expected the answer to http://rp.example/cb after signing in")]
    async fn login_panics_when_the_password_is_refused() {
        let (base, _) = fixture().await;

        Browser::new()
            .login(&authorize_url(&base, ""), "alice", "wrong", true, RP)
            .await;
    }

    #[tokio::test]
    async fn navigate_stops_at_a_redirect_to_stop_at_without_requesting_it() {
        let (base, seen) = fixture().await;

        let outcome = Browser::new()
            .navigate(&format!("{base}/bounce"), &format!("{base}/cb"))
            .await;

        let callback = outcome.expect_redirect();
        assert_eq!(callback.url, "/cb?x=1&y=%C3%A9", "the Location as written");
        assert_eq!(callback.param("x"), Some("1"));
        assert_eq!(callback.param("y"), Some("é"));
        assert_eq!(seen.lock().unwrap().callback_hits, 0);
    }

    #[tokio::test]
    async fn navigate_follows_redirects_to_other_uris_and_records_them() {
        let (base, seen) = fixture().await;

        let page = Browser::new()
            .navigate(&format!("{base}/bounce"), RP)
            .await
            .expect_page();

        assert_eq!(page.status, 200);
        assert_eq!(page.text(), "the relying party");
        assert_eq!(page.redirects, vec![format!("{base}/cb?x=1&y=%C3%A9")]);
        assert_eq!(seen.lock().unwrap().callback_hits, 1);
    }

    #[tokio::test]
    #[should_panic(expected = "more than 20 redirects")]
    async fn a_redirect_loop_panics_instead_of_spinning() {
        let (base, _) = fixture().await;

        Browser::new().navigate(&format!("{base}/loop"), RP).await;
    }

    #[tokio::test]
    async fn a_307_repeats_the_post_with_its_body() {
        let (base, seen) = fixture().await;
        let params = vec![("state".to_owned(), "s&1".to_owned())];

        let page = Browser::new()
            .post(&format!("{base}/keep-post"), &params, RP)
            .await
            .expect_page();

        assert_eq!(page.text(), "echoed");
        assert_eq!(
            seen.lock().unwrap().echo_body.as_deref(),
            Some("state=s%261")
        );
    }

    #[tokio::test]
    async fn pages_expose_forms_resolved_against_their_url() {
        let (base, _) = fixture().await;

        let page = Browser::new()
            .navigate(&authorize_url(&base, ""), RP)
            .await
            .expect_page();

        assert_eq!(page.url, format!("{base}/login?tx=t%2F1"));
        assert_eq!(page.form_for("/login/username"), Some(0));
        assert_eq!(page.forms[0].action, format!("{base}/login/username"));
        assert_eq!(page.forms[0].method, "post");
        assert_eq!(page.field("tx"), Some("t/1"));
        assert!(page.has_field("csrf"));
        assert!(!page.has_field("password"));
        assert!(
            page.text().starts_with("Sign in Username Next"),
            "{}",
            page.text()
        );
    }
}
