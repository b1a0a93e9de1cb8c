//! A browser, as far as the load client needs one: the hosted login walked
//! step by step (identifier first, then password; OpenID Connect Core
//! §3.1.2), its cookies kept by hand so that each flow starts with a fresh
//! jar while every chain shares one connection pool, and the token endpoint
//! (RFC 6749 §4.1.3, §6) called with `client_secret_basic`.

use reqwest::{StatusCode, header};
use serde::Deserialize;

use super::{LoadArgs, Step};

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{step} answered {status}")]
    Status {
        step: &'static str,
        status: StatusCode,
    },
    #[error("{0} is missing from the answer")]
    Missing(&'static str),
}

/// One chain's view of the provider: a shared connection pool, its own cookies.
pub struct Browser<'a> {
    http: &'a reqwest::Client,
    args: &'a LoadArgs,
    /// The instance it talks to (same issuer, maybe another port).
    base: &'a str,
    username: String,
    cookies: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct TokenBody {
    refresh_token: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(http: &'a reqwest::Client, args: &'a LoadArgs, base: &'a str, chain: usize) -> Self {
        Self {
            http,
            args,
            base: base.trim_end_matches('/'),
            username: format!("{}{chain}", args.user_prefix),
            cookies: Vec::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn cookie_header(&self) -> String {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        pairs.join("; ")
    }

    /// Sends `request` with this browser's cookies and keeps the ones set.
    async fn send(
        &mut self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, FlowError> {
        let response = request
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await?;
        for value in response.headers().get_all(header::SET_COOKIE) {
            let Some((name, value)) = value
                .to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .and_then(|pair| pair.split_once('='))
            else {
                continue;
            };
            self.cookies.retain(|(known, _)| known != name);
            self.cookies
                .push((name.trim().to_owned(), value.trim().to_owned()));
        }
        Ok(response)
    }

    /// Walks the hosted login with fresh cookies, as far as `through`, and
    /// returns the code when it got that far.
    async fn sign_in(&mut self, scope: &str, through: Step) -> Result<Option<String>, FlowError> {
        self.cookies.clear();
        let authorize = self.http.get(self.url("/authorize")).query(&[
            ("response_type", "code"),
            ("client_id", self.args.client_id.as_str()),
            ("redirect_uri", self.args.redirect_uri.as_str()),
            ("scope", scope),
            ("state", "load"),
            ("nonce", "load"),
        ]);
        let login_path = location(&self.send(authorize).await?, "authorize")?;
        if through == Step::Authorize {
            return Ok(None);
        }
        let tx = query_value(&self.url(&login_path), "tx").ok_or(FlowError::Missing("tx"))?;
        let page = self.send(self.http.get(self.url(&login_path))).await?;
        let csrf = csrf_field(&expect_ok(page, "login page")?.text().await?)
            .ok_or(FlowError::Missing("csrf"))?;
        if through == Step::LoginPage {
            return Ok(None);
        }
        let username = self.username.clone();
        let password = self.args.password.clone();
        let form = [
            ("tx", tx.as_str()),
            ("csrf", csrf.as_str()),
            ("username", username.as_str()),
            ("password", password.as_str()),
        ];
        let username_step = self.http.post(self.url("/login/username")).form(&form[..3]);
        expect_ok(self.send(username_step).await?, "username step")?;
        if through == Step::Username {
            return Ok(None);
        }
        let password_step = self.http.post(self.url("/login/password")).form(&form);
        let callback = location(&self.send(password_step).await?, "password step")?;
        let code = query_value(&callback, "code").ok_or(FlowError::Missing("code"))?;
        Ok(Some(code))
    }

    /// `POST /token`, authenticated with `client_secret_basic`.
    async fn token(&self, form: &[(&str, &str)]) -> Result<TokenBody, FlowError> {
        let response = self
            .http
            .post(self.url("/token"))
            .basic_auth(&self.args.client_id, Some(&self.args.client_secret))
            .form(form)
            .send()
            .await?;
        Ok(expect_ok(response, "token endpoint")?.json().await?)
    }

    /// The code flow as far as `through`; at [`Step::Token`], its refresh token.
    pub async fn complete_flow(&mut self, through: Step) -> Result<Option<String>, FlowError> {
        let code = self
            .sign_in("openid profile email offline_access", through)
            .await?;
        let Some(code) = code.filter(|_| through == Step::Token) else {
            return Ok(None);
        };
        let redirect_uri = self.args.redirect_uri.clone();
        let body = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect_uri),
            ])
            .await?;
        body.refresh_token
            .map(Some)
            .ok_or(FlowError::Missing("refresh_token"))
    }

    pub async fn rotate(&self, refresh_token: &str) -> Result<String, FlowError> {
        let body = self
            .token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .await?;
        match body.refresh_token {
            Some(next) if next != refresh_token => Ok(next),
            _ => Err(FlowError::Missing("a new refresh_token")),
        }
    }
}

fn expect_ok(
    response: reqwest::Response,
    step: &'static str,
) -> Result<reqwest::Response, FlowError> {
    match response.status() {
        StatusCode::OK => Ok(response),
        status => Err(FlowError::Status { step, status }),
    }
}

fn location(response: &reqwest::Response, step: &'static str) -> Result<String, FlowError> {
    if !response.status().is_redirection() {
        return Err(FlowError::Status {
            step,
            status: response.status(),
        });
    }
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or(FlowError::Missing("Location"))
}

fn query_value(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The value of the hidden `csrf` field of a hosted form.
fn csrf_field(html: &str) -> Option<String> {
    let start = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let length = html[start..].find('"')?;
    Some(html[start..start + length].to_owned())
}
