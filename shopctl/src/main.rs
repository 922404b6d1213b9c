//! shopctl: the operators' command line. It speaks the admin API as the
//! console does, prints tables for people and `--json` for scripts, and
//! exits 1 with a one-line reason on an error.

mod admin;
mod api;
mod command;
mod show;

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match command::parse(&args) {
        Ok(command) => command,
        Err(err) => {
            eprintln!("shopctl: {err:#}\n\n{}", command::USAGE);
            return ExitCode::from(2);
        }
    };
    match command::run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the causes joined, never a backtrace.
            eprintln!("shopctl: {err:#}");
            ExitCode::FAILURE
        }
    }
}
