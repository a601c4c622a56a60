//! `greet history`, `greet unsubscribe`, `greet resubscribe`: the ledger, read and kept.
use std::io::Write;

use super::load_config;
use crate::cli::{Cli, HistoryArgs};
use crate::exit::{Exit, Halt};
use crate::ledger::Ledger;

pub fn run(cli: &Cli, args: &HistoryArgs) -> anyhow::Result<Exit> {
    let config = load_config(&cli.config)?;
    let since = match args.since.as_deref() {
        Some(text) => {
            Some(super::day(Some(text), "--since", &config, chrono::NaiveDate::MIN)?.to_string())
        }
        None => None,
    };
    if !config.ledger.exists() {
        println!(
            "nothing sent yet ({} does not exist)",
            config.ledger.display()
        );
        return Ok(Exit::Ok);
    }
    let ledger = Ledger::open(&config.ledger)?;
    let who = args.customer.as_deref().map(str::to_lowercase);
    let mut out = std::io::stdout().lock();
    let mut shown = 0;
    for e in ledger.history(args.occasion.as_deref())? {
        // A bounce read after --since shows its (older) greeting too.
        let latest = match &e.bounce {
            Some(b) if b.at > e.updated_at => b.at.as_str(),
            _ => e.updated_at.as_str(),
        };
        if since.as_deref().is_some_and(|s| latest < s) {
            continue;
        }
        if who
            .as_deref()
            .is_some_and(|w| e.recipient.to_lowercase() != w)
        {
            continue;
        }
        // A bounced greeting shows what the notice said instead of the
        // server's acceptance: "5.1.1 on 2026-12-01: 550 5.1.1 user unknown".
        let said = match &e.bounce {
            Some(b) => bounce_words(b),
            None => e.reply.clone().unwrap_or_default(),
        };
        // The gift it carried, as the till reads it (given only if sent).
        let gift = match &e.gift {
            Some((code, redeemed)) => {
                let shown =
                    crate::gift::Code::parse(code).map_or_else(|_| code.clone(), |c| c.to_string());
                match redeemed {
                    Some(at) => format!("  gift {shown} (redeemed {at})"),
                    None => format!("  gift {shown}"),
                }
            }
            None => String::new(),
        };
        writeln!(
            out,
            "{}  {:<9} {} {} → {}  {}{}{gift}",
            e.updated_at,
            e.state.as_str(),
            e.key.occasion,
            e.key.occurrence,
            e.recipient,
            said,
            if e.attempts > 1 {
                format!(" (attempt {})", e.attempts)
            } else {
                String::new()
            }
        )?;
        shown += 1;
    }
    // Who is kept out of future runs, and why (not per occasion: the list is the shop's).
    if args.occasion.is_none() {
        let who_key = args.customer.as_deref().map(crate::ledger::suppression_key);
        let kept: Vec<_> = ledger
            .suppressions()?
            .into_iter()
            .filter(|s| since.as_deref().is_none_or(|d| s.added_at.as_str() >= d))
            .filter(|s| {
                who_key
                    .as_deref()
                    .is_none_or(|w| crate::ledger::suppression_key(&s.email) == w)
            })
            .collect();
        if !kept.is_empty() {
            writeln!(out, "not greeted any more:")?;
            for s in &kept {
                writeln!(out, "  {}  {}", s.email, s.describe())?;
                shown += 1;
            }
        }
    }
    if shown == 0 && !cli.quiet {
        writeln!(out, "no greetings match")?;
    }
    Ok(Exit::Ok)
}

pub fn subscription(cli: &Cli, email: &str, resubscribe: bool) -> anyhow::Result<Exit> {
    let config = load_config(&cli.config)?;
    // The address as a customer list would be read: trimmed, invisible
    // characters removed, NFKC, checked.
    let normalised = crate::customer::email::normalise(email);
    let addr: &str = &normalised.address;
    if let Some(why) = crate::customer::email::problem(addr) {
        return Err(Halt::invalid(format!(
            "{why}; nothing recorded (give the address alone, e.g. maria@example.gr)"
        )));
    }
    // Whether the list has it: said, not required (people ask before they are imported).
    let in_list = in_customer_list(&config, addr);
    let ledger = Ledger::open(&config.ledger)?;
    let before = ledger.suppression(addr)?;
    let changed = if resubscribe {
        ledger.unsuppress(addr)?
    } else {
        ledger.suppress(addr)?
    };
    if !cli.quiet {
        match (resubscribe, changed) {
            (false, true) => println!(
                "{addr} will not be greeted again (kept in {})",
                config.ledger.display()
            ),
            (false, false) => match &before {
                Some(s) if s.reason.is_some() => {
                    println!("{addr} was already kept out: {}", s.describe())
                }
                _ => println!("{addr} was already unsubscribed"),
            },
            (true, true) => match &before {
                Some(s) => println!("{addr} can be greeted again (it was {})", s.describe()),
                None => println!("{addr} can be greeted again"),
            },
            (true, false) => println!("{addr} was not unsubscribed"),
        }
        match in_list {
            Some(false) if !resubscribe => println!(
                "note: {addr} is not in {} (yet); the choice is kept for when it is",
                config.customers.display()
            ),
            Some(false) => println!("note: {addr} is not in {}", config.customers.display()),
            None => println!(
                "note: {} could not be read, so whether {addr} is a customer was not checked",
                config.customers.display()
            ),
            Some(true) => {}
        }
    }
    Ok(Exit::Ok)
}

/// "5.1.1 on 2026-12-01: 550 5.1.1 <maria@example.gr>: user unknown".
fn bounce_words(b: &crate::ledger::BounceNote) -> String {
    let day = b.at.get(..10).unwrap_or(&b.at);
    if b.diagnostic.is_empty() {
        format!("{} on {day}", b.status)
    } else {
        format!("{} on {day}: {}", b.status, b.diagnostic)
    }
}

/// Whether a row of the customer list has this address (compared as keys
/// are: case-folded); `None` when the list cannot be read.
fn in_customer_list(config: &crate::config::Config, addr: &str) -> Option<bool> {
    use crate::customer::email::mailbox;
    let wanted = mailbox(addr);
    let reader = crate::customer::CustomerReader::open(config).ok()?;
    Some(reader.flatten().any(|c| mailbox(&c.email) == wanted))
}
