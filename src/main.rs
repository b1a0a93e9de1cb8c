//! `gatehouse`: parse the command line, run it, report the outcome.

use std::process::ExitCode;

use clap::Parser as _;
use gatehouse::cli::{Cli, Output, run};

/// jemalloc serves every Rust allocation (the default `jemalloc` feature):
/// glibc's malloc spends a sixth of a sign-in's CPU besides the password
/// hash (arena locks when a task frees on another thread what it allocated
/// on one, fast-bin consolidation before each allocation over 1 KiB),
/// jemalloc a fraction of that. Its settings (.cargo/config.toml) return
/// freed memory to the system within about a second, from one background
/// thread, so an idle server shrinks back as it does with glibc, which
/// (`--no-default-features`) idles up to ~1 MiB smaller.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output::new(cli.json);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            out.error(&format!("cannot start the async runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            out.error(&error.to_string());
            ExitCode::FAILURE
        }
    }
}
