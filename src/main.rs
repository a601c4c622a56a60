//! The `greet` binary: parse the command line, run, map the outcome to an exit code.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = greet::cli::Cli::parse();
    match greet::run(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            let code = greet::exit::Exit::for_error(&err);
            if !greet::exit::is_broken_pipe(&err) {
                eprintln!("error: {err:#}");
            }
            code.into()
        }
    }
}
