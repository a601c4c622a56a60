//! One file per subcommand: wiring only; the work is in the pipeline stages.
pub mod calendar;
pub mod check;
pub mod dkim;
pub mod doctor;
pub mod gift;
pub mod history;
pub mod inbox;
pub mod init;
pub mod login;
pub mod preview;
pub mod schedule;
pub mod send;

use crate::config::Config;
use crate::exit::Halt;

pub use crate::problem::fail_on;

/// Load the config, or exit 2 with every problem found.
pub fn load_config(path: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(fail_on)
}

/// The day a command is about: `--date` in any form the customer list
/// accepts (ISO, `14/03/2026`, `14.03.2026`, read in the configured day/month
/// order), else today in the business's time zone. A bad date is exit 2.
pub fn day(
    arg: Option<&str>,
    flag: &str,
    config: &Config,
    today: chrono::NaiveDate,
) -> anyhow::Result<chrono::NaiveDate> {
    match arg {
        None => Ok(today),
        Some(text) => crate::customer::dates::parse_date(text, config.date_order, today)
            .map_err(|why| Halt::invalid(format!("{flag} {why}"))),
    }
}
