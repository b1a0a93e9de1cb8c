//! Throw-away `PostgreSQL` and Redis servers started from the installed
//! binaries, on free loopback ports, for the tests that need them.
//!
//! Each server runs under a small `sh` watchdog that stops it and removes its
//! data directory when the [`Service`] is dropped *or* when the test process
//! dies, so a failed or killed test run never leaves a server behind.
//!
//! When a binary is missing the suite is skipped with a loud notice on stderr,
//! unless `GATEHOUSE_TEST_SERVICES=require` is set (the README's test command
//! and CI set it), in which case the missing binary fails the test.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A running throw-away server; stopped and wiped on drop.
#[derive(Debug)]
pub struct Service {
    pub url: String,
    pub port: u16,
    watchdog: Child,
}

impl Drop for Service {
    fn drop(&mut self) {
        // SIGTERM lets the watchdog stop the server and remove its directory.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.watchdog.id().to_string())
            .status();
        let _ = self.watchdog.wait();
    }
}

/// Whether missing service binaries fail the tests instead of skipping them.
pub fn services_required() -> bool {
    std::env::var("GATEHOUSE_TEST_SERVICES").is_ok_and(|v| v == "require")
}

/// Says loudly, past the test harness's output capture, that a suite was skipped.
pub fn announce_skip(suite: &str, why: &str) {
    assert!(
        !services_required(),
        "{suite}: {why}, and GATEHOUSE_TEST_SERVICES=require"
    );
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED {suite}: {why} (install it, or run the README's test command) ***\n"
    );
}

/// A Redis server of its own for one test, or `None` (announced) when
/// `redis-server` is not installed.
pub fn redis(suite: &str) -> Option<Service> {
    let Some(bin) = find_binary("redis-server", &[]) else {
        announce_skip(suite, "redis-server is not installed");
        return None;
    };
    let port = free_port();
    let dir = scratch_dir("redis");
    let command = format!(
        "{} --port {port} --bind 127.0.0.1 --save '' --appendonly no --dir {}",
        bin.display(),
        dir.display()
    );
    let watchdog = watch(&command, &dir, None);
    wait_for_port(port);
    Some(Service {
        url: format!("redis://127.0.0.1:{port}/"),
        port,
        watchdog,
    })
}

/// A `PostgreSQL` cluster of its own, reachable as `postgres` without password,
/// or `None` (announced) when the server binaries are not installed.
pub fn postgres(suite: &str) -> Option<Service> {
    let Some(initdb) = find_binary("initdb", &postgres_bin_dirs()) else {
        announce_skip(suite, "PostgreSQL (initdb, postgres) is not installed");
        return None;
    };
    let bin_dir = initdb.parent().map(Path::to_path_buf).unwrap_or_default();
    let port = free_port();
    let dir = scratch_dir("postgres");
    // PostgreSQL refuses to run as root: hand the directory to `postgres`.
    let run_as = if is_root() { Some("postgres") } else { None };
    if let Some(user) = run_as {
        let _ = Command::new("chown").arg("-R").arg(user).arg(&dir).status();
    }
    let data = dir.join("data");
    let init = as_user(
        run_as,
        &format!(
            "{} -D {} -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8",
            initdb.display(),
            data.display()
        ),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .status();
    assert!(
        init.is_ok_and(|s| s.success()),
        "initdb failed in {}",
        dir.display()
    );
    let command = format!(
        "{}/postgres -D {} -p {port} -k {} -c listen_addresses=127.0.0.1 \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
        bin_dir.display(),
        data.display(),
        dir.display()
    );
    let watchdog = watch(&command, &dir, run_as);
    wait_for_port(port);
    Some(Service {
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        port,
        watchdog,
    })
}

/// A chromedriver of its own (for browser tests), or `None` (announced) when
/// chromedriver or Chromium is not installed.
pub fn chromedriver(suite: &str) -> Option<Service> {
    let (Some(driver), Some(_)) = (
        find_binary("chromedriver", &[]),
        find_binary("chromium", &[]).or_else(|| find_binary("chromium-browser", &[])),
    ) else {
        announce_skip(suite, "chromium and chromium-driver are not installed");
        return None;
    };
    let port = free_port();
    let dir = scratch_dir("chromedriver");
    let command = format!("{} --port={port}", driver.display());
    let watchdog = watch(&command, &dir, None);
    wait_for_port(port);
    Some(Service {
        url: format!("http://127.0.0.1:{port}"),
        port,
        watchdog,
    })
}

/// The Chromium binary chromedriver should drive.
pub fn chromium_binary() -> Option<PathBuf> {
    find_binary("chromium", &[]).or_else(|| find_binary("chromium-browser", &[]))
}

/// Starts `command` under an `sh` watchdog that ends it (and wipes `dir`) on
/// SIGTERM or once this process is gone.
fn watch(command: &str, dir: &Path, run_as: Option<&str>) -> Child {
    let parent = std::process::id();
    let server = match run_as {
        Some(user) => format!("runuser -u {user} -- {command}"),
        None => command.to_owned(),
    };
    let script = format!(
        "{server} >{dir}/server.log 2>&1 &\n\
         srv=$!\n\
         stop() {{ kill -TERM $srv 2>/dev/null; wait $srv 2>/dev/null; rm -rf {dir}; exit 0; }}\n\
         trap stop TERM INT\n\
         while kill -0 {parent} 2>/dev/null && kill -0 $srv 2>/dev/null; do sleep 0.2; done\n\
         stop\n",
        dir = dir.display(),
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start sh for a test service: {e}"))
}

fn as_user(user: Option<&str>, command: &str) -> Command {
    let mut cmd = Command::new("sh");
    match user {
        Some(user) => cmd.arg("-c").arg(format!("runuser -u {user} -- {command}")),
        None => cmd.arg("-c").arg(command),
    };
    cmd
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn postgres_bin_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .collect();
    dirs.sort();
    dirs.reverse(); // newest major version first
    dirs
}

fn find_binary(name: &str, extra_dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra_dirs.iter().cloned())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map_or_else(|e| panic!("no free loopback port: {e}"), |addr| addr.port())
}

fn scratch_dir(kind: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "gatehouse-test-{kind}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

fn wait_for_port(port: u16) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("test service on port {port} did not start within 30 s");
}
