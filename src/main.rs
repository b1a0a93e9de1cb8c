//! `gatehouse`: parse the command line, run it, report the outcome.

use std::process::ExitCode;

use clap::Parser as _;
use gatehouse::cli::{Cli, Output, run};

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
