//! `greet history`, `greet unsubscribe`, `greet resubscribe`: the ledger, read and kept.
use std::io::Write;

use super::load_config;
use crate::cli::{Cli, HistoryArgs};
use crate::exit::Exit;
use crate::ledger::Ledger;

pub fn run(cli: &Cli, args: &HistoryArgs) -> anyhow::Result<Exit> {
    let config = load_config(&cli.config)?;
    if !config.ledger.exists() {
        println!(
            "nothing sent yet ({} does not exist)",
            config.ledger.display()
        );
        return Ok(Exit::Ok);
    }
    let ledger = Ledger::open(&config.ledger)?;
    let since = args.since.map(|d| d.to_string());
    let who = args.customer.as_deref().map(str::to_lowercase);
    let mut out = std::io::stdout().lock();
    let mut shown = 0;
    for e in ledger.history(args.occasion.as_deref())? {
        if since.as_deref().is_some_and(|s| e.updated_at.as_str() < s) {
            continue;
        }
        if who
            .as_deref()
            .is_some_and(|w| e.recipient.to_lowercase() != w)
        {
            continue;
        }
        writeln!(
            out,
            "{}  {:<9} {} {} → {}  {}{}",
            e.updated_at,
            e.state.as_str(),
            e.key.occasion,
            e.key.occurrence,
            e.recipient,
            e.reply.as_deref().unwrap_or(""),
            if e.attempts > 1 {
                format!(" (attempt {})", e.attempts)
            } else {
                String::new()
            }
        )?;
        shown += 1;
    }
    if shown == 0 && !cli.quiet {
        writeln!(out, "no greetings match")?;
    }
    Ok(Exit::Ok)
}

pub fn subscription(cli: &Cli, email: &str, resubscribe: bool) -> anyhow::Result<Exit> {
    let config = load_config(&cli.config)?;
    let ledger = Ledger::open(&config.ledger)?;
    let changed = if resubscribe {
        ledger.unsuppress(email)?
    } else {
        ledger.suppress(email)?
    };
    if !cli.quiet {
        match (resubscribe, changed) {
            (false, true) => println!(
                "{email} will not be greeted again (kept in {})",
                config.ledger.display()
            ),
            (false, false) => println!("{email} was already unsubscribed"),
            (true, true) => println!("{email} can be greeted again"),
            (true, false) => println!("{email} was not unsubscribed"),
        }
    }
    Ok(Exit::Ok)
}
