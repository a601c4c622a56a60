//! `greet inbox`: read what came back to the shop's mailbox and act on it.
//!
//! For each message of `[inbox] folder` not yet handled (without the
//! keyword [`SEEN`]): classify it ([`crate::inbox::classify`]), apply the
//! verdict to the ledger in one transaction with the message's seen-row
//! ([`Ledger::apply_inbox`]: the effect happens once, whatever happens
//! next), and only then put the message away on the server: [`SEEN`] on
//! every one, and bounces, unsubscribes and auto-replies moved to
//! `processed_folder`. A run that dies between the commit and the move
//! leaves the message in the folder without the keyword: the next run
//! finds its seen-row (`AlreadySeen`), changes nothing in the ledger, and
//! only puts it away.
use std::io::Write;

use super::{fail_on, load_config};
use crate::cli::Cli;
use crate::config::Config;
use crate::exit::{Exit, Halt};
use crate::imap::{Login, Mailbox, OpenError};
use crate::inbox::{Verdict, classify};
use crate::ledger::{Applied, BouncePolicy, Ledger};
use crate::report::count;

/// The keyword greet gives every message it has handled.
pub const SEEN: &str = "$GreetSeen";

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub bounces: usize,
    /// The addresses bounces keep out (each once, however many bounced).
    pub kept_out: std::collections::BTreeSet<String>,
    pub unsubscribes: usize,
    pub auto_replies: usize,
    pub replies: usize,
    /// Bounces and requests to stop about no greeting and no greeted address.
    pub unmatched: usize,
    /// Messages applied before (by a run that was interrupted before it put
    /// them away, or the same message delivered twice): only put away now.
    pub put_away: usize,
}

impl Tally {
    /// Count what the ledger did with one message.
    pub fn add(&mut self, applied: &Applied) {
        match applied {
            Applied::AlreadySeen => self.put_away += 1,
            Applied::Bounced { email, suppressed } => {
                self.bounces += 1;
                if *suppressed {
                    self.kept_out.insert(email.to_lowercase());
                }
            }
            Applied::Unsubscribed { .. } => self.unsubscribes += 1,
            Applied::Ignored => self.auto_replies += 1,
            Applied::Replied { .. } => self.replies += 1,
            Applied::Unmatched => self.unmatched += 1,
        }
    }

    /// Whether the ledger or the mailbox changed.
    pub fn changed(&self) -> bool {
        *self != Tally::default()
    }

    /// `inbox: 2 bounces (1 address kept out from now on), 1 unsubscribe,
    /// 3 auto-replies ignored, 3 customers replied`.
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        if self.bounces > 0 {
            let mut part = count(self.bounces, "bounce", "bounces");
            if !self.kept_out.is_empty() {
                part.push_str(&format!(
                    " ({} kept out from now on)",
                    count(self.kept_out.len(), "address", "addresses")
                ));
            }
            parts.push(part);
        }
        if self.unsubscribes > 0 {
            parts.push(count(self.unsubscribes, "unsubscribe", "unsubscribes"));
        }
        if self.auto_replies > 0 {
            parts.push(format!(
                "{} ignored",
                count(self.auto_replies, "auto-reply", "auto-replies")
            ));
        }
        if self.replies > 0 {
            parts.push(format!(
                "{} replied",
                count(self.replies, "customer", "customers")
            ));
        }
        if self.unmatched > 0 {
            parts.push(format!(
                "{} about no greeting left for you",
                count(self.unmatched, "notice", "notices")
            ));
        }
        if self.put_away > 0 {
            parts.push(format!(
                "{} handled before, now put away",
                count(self.put_away, "message", "messages")
            ));
        }
        if parts.is_empty() {
            "inbox: nothing new".into()
        } else {
            format!("inbox: {}", parts.join(", "))
        }
    }
}

/// Why a run stopped before handling everything.
#[derive(Debug)]
pub enum Stopped {
    /// The mailbox could not be opened: nothing changed.
    Unreachable(String),
    /// The connection broke (or the server refused a step) midway: what
    /// was handled stays handled.
    Midway(String),
}

/// What `inbox` did, and whether it got through.
pub struct Outcome {
    pub tally: Tally,
    pub stopped: Option<Stopped>,
}

pub fn run(cli: &Cli) -> anyhow::Result<Exit> {
    let config = load_config(&cli.config)?;
    let mut err = std::io::stderr().lock();
    let outcome = read_mailbox(&config, cli.verbose, &mut err)?;
    Ok(match outcome.stopped {
        None => {
            if !cli.quiet || outcome.tally.changed() {
                writeln!(err, "{}", outcome.tally.line())?;
            }
            Exit::Ok
        }
        Some(Stopped::Unreachable(why)) => {
            writeln!(err, "{why}")?;
            writeln!(
                err,
                "inbox: not read, nothing changed; run greet inbox again later"
            )?;
            Exit::TryLater
        }
        Some(Stopped::Midway(why)) => {
            writeln!(err, "{why}")?;
            writeln!(
                err,
                "{} (what was handled stays handled; the rest on the next run)",
                outcome.tally.line()
            )?;
            if outcome.tally.changed() {
                Exit::Partial
            } else {
                Exit::TryLater
            }
        }
    })
}

/// `send --due` with `[inbox] before_send`: read the mailbox first. Its
/// summary line is printed when anything changed (or without --quiet); a
/// mailbox that cannot be read is a warning in that line, not a stop.
/// Errors of the config or the ledger still stop the run.
pub fn before_send(config: &Config, cli: &Cli, err: &mut dyn Write) -> anyhow::Result<()> {
    let outcome = read_mailbox(config, cli.verbose, err)?;
    match outcome.stopped {
        None => {
            if !cli.quiet || outcome.tally.changed() {
                writeln!(err, "{}", outcome.tally.line())?;
            }
        }
        Some(Stopped::Unreachable(why)) => writeln!(
            err,
            "inbox: not read ({why}); sending anyway: an address that bounced since the last read may get one more greeting"
        )?,
        Some(Stopped::Midway(why)) => writeln!(
            err,
            "{}; the rest not read ({why}); sending anyway",
            outcome.tally.line()
        )?,
    }
    Ok(())
}

/// The login `[inbox]` resolved to, with its secret read now.
fn login(config: &Config) -> anyhow::Result<Login> {
    let inbox = config.inbox.as_ref().expect("checked by the caller");
    if let Some(oauth) = &inbox.oauth {
        return Ok(Login::OAuth {
            user: inbox.username.clone(),
            signer: Box::new(crate::oauth::Signer::new(oauth, &inbox.username)),
        });
    }
    let password = crate::transport::password(&inbox.password, "[inbox]")
        .map_err(|e| Halt::invalid(format!("{e:#}")))?
        .ok_or_else(|| Halt::invalid("[inbox]: no password to sign in to the mailbox with"))?;
    Ok(Login::Password {
        user: inbox.username.clone(),
        password,
    })
}

/// Test hook: `GREET_TEST_KILL_INBOX_AFTER=N` kills the process (SIGKILL)
/// after the N-th message's ledger commit, before it is put away.
#[cfg(feature = "test-hooks")]
fn kill_after() -> Option<usize> {
    std::env::var("GREET_TEST_KILL_INBOX_AFTER")
        .ok()
        .and_then(|n| n.parse().ok())
}

#[cfg(not(feature = "test-hooks"))]
fn kill_after() -> Option<usize> {
    None
}

/// Read `[inbox] folder` and handle every new message. An error is
/// returned only for what is not about the mailbox (config, ledger).
pub fn read_mailbox(
    config: &Config,
    verbose: bool,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let Some(inbox) = &config.inbox else {
        return Err(Halt::invalid(format!(
            "{}: no [inbox] table: add one to say which mailbox greet reads (see the README, \"Bounces and unsubscribe replies\")",
            config.path.display()
        )));
    };
    let problems = config.inbox_problems();
    if !problems.is_empty() {
        return Err(fail_on(problems));
    }
    let login = login(config)?;
    let mut tally = Tally::default();
    let mut mailbox = match Mailbox::open(inbox, &login) {
        Ok(m) => m,
        Err(OpenError::Unreachable(why) | OpenError::Refused(why)) => {
            return Ok(Outcome {
                tally,
                stopped: Some(Stopped::Unreachable(why)),
            });
        }
    };
    let mut ledger = Ledger::open(&config.ledger)?;
    if let Err(e) = ledger.lock() {
        if e.downcast_ref::<crate::ledger::Busy>().is_some() {
            return Err(Halt::with(Exit::TryLater, format!("{e:#}")));
        }
        return Err(e);
    }
    let result = handle_all(
        &mut mailbox,
        &mut ledger,
        inbox,
        crate::clock::now(config.time_zone)?.date_naive(),
        &mut tally,
        verbose,
        err,
    );
    mailbox.close();
    let stopped = match result {
        Ok(()) => None,
        Err(Failure::Mailbox(e)) => Some(Stopped::Midway(format!("{e:#}"))),
        Err(Failure::Ledger(e)) => return Err(e),
    };
    Ok(Outcome { tally, stopped })
}

/// A step that failed: the server's (the run stops, what was handled
/// stays handled) or the ledger's (an error of the run).
enum Failure {
    Mailbox(anyhow::Error),
    Ledger(anyhow::Error),
}

fn handle_all(
    mailbox: &mut Mailbox,
    ledger: &mut Ledger,
    inbox: &crate::config::Inbox,
    today: chrono::NaiveDate,
    tally: &mut Tally,
    verbose: bool,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    let m = Failure::Mailbox;
    let policy = BouncePolicy {
        soft_limit: inbox.soft_bounce_limit,
        soft_days: inbox.soft_bounce_days,
    };
    mailbox.ensure_folder(&inbox.processed_folder).map_err(m)?;
    let selected = mailbox.select(&inbox.folder).map_err(m)?;
    // Only what came after greet's first send can be about a greeting:
    // the owner's older mail is not read, let alone moved.
    let since = match ledger.first_run_recorded().map_err(Failure::Ledger)? {
        Some(day) => chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .map_err(|e| Failure::Ledger(anyhow::anyhow!("the ledger's first run {day:?}: {e}")))?,
        None => today,
    }
    .pred_opt()
    .unwrap_or(chrono::NaiveDate::MIN);
    // Where the folder takes no keyword of ours, the ledger's seen-rows
    // alone tell what was handled.
    let keyword = selected.keywords.then_some(SEEN);
    let mut uids = mailbox.uids_since(since, keyword).map_err(m)?;
    if keyword.is_none() {
        let mut new = Vec::new();
        for uid in uids {
            if !ledger
                .inbox_seen(&inbox.folder, selected.uid_validity, uid)
                .map_err(Failure::Ledger)?
            {
                new.push(uid);
            }
        }
        uids = new;
    }
    if verbose {
        let _ = writeln!(
            err,
            "{}: {} in {} (UIDVALIDITY {}), {} since {since} not yet handled",
            mailbox.label(),
            count(selected.exists as usize, "message", "messages"),
            inbox.folder,
            selected.uid_validity,
            uids.len()
        );
    }
    let kill_after = kill_after();
    let mut committed = 0;
    for uid in uids {
        let Some(raw) = mailbox.fetch(uid).map_err(m)? else {
            continue; // gone meanwhile
        };
        let verdict = classify(&raw);
        let applied = ledger
            .apply_inbox_with_id(
                &inbox.folder,
                selected.uid_validity,
                uid,
                crate::inbox::message_id(&raw).as_deref(),
                &verdict,
                &policy,
            )
            .map_err(Failure::Ledger)?;
        committed += 1;
        if kill_after == Some(committed) {
            let _ = signal_hook::low_level::raise(signal_hook::consts::SIGKILL);
        }
        tally.add(&applied);
        if verbose {
            let _ = writeln!(err, "message {uid}: {}", describe(&applied));
        }
        if keyword.is_some() {
            mailbox.flag(uid, SEEN).map_err(m)?;
        }
        // Replies stay for the owner, and so do notices about no greeting
        // (the owner's own mail that bounced is the owner's business).
        let stays =
            matches!(verdict, Verdict::Reply { .. }) || matches!(applied, Applied::Unmatched);
        if !stays {
            mailbox.move_to(uid, &inbox.processed_folder).map_err(m)?;
        }
    }
    Ok(())
}

/// One message's outcome, for `--verbose`.
fn describe(applied: &Applied) -> String {
    match applied {
        Applied::AlreadySeen => {
            "handled before (an interrupted run, or the same message twice): put away".into()
        }
        Applied::Bounced {
            email,
            suppressed: true,
        } => format!("a bounce for {email}: kept out from now on"),
        Applied::Bounced { email, .. } => format!("a bounce for {email}"),
        Applied::Unsubscribed { email } => format!("{email} asked to stop: unsubscribed"),
        Applied::Ignored => "an auto-reply: ignored".into(),
        Applied::Replied { from } => format!("{from} replied: left for you"),
        Applied::Unmatched => "about no greeting: left for you".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_only_what_happened_in_singular_or_plural() {
        let cases = [
            (Tally::default(), "inbox: nothing new"),
            (
                Tally {
                    bounces: 2,
                    kept_out: ["a@example.gr".to_string()].into(),
                    unsubscribes: 1,
                    auto_replies: 3,
                    replies: 3,
                    ..Tally::default()
                },
                "inbox: 2 bounces (1 address kept out from now on), 1 unsubscribe, 3 auto-replies ignored, 3 customers replied",
            ),
            (
                Tally {
                    bounces: 1,
                    kept_out: ["a@example.gr".to_string(), "b@example.gr".to_string()].into(),
                    auto_replies: 1,
                    replies: 1,
                    ..Tally::default()
                },
                "inbox: 1 bounce (2 addresses kept out from now on), 1 auto-reply ignored, 1 customer replied",
            ),
            (
                Tally {
                    unsubscribes: 2,
                    unmatched: 1,
                    put_away: 2,
                    ..Tally::default()
                },
                "inbox: 2 unsubscribes, 1 notice about no greeting left for you, 2 messages handled before, now put away",
            ),
        ];
        for (tally, line) in cases {
            assert_eq!(tally.line(), line);
            assert_eq!(tally.changed(), line != "inbox: nothing new");
        }
    }

    #[test]
    fn an_address_that_bounced_many_times_is_one_address_kept_out() {
        for times in 1..5 {
            let mut tally = Tally::default();
            for i in 0..times {
                let email = if i % 2 == 0 {
                    "Kate@Example.com"
                } else {
                    "kate@example.com"
                };
                tally.add(&Applied::Bounced {
                    email: email.into(),
                    suppressed: true,
                });
            }
            tally.add(&Applied::Bounced {
                email: "eleni@example.gr".into(),
                suppressed: false,
            });
            assert_eq!(tally.bounces, times + 1);
            assert_eq!(tally.kept_out.len(), 1, "{tally:?}");
        }
    }
}
