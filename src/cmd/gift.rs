//! `greet gift CODE [--redeem]`: the till asks whose a gift code is, and
//! marks it redeemed once.
use crate::cli::{Cli, GiftArgs};
use crate::exit::{Exit, Halt};
use crate::gift::{Code, CodeError};
use crate::ledger::{GiftEntry, Ledger, Redeem, State};

use super::load_config;

pub fn run(cli: &Cli, args: &GiftArgs) -> anyhow::Result<Exit> {
    let code = match Code::parse(&args.code) {
        Ok(code) => code,
        Err(CodeError::Mistyped) => {
            return Err(Halt::invalid(format!(
                "\"{}\" is not a gift code greet gave: one character is mistyped or two are swapped (its check character does not match); read it again",
                args.code.trim()
            )));
        }
        Err(CodeError::NotACode(why)) => {
            return Err(Halt::invalid(format!(
                "\"{}\" is not a gift code: {why}",
                args.code.trim()
            )));
        }
    };
    let config = load_config(&cli.config)?;
    let today = crate::clock::now(config.time_zone)?
        .date_naive()
        .to_string();
    let compact = code.compact();
    if !config.ledger.exists() {
        println!(
            "{code}: no greeting carried this code (nothing has been sent yet: {} does not exist)",
            config.ledger.display()
        );
        return Ok(Exit::Failure);
    }
    if args.redeem {
        let ledger = Ledger::open(&config.ledger)?;
        return Ok(match ledger.redeem_gift(compact, &today)? {
            Redeem::Redeemed(e) => {
                println!("{code}: redeemed now");
                describe(&code, &e, &today);
                Exit::Ok
            }
            Redeem::Unknown => {
                println!("{code}: no greeting carried this code; nothing redeemed");
                Exit::Failure
            }
            Redeem::NotGiven(e) => {
                println!(
                    "{code}: NOT redeemed: its greeting was never sent ({})",
                    e.state.as_str()
                );
                describe(&code, &e, &today);
                Exit::Failure
            }
            Redeem::Expired(e) => {
                println!("{code}: NOT redeemed: it expired after {}", e.valid_until);
                describe(&code, &e, &today);
                Exit::Failure
            }
            Redeem::Already(e) => {
                println!(
                    "{code}: NOT redeemed again: it was redeemed on {}",
                    e.redeemed_at.as_deref().unwrap_or("?")
                );
                describe(&code, &e, &today);
                Exit::Failure
            }
        });
    }
    let ledger = Ledger::open_read_only(&config.ledger)?;
    let entries = ledger.gift(compact)?;
    let Some(e) = entries.iter().find(|e| e.given()).or(entries.first()) else {
        println!("{code}: no greeting carried this code");
        return Ok(Exit::Failure);
    };
    describe(&code, e, &today);
    Ok(if redeemable(e, &today) {
        Exit::Ok
    } else {
        Exit::Failure
    })
}

fn redeemable(e: &GiftEntry, today: &str) -> bool {
    e.given() && e.redeemed_at.is_none() && e.valid_until.as_str() >= today
}

/// What the till needs to know, one fact per line.
fn describe(code: &Code, e: &GiftEntry, today: &str) {
    println!("  code:      {code}");
    println!("  occasion:  {} ({})", e.key.occasion, e.key.occurrence);
    println!("  customer:  {} <{}>", e.key.customer, e.recipient);
    let greeting = match e.state {
        State::Sent => format!("sent ({})", e.updated_at),
        State::Bounced => format!("sent ({}), then bounced", e.updated_at),
        State::Uncertain | State::Sending => format!(
            "maybe sent ({}): a run stopped while handing it over; the code is genuine",
            e.updated_at
        ),
        State::Failed | State::Deferred | State::Spaced => {
            format!("not sent ({}): this code was never given", e.state.as_str())
        }
    };
    println!("  greeting:  {greeting}");
    let until = if e.valid_until.as_str() >= today {
        format!("{} (valid)", e.valid_until)
    } else {
        format!("{} (expired)", e.valid_until)
    };
    println!("  valid to:  {until}");
    match &e.redeemed_at {
        Some(at) => println!("  redeemed:  {at}"),
        None if redeemable(e, today) => {
            println!("  redeemed:  not yet: it can be redeemed (greet gift {code} --redeem)")
        }
        None => println!("  redeemed:  no"),
    }
}
