//! Invitations end to end: the emailed link, the set-password page as a
//! browser drives it (cookies, CSRF, forms), and `gatehouse user create
//! --invite` writing the invitation to the outbox.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gatehouse::clock::Clock as _;
use gatehouse::db::entity::users::Model as User;
use gatehouse::db::users::{NewUser, find_password_hash, insert_user};
use gatehouse::domain::SecretString;
use gatehouse::login::credentials::{Verdict, check_password};
use gatehouse::notify::Captured;
use gatehouse::testing::TestApp;

const GOOD: &str = "Sunnydale#1997";
const EXPIRED: &str = "This link has expired or was already used.";

/// The app, with its outbox (confirmation emails) in `outbox`.
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

async fn spawn(outbox: &Path) -> TestApp {
    let dir = outbox.to_path_buf();
    TestApp::builder()
        .config(move |config| config.email.outbox_dir = dir)
        .spawn()
        .await
}

/// A user created without a password, as `user create --invite` does.
async fn passwordless_user(app: &TestApp) -> User {
    insert_user(
        &app.state.db,
        NewUser {
            username: "buffy".into(),
            email: "buffy@example.com".into(),
            given_name: Some("Buffy".into()),
            ..NewUser::default()
        },
        app.clock.unix(),
    )
    .await
    .unwrap()
}

/// Invites `user` and returns the link the email carries.
async fn invite(app: &TestApp, user: &User) -> String {
    let mailer = Captured::new();
    gatehouse::recovery::invite(
        &app.state.db,
        &mailer,
        &app.state.templates,
        app.clock.as_ref(),
        &app.issuer,
        user,
    )
    .await
    .unwrap();
    let sent = mailer.sent_to("buffy@example.com");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].subject, "Set your Gatehouse password");
    link_in(&sent[0].text)
}

fn link_in(text: &str) -> String {
    text.split_whitespace()
        .find(|word| word.contains("/password/set?token="))
        .unwrap_or_else(|| panic!("no link in: {text}"))
        .to_owned()
}

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in: {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A browser: keeps cookies, does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The set-password form as a page showed it.
struct Form {
    csrf: String,
    token: String,
}

impl Form {
    async fn open(browser: &reqwest::Client, link: &str) -> Self {
        let response = browser.get(link).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let page = response.text().await.unwrap();
        assert!(
            page.contains("<form method=\"post\" action=\"/password/set\">"),
            "{page}"
        );
        Self {
            csrf: hidden(&page, "csrf"),
            token: hidden(&page, "token"),
        }
    }

    async fn submit(
        &self,
        browser: &reqwest::Client,
        app: &TestApp,
        password: &str,
        again: &str,
    ) -> (u16, String) {
        let response = browser
            .post(app.url("/password/set"))
            .form(&[
                ("csrf", self.csrf.as_str()),
                ("token", self.token.as_str()),
                ("password", password),
                ("password_confirmation", again),
            ])
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|entry| entry.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test]
async fn an_invited_person_sets_a_password_once_through_the_emailed_link() {
    let outbox = tempfile::tempdir().unwrap();
    let app = spawn(outbox.path()).await;
    let user = passwordless_user(&app).await;
    let link = invite(&app, &user).await;
    assert!(link.starts_with(&format!("{}/password/set?token=", app.issuer)));
    let browser = browser();

    // The link opens the form, which shows the account and the policy.
    let page = browser.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let page = page.text().await.unwrap();
    assert!(page.contains("buffy"), "{page}");
    assert!(page.contains(gatehouse::security::POLICY_SUMMARY), "{page}");
    assert!(page.contains("/assets/password_strength.js"), "{page}");
    let form = Form::open(&browser, &link).await;

    // A password breaking the policy is refused, naming the rule.
    let (status, page) = form
        .submit(&browser, &app, "sunnydale#1997", "sunnydale#1997")
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("one upper-case letter"), "{page}");
    assert!(page.contains("name=\"token\""), "the form is shown again");

    // Two different entries are refused; the link still works.
    let (status, page) = form.submit(&browser, &app, GOOD, "Sunnydale#1998").await;
    assert_eq!(status, 400);
    assert!(
        page.contains("The two passwords are not the same."),
        "{page}"
    );
    assert_eq!(
        find_password_hash(&app.state.db, user.id).await.unwrap(),
        None
    );

    // A good password is set.
    let (status, page) = form.submit(&browser, &app, GOOD, GOOD).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Your password is set"), "{page}");
    assert!(page.contains("with your new password"), "{page}");

    // The link is spent: opening or submitting it again is refused.
    let again = browser.get(&link).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains(EXPIRED));
    let (status, page) = form
        .submit(&browser, &app, "Other#Password1", "Other#Password1")
        .await;
    assert_eq!(status, 400);
    assert!(page.contains(EXPIRED), "{page}");

    // The new password signs in; the one sent with the spent link does not.
    let verdict = check_password(&app.state, "buffy", &SecretString::from(GOOD), LOCAL)
        .await
        .unwrap();
    assert!(matches!(verdict, Verdict::Valid(ref u) if u.id == user.id));
    let verdict = check_password(
        &app.state,
        "buffy",
        &SecretString::from("Other#Password1"),
        LOCAL,
    )
    .await
    .unwrap();
    assert!(matches!(verdict, Verdict::Invalid));

    // A confirmation email went out, and the change is in the audit log.
    let files = files_in(outbox.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(written["to"], "buffy@example.com");
    assert_eq!(written["subject"], "Your Gatehouse password was set");
    let events = gatehouse::db::audit::find_audit_events(&app.state.db, None, 10)
        .await
        .unwrap();
    let set = events
        .iter()
        .find(|e| e.kind == "password.set")
        .expect("a password.set event");
    assert_eq!(set.user_id, Some(user.id));
    assert_eq!(set.detail["via"], "invite");
}

#[tokio::test]
async fn a_forged_token_gets_the_same_page_as_a_spent_one() {
    let outbox = tempfile::tempdir().unwrap();
    let app = spawn(outbox.path()).await;
    let forged = gatehouse::security::random_token(32);
    for path in [
        format!("/password/set?token={forged}"),
        "/password/set?token=short".to_owned(),
        "/password/set".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 400, "{path}");
        let page = response.text().await.unwrap();
        assert!(page.contains(EXPIRED), "{path}: {page}");
        assert!(!page.contains("<form"), "{path}: {page}");
    }
}

#[tokio::test]
async fn a_submit_without_the_csrf_token_is_refused_and_sets_nothing() {
    let outbox = tempfile::tempdir().unwrap();
    let app = spawn(outbox.path()).await;
    let user = passwordless_user(&app).await;
    let link = invite(&app, &user).await;
    let browser = browser();
    let form = Form::open(&browser, &link).await;

    // The field is missing (the cookie is there).
    let response = browser
        .post(app.url("/password/set"))
        .form(&[
            ("token", form.token.as_str()),
            ("password", GOOD),
            ("password_confirmation", GOOD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // A forged cross-site post carries a field but not our cookie.
    let response = app
        .http
        .post(app.url("/password/set"))
        .form(&[
            ("csrf", form.csrf.as_str()),
            ("token", form.token.as_str()),
            ("password", GOOD),
            ("password_confirmation", GOOD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    assert_eq!(
        find_password_hash(&app.state.db, user.id).await.unwrap(),
        None
    );
    assert!(files_in(outbox.path()).is_empty(), "no confirmation email");
    // The link still works for the real person.
    let (status, _) = form.submit(&browser, &app, GOOD, GOOD).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_invitation_expires_after_seven_days() {
    let outbox = tempfile::tempdir().unwrap();
    let app = spawn(outbox.path()).await;
    let user = passwordless_user(&app).await;
    let link = invite(&app, &user).await;
    let browser = browser();
    let form = Form::open(&browser, &link).await;

    app.clock
        .advance(Duration::from_hours(7 * 24) + Duration::from_secs(1));

    let response = browser.get(&link).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains(EXPIRED));
    let (status, page) = form.submit(&browser, &app, GOOD, GOOD).await;
    assert_eq!(status, 400);
    assert!(page.contains(EXPIRED), "{page}");
    assert_eq!(
        find_password_hash(&app.state.db, user.id).await.unwrap(),
        None
    );
}

#[test]
fn user_create_invite_writes_one_outbox_file_with_the_link_and_stores_only_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("gatehouse.db");
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args([
            "user",
            "create",
            "--username",
            "Willow",
            "--email",
            "willow@acme.example",
            "--invite",
            "--json",
        ])
        .current_dir(dir.path())
        .env_clear()
        .env(
            "GATEHOUSE__DATABASE__URL",
            format!("sqlite://{}", database.display()),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["username"], "willow");
    assert_eq!(answer["invited"], true);
    assert_eq!(answer["password_set"], false);

    // Exactly one message, in the default outbox, at the path announced.
    let outbox = dir.path().join("data/outbox");
    let files = files_in(&outbox);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        answer["outbox_file"],
        Path::new("data/outbox")
            .join(files[0].file_name().unwrap())
            .display()
            .to_string()
    );
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(written["to"], "willow@acme.example");
    assert_eq!(written["subject"], "Set your Gatehouse password");
    let link = link_in(written["text"].as_str().unwrap());
    assert!(
        link.starts_with("http://localhost:8080/password/set?token="),
        "{link}"
    );
    let token = link.split_once("?token=").unwrap().1;

    // The database holds the token's hash, never the token.
    let mut stored = Vec::new();
    for file in files_in(dir.path()) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("gatehouse.db") {
            stored.extend(std::fs::read(&file).unwrap());
        }
    }
    let stored = String::from_utf8_lossy(&stored);
    let hash = gatehouse::security::sha256_b64url(token.as_bytes());
    assert!(stored.contains(&hash), "the link's hash is stored");
    assert!(!stored.contains(token), "the token is stored in clear");

    // A second mode of setting the password is refused outright.
    let conflict = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args([
            "user",
            "create",
            "--username",
            "xander",
            "--email",
            "x@acme.example",
            "--invite",
            "--password",
            GOOD,
        ])
        .current_dir(dir.path())
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(conflict.status.code(), Some(2), "a usage error");
    assert_eq!(files_in(&outbox).len(), 1);
}
