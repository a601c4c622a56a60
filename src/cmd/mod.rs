//! One file per subcommand: wiring only; the work is in the pipeline stages.
pub mod check;
pub mod history;
pub mod init;
pub mod preview;
pub mod schedule;
pub mod send;

use crate::config::Config;
use crate::exit::Halt;
use crate::problem::Problem;

/// Print problems (location first) and fail with exit 2 if any is an error.
pub fn fail_on(problems: Vec<Problem>) -> anyhow::Error {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    Halt::invalid(lines.join("\n  "))
}

/// Load the config, or exit 2 with every problem found.
pub fn load_config(path: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(fail_on)
}
