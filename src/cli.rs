//! The command line, as clap sees it. Doc comments here are the `--help` text.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Personal greetings — birthdays, holidays, anniversaries — for every
/// customer, in their own language.
#[derive(Debug, Parser)]
#[command(name = "greet", version, propagate_version = true)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, value_name = "PATH", default_value = "greet.toml")]
    pub config: PathBuf,

    /// Print only problems and what was asked for (no summary lines).
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more about what is being done.
    #[arg(long, short, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write greet.toml, a sample customers.csv and the default templates into DIR.
    Init(InitArgs),
    /// Validate the config, the customer list and every template; send nothing.
    Check(CheckArgs),
    /// Show the greetings that `send` would send on a date; send nothing.
    Preview(PreviewArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the files (created if missing; existing files are kept).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The day to check against (YYYY-MM-DD); default: today in the configured time zone.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<chrono::NaiveDate>,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The occasion, as named in greet.toml (e.g. birthday, christmas).
    pub occasion: String,

    /// The day to preview (YYYY-MM-DD); default: today in the configured time zone.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<chrono::NaiveDate>,

    /// Only the customer with this email address.
    #[arg(long, value_name = "EMAIL")]
    pub only: Option<String>,

    /// At most N greetings.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// How to show the greetings.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write to this file (text, json) or folder (eml) instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable text on the terminal.
    Text,
    /// One .eml file per message, in the folder given by --out.
    Eml,
    /// One JSON object per line.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
