//! The command line, as clap sees it. Doc comments here are the `--help` text.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Personal greetings — birthdays, name days, holidays, anniversaries — for every
/// customer, in their own language.
#[derive(Debug, Parser)]
#[command(name = "greet", version, propagate_version = true)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, value_name = "PATH", default_value = "greet.toml")]
    pub config: PathBuf,

    /// Print only problems and what was asked for; `send` still ends with its
    /// one-line summary, so cron mail shows it.
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
    /// Send the greetings due on a date, each exactly once.
    Send(SendArgs),
    /// What was sent, failed or is uncertain, from the ledger.
    History(HistoryArgs),
    /// Keep this address out of every future run, whatever the customer list says.
    Unsubscribe(EmailArg),
    /// Undo `unsubscribe`.
    Resubscribe(EmailArg),
    /// Print a cron line, or systemd service and timer units, for the daily run.
    Schedule(ScheduleArgs),
    /// Sign in to the mailbox once (auth = "oauth2"): keeps the sign-in in token_file.
    Login,
    /// DKIM: make the signing key and the DNS record to publish.
    #[command(subcommand)]
    Dkim(DkimCommand),
    /// Check the sender domain's DNS (MX, SPF, DKIM, DMARC) for Gmail, Yahoo and
    /// Outlook.com delivery. Exit 0: all right; 2: something missing or wrong;
    /// 4: DNS could not be asked.
    Doctor(DoctorArgs),
    /// Read the shop's mailbox ([inbox]): bounces and unsubscribe replies
    /// update the ledger; each message is handled once.
    Inbox,
    /// A gift code from a greeting: whose it is, for which occasion, until
    /// when, whether it was redeemed; `--redeem` marks it (once). Exit 0: it
    /// can be (or now was) redeemed; 1: it cannot (unknown, not sent,
    /// expired or redeemed before); 2: not a gift code, or mistyped.
    Gift(GiftArgs),
    /// The year ahead, per day: which birthdays, name days, anniversaries and
    /// holidays are due on which day, and for how many customers.
    Calendar(CalendarArgs),
}

#[derive(Debug, Args)]
pub struct GiftArgs {
    /// The code as the customer shows it (7KQM-2XHR-9DT; case, spaces and
    /// dashes do not matter).
    #[arg(value_name = "CODE")]
    pub code: String,
    /// Mark the gift redeemed now; a second redeem is refused.
    #[arg(long)]
    pub redeem: bool,
}

#[derive(Debug, Args)]
pub struct CalendarArgs {
    /// The calendar year to list (1 January to 31 December); default: the
    /// twelve months from today.
    #[arg(long, value_name = "YEAR")]
    pub year: Option<i32>,
    /// Only this customer's days.
    #[arg(long, value_name = "EMAIL")]
    pub customer: Option<String>,
    /// A table, or one JSON object per day.
    #[arg(long, value_enum, default_value_t = CalendarFormat::Text)]
    pub format: CalendarFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CalendarFormat {
    /// One line per day: date, weekday, greetings, per occasion.
    Text,
    /// One JSON object per line: date, total, occasions.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum DkimCommand {
    /// Make an RSA-2048 signing key (kept chmod 600) and print the DNS TXT
    /// record to publish and the lines to add to greet.toml.
    Keygen(KeygenArgs),
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The selector: the key's name in DNS (SELECTOR._domainkey.DOMAIN).
    #[arg(long, value_name = "S", default_value = "greet")]
    pub selector: String,
    /// Where to write the private key; default: dkim/SELECTOR.key beside
    /// greet.toml. An existing file is never overwritten.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Ask only this DNS server (UDP and TCP), e.g. 127.0.0.1:5353; default:
    /// the system's resolvers (/etc/resolv.conf).
    #[arg(long, value_name = "IP[:PORT]")]
    pub resolver: Option<String>,
    /// The DKIM selector to check (default: [dkim] selector in greet.toml).
    #[arg(long, value_name = "S")]
    pub selector: Option<String>,
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// What to print: a crontab line, or systemd service + timer units.
    #[arg(long, value_enum)]
    pub print: Scheduler,
    /// The time of day of the run, in the configured time zone.
    #[arg(long, value_name = "HH:MM", default_value = "09:00")]
    pub at: chrono::NaiveTime,
    /// Missed days to catch up (the machine was off): sent as belated.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub catch_up: u32,
    /// Also write the files into DIR (systemd: greet.service and greet.timer).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scheduler {
    Cron,
    Systemd,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The occasion, as named in greet.toml (or --due, or --batch).
    #[arg(required_unless_present_any = ["due", "batch"], conflicts_with_all = ["due", "batch"])]
    pub occasion: Option<String>,

    /// Every dated occasion due today (birthday, anniversary, nameday, holiday) in one
    /// run, one connection, one summary: the daily command for cron or systemd.
    #[arg(long, conflicts_with = "batch")]
    pub due: bool,

    /// Send exactly the reviewed batch that `preview --format eml --out DIR`
    /// wrote (refused if any file changed since).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["date", "catch_up", "skip_invalid"])]
    pub batch: Option<PathBuf>,

    /// With --batch: send a batch reviewed for a day that has passed, as it
    /// was reviewed (its greetings still speak of that day).
    #[arg(long)]
    pub late: bool,

    /// The day to send for (YYYY-MM-DD, DD/MM/YYYY or DD.MM.YYYY); default: today in the configured time zone.
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,

    /// At most N greetings in this run.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Also the N previous days not yet greeted (never before the first run); sent as belated.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub catch_up: u32,

    /// Send without asking (needed when there is no terminal, e.g. cron).
    #[arg(long, short)]
    pub yes: bool,

    /// Also resend greetings left uncertain by a run that died (same Message-ID).
    #[arg(long)]
    pub retry_uncertain: bool,

    /// Send to the valid customers even though some rows have problems.
    #[arg(long)]
    pub skip_invalid: bool,

    /// Send a few real greetings to this address instead (marked as tests; the ledger is not touched).
    #[arg(long, value_name = "ADDRESS")]
    pub test_to: Option<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this occasion.
    #[arg(long, value_name = "OCC")]
    pub occasion: Option<String>,
    /// Only greetings recorded on or after this day (YYYY-MM-DD, DD/MM/YYYY or DD.MM.YYYY).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only this customer's address.
    #[arg(long, value_name = "EMAIL")]
    pub customer: Option<String>,
}

#[derive(Debug, Args)]
pub struct EmailArg {
    /// The email address.
    pub email: String,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the files (created if missing; existing files are kept).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The day to check against (YYYY-MM-DD, DD/MM/YYYY or DD.MM.YYYY); default: today in the configured time zone.
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The occasion, as named in greet.toml (e.g. birthday, christmas).
    pub occasion: String,

    /// The day to preview (YYYY-MM-DD, DD/MM/YYYY or DD.MM.YYYY); default: today in the configured time zone.
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,

    /// Only the customer with this email address.
    #[arg(long, value_name = "EMAIL")]
    pub only: Option<String>,

    /// At most N greetings.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// How to show the greetings.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write to this file (text, json, html) or folder (eml: a batch that
    /// `send --batch` sends as reviewed) instead of standard output.
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
    /// One self-contained review page (--out FILE, or standard output).
    Html,
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
