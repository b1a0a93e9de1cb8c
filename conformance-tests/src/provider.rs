//! The provider under test, seeded as the certification suite expects
//! (checklist §3.2, §4.1): a user with every claim Gatehouse can release, and
//! the static clients the OpenID Foundation plans register.

use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreTokenResponse};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    PkceCodeVerifier, RedirectUrl,
};

use crate::browser::{Browser, Callback};
use crate::{TestApp, discover, rp_http_client};
use gatehouse::config::ClientSpec;
use gatehouse::domain::SecretString;
use gatehouse::testing::TestAppBuilder;

/// Where the relying parties live. Never contacted: the browser stops there.
pub const RP: &str = "https://rp.example";
pub const CALLBACK: &str = "https://rp.example/callback";
pub const POST_LOGOUT: &str = "https://rp.example/post_logout_redirect";
pub const USERNAME: &str = "buffy";
pub const PASSWORD: &str = "Sunnydale#1997";
/// The secret of every confidential test client.
pub const SECRET: &str = "s3cret-for-the-conformance-clients-0123456789";

/// A relying-party client as `openidconnect` builds it from discovery.
pub type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub struct Provider {
    pub app: TestApp,
    pub metadata: CoreProviderMetadata,
    pub user: uuid::Uuid,
}

/// A client with the redirect URIs of the suite.
pub fn client_spec(client_id: &str, auth_method: &str, grant_types: &[&str]) -> ClientSpec {
    ClientSpec {
        client_id: client_id.to_owned(),
        name: Some(format!("The {client_id} app")),
        secret: matches!(auth_method, "client_secret_basic" | "client_secret_post")
            .then(|| SecretString::from(SECRET)),
        redirect_uris: vec![CALLBACK.to_owned()],
        post_logout_redirect_uris: vec![POST_LOGOUT.to_owned()],
        auth_method: Some(auth_method.to_owned()),
        grant_types: grant_types.iter().map(|g| (*g).to_owned()).collect(),
        ..ClientSpec::default()
    }
}

impl Provider {
    pub async fn start() -> Self {
        Self::start_with(TestApp::builder()).await
    }

    /// Starts the app from `builder` (another database or store) and seeds it.
    pub async fn start_with(builder: TestAppBuilder) -> Self {
        let app = builder.spawn().await;
        let user = app.create_user(USERNAME, PASSWORD).await;
        let code_and_refresh = ["authorization_code", "refresh_token"];
        for spec in [
            client_spec("client", "client_secret_basic", &code_and_refresh),
            client_spec("client2", "client_secret_basic", &code_and_refresh),
            client_spec("client_post", "client_secret_post", &code_and_refresh),
            ClientSpec {
                first_party: true,
                ..client_spec("console", "client_secret_basic", &code_and_refresh)
            },
            client_spec(
                "cli",
                "none",
                &[
                    "authorization_code",
                    "refresh_token",
                    "urn:ietf:params:oauth:grant-type:device_code",
                ],
            ),
            ClientSpec {
                scopes: vec!["gateway".into()],
                ..client_spec("service", "client_secret_basic", &["client_credentials"])
            },
            ClientSpec {
                access_token_format: Some("opaque".into()),
                first_party: true,
                ..client_spec("opaque", "client_secret_basic", &code_and_refresh)
            },
        ] {
            app.create_client(spec).await;
        }
        let metadata = discover(&app).await;
        Self {
            app,
            metadata,
            user,
        }
    }

    /// An `openidconnect` client for `client_id` (with the shared secret).
    pub fn rp(&self, client_id: &str) -> Rp {
        CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(client_id.to_owned()),
            Some(ClientSecret::new(SECRET.to_owned())),
        )
        .set_redirect_uri(RedirectUrl::new(CALLBACK.to_owned()).unwrap_or_else(|e| panic!("{e}")))
    }

    /// `/authorize?…` with exactly these parameters, in this order.
    pub fn authorize_url(&self, params: &[(&str, &str)]) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("{}/authorize?{query}", self.app.issuer)
    }

    /// The suite's usual request for `client_id`, plus `extra`.
    pub fn request<'a>(
        client_id: &'a str,
        state: &'a str,
        nonce: &'a str,
        extra: &[(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut params = vec![
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", state),
            ("nonce", nonce),
        ];
        for &(name, value) in extra {
            match params.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => params.push((name, value)),
            }
        }
        params
    }

    /// Signs in through the hosted pages (consenting) and returns the callback.
    pub async fn sign_in(&self, browser: &Browser, params: &[(&str, &str)]) -> Callback {
        browser
            .login(&self.authorize_url(params), USERNAME, PASSWORD, true, RP)
            .await
            .expect_callback()
    }

    /// Redeems `code` at the token endpoint as `rp` does.
    pub async fn exchange(&self, rp: &Rp, code: &str, verifier: Option<&str>) -> CoreTokenResponse {
        let mut request = rp
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .unwrap_or_else(|e| panic!("{e}"));
        if let Some(v) = verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(v.to_owned()));
        }
        request
            .request_async(&rp_http_client())
            .await
            .unwrap_or_else(|e| panic!("code exchange failed: {e:?}"))
    }

    /// A raw POST to a provider endpoint, for what libraries will not send.
    pub async fn post_form(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = rp_http_client()
            .post(format!("{}{path}", self.app.issuer))
            .form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }
}
