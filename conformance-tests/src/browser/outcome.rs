//! What a walk of the scripted browser ends on: a redirect to the relying
//! party, a `form_post` page for it, or any other page, with the page's forms
//! read the way a browser would submit them.

use openidconnect::reqwest;
use openidconnect::reqwest::header::{CONTENT_TYPE, HeaderMap};
use url::Url;

use crate::html;

/// Where a walk ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A redirect to the relying party: the `Location` as written, and its
    /// query parameters decoded, in order.
    Redirected {
        location: String,
        params: Vec<(String, String)>,
    },
    /// A `form_post` page: the form's `action` as written (references
    /// decoded) and its fields, i.e. what the browser would POST to the
    /// relying party; the page itself for checks on its markup and headers.
    FormPost {
        action: String,
        params: Vec<(String, String)>,
        page: Box<Page>,
    },
    /// Any other page: a login step, an error page, a logout page…
    Page(Page),
}

/// An authorization (or logout) response as the relying party receives it,
/// whichever way it was delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// The `Location` of a redirect, or the `action` of a `form_post`.
    pub url: String,
    pub params: Vec<(String, String)>,
}

impl Callback {
    /// The first parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        find(&self.params, name)
    }
}

impl Outcome {
    pub(super) fn from_page(page: Page, stop_at: &str) -> Self {
        let is_html = page
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/html"));
        let first = page.raw_forms.first();
        let resolved_action = page.forms.first().map(|form| form.action.as_str());
        let posts_to_rp = first.is_some_and(|form| {
            form.method == "post"
                && (form
                    .action
                    .as_deref()
                    .is_some_and(|a| a.starts_with(stop_at))
                    || resolved_action.is_some_and(|a| a.starts_with(stop_at)))
        });
        match first {
            Some(form) if page.status == 200 && is_html && posts_to_rp => Self::FormPost {
                action: form.action.clone().unwrap_or_default(),
                params: form.fields.clone(),
                page: Box::new(page),
            },
            _ => Self::Page(page),
        }
    }

    /// The response parameters of a redirect or `form_post`; empty for a page.
    pub fn params(&self) -> &[(String, String)] {
        match self {
            Self::Redirected { params, .. } | Self::FormPost { params, .. } => params,
            Self::Page(_) => &[],
        }
    }

    /// The first response parameter called `name`; `None` for a page.
    pub fn param(&self, name: &str) -> Option<&str> {
        find(self.params(), name)
    }

    /// The response, delivered by redirect or `form_post`; panics on a page.
    pub fn expect_callback(self) -> Callback {
        match self {
            Self::Redirected { location, params } => Callback {
                url: location,
                params,
            },
            Self::FormPost { action, params, .. } => Callback {
                url: action,
                params,
            },
            Self::Page(page) => {
                panic!("expected a response to the client, got {}", page.describe())
            }
        }
    }

    /// The response delivered by redirect; panics on anything else.
    pub fn expect_redirect(self) -> Callback {
        match self {
            Self::Redirected { .. } => self.expect_callback(),
            other => panic!(
                "expected a redirect to the client, got {}",
                other.describe()
            ),
        }
    }

    /// The response delivered by `form_post`; panics on anything else.
    pub fn expect_form_post(self) -> Callback {
        match self {
            Self::FormPost { .. } => self.expect_callback(),
            other => panic!(
                "expected a form_post to the client, got {}",
                other.describe()
            ),
        }
    }

    /// The page shown; panics when the walk reached the client instead.
    pub fn expect_page(self) -> Page {
        match self {
            Self::Page(page) => page,
            other => panic!("expected a page, got {}", other.describe()),
        }
    }

    /// A summary for panic messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Redirected { location, .. } => format!("a redirect to {location}"),
            Self::FormPost { action, params, .. } => {
                format!("a form_post to {action} with {params:?}")
            }
            Self::Page(page) => page.describe(),
        }
    }
}

/// A page the browser stopped at.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL the page was fetched from, after redirects.
    pub url: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub forms: Vec<Form>,
    /// Every redirect followed to get here, in order: a check that no
    /// redirect went to a relying party looks here.
    pub redirects: Vec<String>,
    /// The forms as written, for recognising a `form_post` exactly.
    raw_forms: Vec<html::RawForm>,
}

/// A form of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The `action`, resolved against the page's URL (the page itself when
    /// absent, as in HTML).
    pub action: String,
    /// `get` or `post`, in lower case.
    pub method: String,
    /// Named inputs in document order, with their `value` (or "").
    pub fields: Vec<(String, String)>,
    /// Named submit buttons as `(name, value)`.
    pub buttons: Vec<(String, String)>,
}

impl Page {
    pub(super) async fn read(response: reqwest::Response, redirects: Vec<String>) -> Self {
        let url = response.url().clone();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading the body of {url}: {e}"));
        let raw_forms = html::parse_forms(&body);
        let forms = raw_forms
            .iter()
            .map(|raw| Form {
                action: raw.action.as_deref().filter(|a| !a.is_empty()).map_or_else(
                    || url.to_string(),
                    |a| url.join(a).map_or_else(|_| a.to_owned(), String::from),
                ),
                method: raw.method.clone(),
                fields: raw.fields.clone(),
                buttons: raw.buttons.clone(),
            })
            .collect();
        Self {
            url: url.to_string(),
            status,
            headers,
            body,
            forms,
            redirects,
            raw_forms,
        }
    }

    /// Whether any form of the page has a field called `name`.
    pub fn has_field(&self, name: &str) -> bool {
        self.field(name).is_some()
    }

    /// The value of the first field called `name` in any form.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.forms.iter().find_map(|form| find(&form.fields, name))
    }

    /// The index of the first form whose action's path ends with `path`
    /// (e.g. `/login/password`), whatever prefix the issuer has.
    pub fn form_for(&self, path: &str) -> Option<usize> {
        self.forms.iter().position(|form| {
            Url::parse(&form.action).is_ok_and(|action| action.path().ends_with(path))
        })
    }

    /// The text a person reads, white space folded: for "You are signed out".
    pub fn text(&self) -> String {
        html::visible_text(&self.body)
    }

    /// A summary for panic messages: where, what status, and the body.
    pub fn describe(&self) -> String {
        format!(
            "a page with status {} at {} (after redirects {:?}):\n{}",
            self.status, self.url, self.redirects, self.body
        )
    }
}

pub(super) fn find<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}
