//! The `gatehouse` binary as an operator uses it: each test gets its own
//! working directory and `SQLite` file, and a clean environment.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn db_url(&self) -> String {
        format!(
            "sqlite://{}",
            self.dir.path().join("gatehouse.db").display()
        )
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("GATEHOUSE__DATABASE__URL", self.db_url())
            // Cheap hashing for speed; the policy is what these tests check.
            .env("GATEHOUSE__PASSWORD__MEMORY_KIB", "1024")
            .env("GATEHOUSE__PASSWORD__ITERATIONS", "1");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs with --json and expects success.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Runs and expects failure with exit code 1 and one line on stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    }
}

#[test]
fn org_and_user_creation_round_trip_with_json_output() {
    let cli = Cli::new();
    let org = cli.json(&[
        "org",
        "create",
        "--name",
        "Acme",
        "--manager-name",
        "Wile E.",
        "--manager-email",
        "wile@acme.example",
    ]);
    assert_eq!(org["name"], "Acme");
    let user = cli.json(&[
        "user",
        "create",
        "--username",
        "Buffy",
        "--email",
        "buffy@acme.example",
        "--org",
        "Acme",
        "--password",
        "Sunnydale#1997",
        "--phone",
        "+33 6 12 34 56 78",
        "--title",
        "mrs",
        "--given-name",
        "Buffy",
        "--family-name",
        "Summers",
    ]);
    assert_eq!(user["username"], "buffy", "usernames are stored lower-case");
    assert_eq!(user["password_set"], true);
    assert!(
        uuid::Uuid::parse_str(user["sub"].as_str().unwrap()).is_ok(),
        "sub is a UUID"
    );

    let dup = cli.fails(&[
        "user",
        "create",
        "--username",
        "buffy",
        "--email",
        "b@acme.example",
    ]);
    assert!(dup.contains("already exists"), "{dup}");
}

#[test]
fn a_password_breaking_the_policy_is_refused_naming_the_rule() {
    let cli = Cli::new();
    let err = cli.fails(&[
        "user",
        "create",
        "--username",
        "xander",
        "--email",
        "x@acme.example",
        "--password",
        "sunnydale$",
    ]);
    assert!(err.contains("--password"), "{err}");
    assert!(err.contains("upper-case"), "{err}");
    assert!(err.contains('$'), "{err}");
    // Nothing was written.
    let again = cli.json(&[
        "user",
        "create",
        "--username",
        "xander",
        "--email",
        "x@acme.example",
    ]);
    assert_eq!(again["password_set"], false);
}

#[test]
fn bad_input_gets_one_clear_line_and_a_non_zero_exit() {
    let cli = Cli::new();
    assert!(
        cli.fails(&[
            "user",
            "create",
            "--username",
            "a b",
            "--email",
            "x@acme.example"
        ])
        .contains("--username")
    );
    assert!(
        cli.fails(&[
            "user",
            "create",
            "--username",
            "willow",
            "--email",
            "not-an-email"
        ])
        .contains("--email")
    );
    assert!(
        cli.fails(&[
            "user",
            "create",
            "--username",
            "willow",
            "--email",
            "w@acme.example",
            "--org",
            "Nope"
        ])
        .contains("--org")
    );
    assert!(
        cli.fails(&[
            "user",
            "enforce-mfa",
            "--username",
            "ghost",
            "--authentication",
            "console"
        ])
        .contains("ghost")
    );
    assert!(
        cli.fails(&[
            "client",
            "create",
            "--client-id",
            "rp",
            "--redirect-uri",
            "http://evil.example/cb"
        ])
        .contains("redirect_uri")
    );
    assert!(
        cli.fails(&[
            "client",
            "create",
            "--client-id",
            "rp",
            "--redirect-uri",
            "https://rp.example/cb",
            "--secret",
            "short"
        ])
        .contains("secret")
    );
    // Unknown flags are clap's usage errors: exit code 2.
    let out = cli.run(&["user", "create", "--nope"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_errors_are_json_too() {
    let cli = Cli::new();
    let out = cli.run(&["--json", "client", "delete", "--client-id", "missing"]);
    assert_eq!(out.status.code(), Some(1));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(err["error"].as_str().unwrap().contains("missing"));
}

#[test]
fn a_generated_client_secret_is_printed_once_and_never_listed() {
    let cli = Cli::new();
    let created = cli.json(&[
        "client",
        "create",
        "--client-id",
        "console",
        "--redirect-uri",
        "https://console.example/cb",
        "--grant-type",
        "authorization_code",
        "refresh_token",
        "--first-party",
    ]);
    let secret = created["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43, "256 random bits");
    let listed = cli.json(&["client", "list"]);
    assert_eq!(listed[0]["client_id"], "console");
    assert_eq!(
        listed[0]["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    assert!(
        !listed.to_string().contains(secret),
        "the secret is not shown again"
    );
    let db = std::fs::read(cli.dir.path().join("gatehouse.db")).unwrap();
    assert!(
        !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret is not stored in clear"
    );
    cli.json(&["client", "delete", "--client-id", "console"]);
    assert_eq!(cli.json(&["client", "list"]), serde_json::json!([]));
}

#[test]
fn mfa_enforcement_and_roles_are_set_and_audited() {
    let cli = Cli::new();
    cli.json(&[
        "user",
        "create",
        "--username",
        "giles",
        "--email",
        "giles@acme.example",
    ]);
    let on = cli.json(&[
        "user",
        "enforce-mfa",
        "--username",
        "giles",
        "--authentication",
        "api",
    ]);
    assert_eq!(on["mfa"], true);
    let off = cli.json(&[
        "user",
        "enforce-mfa",
        "--username",
        "giles",
        "--authentication",
        "api",
        "--off",
    ]);
    assert_eq!(off["mfa"], false);
    let role = cli.json(&[
        "user",
        "set-role",
        "--username",
        "giles",
        "--role",
        "security_manager",
    ]);
    assert_eq!(role["roles"], serde_json::json!(["security_manager"]));
    assert!(
        cli.fails(&["user", "set-role", "--username", "giles", "--role", "god"])
            .contains("--role")
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let events = rt.block_on(async {
        let db = gatehouse::db::connect(&cli.db_url(), 1).await.unwrap();
        gatehouse::db::audit::find_audit_events(&db, None, 50)
            .await
            .unwrap()
    });
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for kind in ["user.created", "mfa.enforced", "mfa.lifted", "role.granted"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
}

#[test]
fn keys_rotate_adds_an_upcoming_key_per_algorithm() {
    let cli = Cli::new();
    let before = cli.json(&["keys", "list"]);
    assert_eq!(
        before.as_array().unwrap().len(),
        3,
        "a fresh database gets one key per algorithm"
    );
    let added = cli.json(&["keys", "rotate", "--alg", "ES256"]);
    assert_eq!(added.as_array().unwrap().len(), 1);
    assert_eq!(added[0]["state"], "upcoming");
    let after = cli.json(&["keys", "list"]);
    assert_eq!(after.as_array().unwrap().len(), 4);
}

#[test]
fn config_check_reports_a_bad_value_by_its_key() {
    let cli = Cli::new();
    let ok = cli.json(&["config", "check"]);
    assert_eq!(ok["valid"], true);
    let out = cli
        .command(&["config", "check"])
        .env("GATEHOUSE__STORE__URL", "memcached://localhost")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("error: config: store.url:"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1);
}

#[test]
fn a_config_file_given_explicitly_must_exist() {
    let cli = Cli::new();
    let err = cli.fails(&["--config", "missing.toml", "config", "check"]);
    assert!(err.contains("missing.toml"), "{err}");
    let path = Path::new("missing.toml");
    assert!(!cli.dir.path().join(path).exists());
}

#[tokio::test]
async fn serve_runs_on_the_embedded_default_and_sees_cli_changes_while_running() {
    let cli = Cli::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{port}");
    let mut server = cli
        .command(&["serve"])
        .env("GATEHOUSE__LISTEN", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE__ISSUER", &issuer)
        .env("GATEHOUSE__KEYS__RELOAD_SECONDS", "1")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let jwks_kids = || async {
        let jwks: Value = http
            .get(format!("{issuer}/jwks.json"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        Some(
            jwks["keys"]
                .as_array()?
                .iter()
                .map(|k| k["kid"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>(),
        )
    };
    let mut kids = None;
    for _ in 0..100 {
        kids = jwks_kids().await;
        if kids.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let kids = kids.expect("the server answers");
    assert_eq!(kids.len(), 3);
    let discovery: Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], issuer.as_str());

    // The CLI works on the same SQLite file while the server runs.
    let added = cli.json(&["keys", "rotate", "--alg", "RS256"]);
    let new_kid = added[0]["kid"].as_str().unwrap().to_owned();
    let mut seen = false;
    for _ in 0..50 {
        if jwks_kids().await.is_some_and(|k| k.contains(&new_kid)) {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "the running server publishes the key the CLI added");

    Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    let status = server.wait().unwrap();
    assert!(status.success(), "a clean shutdown on SIGTERM: {status}");
}
