//! greet: personal greetings for every customer, in their own language.
//!
//! The pipeline, in the order data flows through it:
//!
//! 1. [`config`]   — `greet.toml` → a checked [`config::Config`]
//! 2. [`customer`] — the CSV list → [`customer::Customer`]s and located [`problem::Problem`]s, streamed
//! 3. [`occasion`] — (occasion, customer, date) → is it due, and which occurrence
//!    ([`feast`]: the day each tradition keeps each holiday);
//!    [`spacing`] — which of a customer's greetings close together goes
//! 4. [`context`]  — what templates see; [`i18n`] holds the pure language rules
//! 5. [`render`]   — Tera, loaded once → subject, text and HTML
//! 6. [`message`]  — a standards-correct MIME message with a stable Message-ID
//!
//! [`pipeline`] strings stages 2–5 together for one run; [`cmd`] wires the
//! subcommands; [`exit`] maps outcomes to the exit codes SPEC §6 fixes.
pub mod batch;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod context;
pub mod customer;
pub mod dispatch;
pub mod dkim;
pub mod doctor;
pub mod exit;
pub mod feast;
pub mod gift;
pub mod i18n;
pub mod imap;
pub mod inbox;
pub mod jsonl;
pub mod ledger;
pub mod message;
pub mod oauth;
pub mod occasion;
pub mod parallel;
pub mod pipeline;
pub mod problem;
pub mod provider;
pub mod rate;
pub mod render;
pub mod report;
pub mod review;
pub mod sending;
pub mod spacing;
pub mod staged;
pub mod transport;
pub mod unsubscribe;

mod assets;

use cli::{Cli, Command};
use exit::Exit;

/// Run one command line.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match &cli.command {
        Command::Init(args) => cmd::init::run(&cli, args),
        Command::Check(args) => cmd::check::run(&cli, args),
        Command::Preview(args) => cmd::preview::run(&cli, args),
        Command::Send(args) => cmd::send::run(&cli, args),
        Command::History(args) => cmd::history::run(&cli, args),
        Command::Unsubscribe(args) => cmd::history::subscription(&cli, &args.email, false),
        Command::Resubscribe(args) => cmd::history::subscription(&cli, &args.email, true),
        Command::Schedule(args) => cmd::schedule::run(&cli, args),
        Command::Login => cmd::login::run(&cli),
        Command::Dkim(args) => cmd::dkim::run(&cli, args),
        Command::Doctor(args) => cmd::doctor::run(&cli, args),
        Command::Inbox => cmd::inbox::run(&cli),
        Command::Gift(args) => cmd::gift::run(&cli, args),
        Command::Calendar(args) => cmd::calendar::run(&cli, args),
    }
}
