//! Load client for the two flows `wrk` cannot drive, because every request
//! depends on the answer to the previous one:
//!
//! - `refresh`: refresh-token rotation (RFC 6749 §6, RFC 9700 §4.14.2). Each
//!   of N chains signs in once (not measured; at `--sign-in-url` when given),
//!   then redeems its newest refresh token over and over, each answer
//!   carrying the next one.
//! - `code-flow`: the complete authorization code flow (RFC 6749 §4.1) as a
//!   browser walks it through the hosted login: `GET /authorize` → `GET
//!   /login` → `POST /login/username` → `POST /login/password` → the code in
//!   the `Location` → `POST /token`. One flow is one measured "request".
//!   `--through <step>` stops each flow after that step, so runs through
//!   successive steps give each step's cost by difference.
//!
//! It prints one `RESULT key=value …` line that `benches/load.sh` turns into
//! a table row: requests/s, p50/p99 latency and, given `--pid`, the server's
//! CPU time per request (utime + stime from `/proc/<pid>/stat`, the client's
//! own CPU excluded) and its peak RSS while measured (`VmHWM`, reset through
//! `/proc/<pid>/clear_refs` when allowed).
//!
//! Without a sub-command (as `cargo test --all-targets` runs it) it checks
//! itself against an in-process app: a few flows and rotations must succeed.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser as _;
use tokio::sync::Barrier;

mod browser;
mod measure;

use browser::{Browser, FlowError};
use measure::{Report, percentile};

#[derive(clap::Parser)]
struct Cli {
    #[command(subcommand)]
    flow: Flow,
}

#[derive(clap::Subcommand)]
enum Flow {
    /// Refresh-token rotation: each chain redeems its newest refresh token.
    Refresh(LoadArgs),
    /// The complete code flow: authorize, username, password, token.
    CodeFlow(LoadArgs),
}

#[derive(Clone, Copy)]
enum FlowKind {
    Refresh,
    CodeFlow,
}

#[derive(clap::Args, Clone)]
struct LoadArgs {
    /// The measured instance.
    #[arg(long)]
    issuer: String,
    /// Where refresh chains get their first refresh token: another instance
    /// with the same issuer and database keeps the sign-ins (and their
    /// password hashing) out of the measured process [default: --issuer].
    #[arg(long)]
    sign_in_url: Option<String>,
    /// A confidential (`client_secret_basic`), first-party client allowed
    /// `authorization_code` and `refresh_token`.
    #[arg(long)]
    client_id: String,
    #[arg(long)]
    client_secret: String,
    #[arg(long)]
    redirect_uri: String,
    /// Chain `i` signs in as `<user-prefix><i>`, so no two chains share a
    /// username (and its failed-attempt counter).
    #[arg(long)]
    user_prefix: String,
    #[arg(long)]
    password: String,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The last step of each code flow: earlier steps alone, compared with
    /// the whole flow, tell what each step costs.
    #[arg(long, value_enum, default_value_t = Step::Token)]
    through: Step,
    /// The server's process id: report its CPU time and peak RSS.
    #[arg(long)]
    pid: Option<u32>,
    /// `getconf CLK_TCK`: the unit of the times in `/proc/<pid>/stat`.
    #[arg(long, default_value_t = 100)]
    clock_ticks: u64,
}

/// A step of the code flow, in order.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    /// `GET /authorize`, answered with the way to the login page.
    Authorize,
    /// … and the login page.
    LoginPage,
    /// … and the username posted.
    Username,
    /// … and the password posted, answered with the code.
    Password,
    /// … and the code redeemed at `/token`.
    Token,
}

/// When a chain stops: at a deadline (load), or after a count (self-test).
#[derive(Clone, Copy)]
enum Until {
    Elapsed(Duration),
    Count(usize),
}

/// What one chain saw while measured.
#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

impl Outcome {
    fn failed(&mut self, error: &FlowError) {
        self.errors += 1;
        self.first_error.get_or_insert_with(|| error.to_string());
    }
}

/// One chain: set up (a first sign-in for `refresh`), wait for the others,
/// then loop until `until`.
async fn chain(
    kind: FlowKind,
    http: reqwest::Client,
    args: Arc<LoadArgs>,
    index: usize,
    start: Arc<Barrier>,
    until: Until,
) -> Outcome {
    let mut browser = Browser::new(&http, &args, &args.issuer, index);
    let mut outcome = Outcome::default();
    let mut refresh_token = match kind {
        FlowKind::Refresh => {
            let sign_in_url = args.sign_in_url.as_deref().unwrap_or(&args.issuer);
            let mut setup = Browser::new(&http, &args, sign_in_url, index);
            setup
                .complete_flow(Step::Token)
                .await
                .and_then(|token| token.ok_or(FlowError::Missing("refresh_token")).map(Some))
        }
        FlowKind::CodeFlow => Ok(None),
    };
    start.wait().await;
    if let Err(error) = &refresh_token {
        outcome.failed(error);
        return outcome;
    }
    let began = Instant::now();
    loop {
        let more = match until {
            Until::Elapsed(duration) => began.elapsed() < duration,
            Until::Count(count) => {
                outcome.latencies.len() + usize::try_from(outcome.errors).unwrap_or(0) < count
            }
        };
        if !more {
            return outcome;
        }
        let sent = Instant::now();
        let result = match (&mut refresh_token, kind) {
            (Ok(Some(token)), FlowKind::Refresh) => {
                browser.rotate(token).await.map(|next| *token = next)
            }
            _ => browser.complete_flow(args.through).await.map(drop),
        };
        match result {
            Ok(()) => outcome.latencies.push(sent.elapsed()),
            Err(error) => {
                outcome.failed(&error);
                // A spent or refused refresh token ends its chain.
                if matches!(kind, FlowKind::Refresh) {
                    return outcome;
                }
            }
        }
    }
}

async fn run(kind: FlowKind, args: LoadArgs, until: Until) -> Result<Report, reqwest::Error> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let start = Arc::new(Barrier::new(args.concurrency + 1));
    let pid = args.pid;
    let clock_ticks = args.clock_ticks.max(1);
    let args = Arc::new(args);
    let chains: Vec<_> = (0..args.concurrency)
        .map(|i| {
            tokio::spawn(chain(
                kind,
                http.clone(),
                Arc::clone(&args),
                i,
                Arc::clone(&start),
                until,
            ))
        })
        .collect();
    start.wait().await;
    let ticks_before = pid.and_then(measure::cpu_ticks);
    let peak_resets = pid.is_some_and(measure::reset_peak_rss);
    let began = Instant::now();
    let mut all = Outcome::default();
    for chain in chains {
        let outcome = chain.await.unwrap_or_default();
        all.latencies.extend(outcome.latencies);
        all.errors += outcome.errors;
        all.first_error = all.first_error.or(outcome.first_error);
    }
    let seconds = began.elapsed().as_secs_f64();
    let ticks_after = pid.and_then(measure::cpu_ticks);
    all.latencies.sort_unstable();
    let requests = all.latencies.len();
    let server_cpu_us = match (ticks_before, ticks_after, u64::try_from(requests)) {
        (Some(before), Some(after), Ok(n)) if n > 0 => {
            Some((after - before) * 1_000_000 / clock_ticks / n)
        }
        _ => None,
    };
    if pid.is_some() && !peak_resets {
        eprintln!("note: cannot reset the server's VmHWM; peak RSS is since its start");
    }
    Ok(Report {
        requests,
        errors: all.errors,
        first_error: all.first_error,
        seconds,
        p50: percentile(&all.latencies, 50),
        p99: percentile(&all.latencies, 99),
        server_cpu_us,
        peak_rss_kib: pid.and_then(measure::peak_rss_kib),
    })
}

/// The self-test: both flows against an in-process app, a few times each.
async fn self_test() -> Result<(), String> {
    use gatehouse::config::ClientSpec;
    use gatehouse::domain::SecretString;
    let app = gatehouse::testing::TestApp::spawn().await;
    let args = LoadArgs {
        issuer: app.issuer.clone(),
        sign_in_url: None,
        client_id: "load-console".into(),
        client_secret: "load-console-secret-0123456789abcdef".into(),
        redirect_uri: "https://console.example.com/callback".into(),
        user_prefix: "load".into(),
        password: "Correct-h0rse".into(),
        concurrency: 2,
        seconds: 1,
        through: Step::Token,
        pid: Some(std::process::id()),
        clock_ticks: 100,
    };
    app.create_client(ClientSpec {
        client_id: args.client_id.clone(),
        secret: Some(SecretString::from(args.client_secret.as_str())),
        redirect_uris: vec![args.redirect_uri.clone()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        first_party: true,
        ..ClientSpec::default()
    })
    .await;
    for i in 0..args.concurrency {
        app.create_user(&format!("{}{i}", args.user_prefix), &args.password)
            .await;
    }
    for (name, kind, through) in [
        ("code-flow", FlowKind::CodeFlow, Step::Token),
        (
            "code-flow through the username",
            FlowKind::CodeFlow,
            Step::Username,
        ),
        ("refresh", FlowKind::Refresh, Step::Token),
    ] {
        let args = LoadArgs {
            through,
            ..args.clone()
        };
        let report = run(kind, args.clone(), Until::Count(3))
            .await
            .map_err(|e| e.to_string())?;
        println!("{name}: {}", report.result_line());
        if report.errors > 0 || report.requests != 3 * args.concurrency {
            return Err(format!(
                "{name}: {} of {} succeeded; first error: {}",
                report.requests,
                3 * args.concurrency,
                report.first_error.unwrap_or_default()
            ));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let load = matches!(
        std::env::args().nth(1).as_deref(),
        Some("refresh" | "code-flow")
    );
    let outcome = if load {
        let (kind, args) = match Cli::parse().flow {
            Flow::Refresh(args) => (FlowKind::Refresh, args),
            Flow::CodeFlow(args) => (FlowKind::CodeFlow, args),
        };
        let until = Until::Elapsed(Duration::from_secs(args.seconds));
        runtime
            .block_on(run(kind, args, until))
            .map_err(|e| e.to_string())
            .map(|report| {
                if let Some(error) = &report.first_error {
                    eprintln!("first error: {error}");
                }
                println!("{}", report.result_line());
            })
    } else {
        println!("load_client: self-test (run `load_client refresh|code-flow --help` for load)");
        runtime.block_on(self_test())
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
