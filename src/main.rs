//! The `greet` binary: parse the command line, run, map the outcome to an exit code.
use std::process::ExitCode;

use clap::Parser;

// Rendering allocates many small values per greeting on several threads;
// mimalloc keeps that from contending on one heap (measured in benches/preview.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
