//! `greet send OCC`: what is about the terminal — the question, the
//! progress bar, the summary — around the library's passes
//! ([`crate::sending`]: a checking pass that keeps nothing, then a sending
//! pass that offers each greeting to the [`Dispatcher`]).
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::{fail_on, load_config};
use crate::cli::{Cli, SendArgs};
use crate::config::{Config, Occasion};
use crate::dispatch::{self, Dispatcher, Flow, Greeting, Policy, RealClock, Stop, Watch};
use crate::exit::{Exit, Halt};
use crate::ledger::{Ledger, View};
use crate::message::{eml_name, envelope};
use crate::pipeline::{Filter, Run, Target};
use crate::render::Renderer;
use crate::sending::{self, Skips};
use crate::transport::{self, Delivery};
use crate::{batch, clock, context, customer, report};

pub fn run(cli: &Cli, args: &SendArgs) -> anyhow::Result<Exit> {
    if args.late && args.batch.is_none() {
        return Err(Halt::invalid(
            "--late is for --batch DIR: a batch reviewed for a day that has passed",
        ));
    }
    let config = load_config(&cli.config)?;
    let now = clock::now(config.time_zone)?;
    let today = super::day(args.date.as_deref(), "--date", &config, now.date_naive())?;
    let mut err = std::io::stderr().lock();
    // What this machine must give the transport (the password's variable or
    // file, the CA file): a mistake there is found before anything is touched.
    // And the DKIM keys: a message greet cannot sign is not sent.
    let mut transport_problems = config.transport_problems();
    transport_problems.extend(config.dkim_problems());
    if !transport_problems.is_empty() {
        return Err(fail_on(transport_problems));
    }
    if let Some(dir) = &args.batch {
        return send_batch(cli, args, &config, dir, now.date_naive(), &mut err);
    }
    // `[inbox] before_send`: the daily run reads the mailbox first, so an
    // address that bounced or asked to stop since yesterday is not written
    // to. A mailbox that cannot be read is said, not a stop: the greetings
    // of the day matter more than one more message to a dead address.
    if args.due && args.test_to.is_none() && config.inbox.as_ref().is_some_and(|i| i.before_send) {
        super::inbox::before_send(&config, cli, &mut err)?;
    }

    // What this run is about: one occasion, or every dated one.
    let occasions: Vec<&Occasion> = if args.due {
        let dated: Vec<&Occasion> = config
            .occasions
            .values()
            .filter(|o| o.kind.is_dated())
            .collect();
        if dated.is_empty() {
            return Err(Halt::invalid(format!(
                "{}: --due sends the dated occasions (kind birthday, anniversary, nameday or holiday), and there are none",
                config.path.display()
            )));
        }
        dated
    } else {
        let name = args.occasion.as_deref().unwrap_or_default();
        vec![config.occasion(name).map_err(Halt::invalid)?]
    };
    let what = occasions
        .iter()
        .map(|o| o.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");

    let mut renderer = Renderer::load(&config).map_err(fail_on)?;
    renderer.set_globals(context::globals(now.date_naive()));
    // Which days: today, and with --catch-up the days before it (never
    // before the first run; with no run yet, this one is the first).
    let first_run = if args.test_to.is_none() && config.ledger.exists() {
        Ledger::open_read_only(&config.ledger)?.first_run_recorded()?
    } else {
        None
    };
    let first_run = first_run.unwrap_or_else(|| today.to_string());
    let targets = sending::targets(&occasions, today, args.catch_up, &first_run);
    let pairs: Vec<(&Occasion, chrono::NaiveDate)> =
        targets.iter().map(|&(o, day, _)| (o, day)).collect();
    let roster = crate::pipeline::scan_for(&config, &pairs).map_err(fail_on)?;
    let file = config.customers.display().to_string();
    if roster.errors() > 0 && !args.skip_invalid {
        report::list_head(&roster.problems, &file, 10, &mut err)?;
        return Err(Halt::invalid(format!(
            "{file}: {} — nothing sent; fix them (`greet check` lists them all) or pass --skip-invalid to greet the valid rows",
            report::count(roster.errors(), "row has problems", "rows have problems")
        )));
    }
    if !cli.quiet {
        report::list_head(&roster.problems, &file, 5, &mut err)?;
    }
    let listed = sending::fingerprint(&config.customers);

    let run_over = |view: View| {
        let targets = targets
            .iter()
            .map(|&(o, day, belated)| Target::new(&config, &renderer, o, day, belated))
            .collect();
        let mut run = Run::over(&config, &renderer, &roster, targets, now);
        run.ledger = view;
        run.retry_uncertain = args.retry_uncertain;
        run
    };
    let composer = sending::Composer {
        config: &config,
        now,
    };

    // Pass 1: render and compose everything, keep nothing but counts. A
    // run that stops here (a template error, a bad address) leaves nothing
    // behind: the ledger is not even opened for writing.
    let ledger_view = || -> anyhow::Result<View> {
        if args.test_to.is_some() {
            Ok(View::empty())
        } else {
            View::open(&config.ledger)
        }
    };
    let plan = sending::check(&run_over(ledger_view()?), composer)?.map_err(fail_on)?;
    if !cli.quiet {
        kept_out(&plan.skips, &mut err)?;
    }

    if let Some(owner) = &args.test_to {
        let run = run_over(View::empty());
        return send_tests(owner, &run, composer, args.limit.unwrap_or(3), &config, cli);
    }

    // The lock decides whether this run may send at all.
    let ledger = lock_ledger(&config, &mut err)?;

    // Catch-up days are counted from the first run that reached this point.
    ledger.first_run(&today.to_string())?;
    let daily = Daily::of(&config, &ledger)?;
    let cap = cap(args, &config, daily);
    let queue = plan.due.min(cap);
    let mut transport = open_transport(&config)?;
    if queue == 0 {
        if plan.skips.spaced > 0 {
            sending::record_spaced(&run_over(View::open(&config.ledger)?), &ledger)?;
        }
        if cli.verbose {
            reads(&file, targets.len(), &mut err)?;
        }
        let none = dispatch::Tally::default();
        summary(&plan.skips, &none, &plan.fallbacks, &mut err)?;
        return Ok(verdict(
            &plan.skips,
            &none,
            None,
            (daily, plan.due),
            &mut err,
        )?);
    }
    if !args.yes && !confirm(queue, &what, transport.describe(), &plan.first, &mut err)? {
        writeln!(err, "nothing sent")?;
        return Ok(Exit::Ok);
    }

    if sending::fingerprint(&config.customers) != listed {
        return Err(Halt::invalid(format!(
            "{file}: the list changed while greet was reading it — nothing sent; run again"
        )));
    }

    // Pass 2: render again, and hand each due greeting to the dispatcher as
    // it comes; the ledger decides for good, greeting by greeting.
    let mut passed = sending::Passed::default();
    let (tally, stopped) = dispatch_all(
        Setting {
            config: &config,
            args,
            cli,
        },
        cap,
        queue,
        transport.as_mut(),
        &ledger,
        |dispatcher| {
            passed = sending::send(&run_over(View::open(&config.ledger)?), composer, dispatcher)?;
            Ok(())
        },
    )?;
    if cli.verbose {
        reads(&file, targets.len(), &mut err)?;
    }
    // The counts of the pass that saw the whole list after the lock; when
    // the run stopped early, those of the checking pass.
    let skips = if passed.whole {
        passed.skips
    } else {
        plan.skips
    };
    summary(&skips, &tally, &plan.fallbacks, &mut err)?;
    if !passed.problems.is_empty() {
        return Err(fail_on(passed.problems));
    }
    Ok(verdict(
        &skips,
        &tally,
        stopped,
        (daily, plan.due),
        &mut err,
    )?)
}

/// The configured transport; with `[dkim]`, every message it is handed is
/// signed first, over exactly the bytes handed over (see [`crate::dkim`]).
fn open_transport(config: &Config) -> anyhow::Result<Box<dyn transport::Deliver>> {
    crate::dkim::signing(transport::open(config)?, config)
}

/// What a sending run takes from the config, the flags and the terminal.
struct Setting<'a> {
    config: &'a Config,
    args: &'a SendArgs,
    cli: &'a Cli,
}

/// Send what `feed` offers through a dispatcher: the policy from the config
/// and flags, the real clock, a stop flag raised by signals, a progress bar
/// of `expected` greetings. Connects first; `feed` runs only if that worked.
fn dispatch_all(
    setting: Setting<'_>,
    cap: usize,
    expected: usize,
    transport: &mut dyn transport::Deliver,
    ledger: &Ledger,
    feed: impl FnOnce(&mut Dispatcher<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<(dispatch::Tally, Option<Stop>)> {
    let Setting { config, args, cli } = setting;
    let mut policy = Policy::new(config.transport.rate, config.sender.domain());
    policy.cap = cap;
    policy.retry_uncertain = args.retry_uncertain;
    policy.expected = expected;
    let stop = dispatch::stop_on_signals()?;
    let mut clock = RealClock::new();
    let mut bar = Bar::new(expected, cli, config.transport.rate.to_string());
    let done = {
        let mut dispatcher =
            Dispatcher::new(transport, ledger, &mut clock, &stop, &mut bar, policy);
        if dispatcher.start() == Flow::More {
            feed(&mut dispatcher)?;
        }
        dispatcher.finish()?
    };
    bar.0.finish_and_clear();
    Ok(done)
}

/// `-v`: how many times the list was read, and for how many targets.
fn reads(file: &str, targets: usize, err: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        err,
        "{file}: read {} for {targets} (occasion, day)",
        report::count(customer::reads(), "time", "times"),
    )
}

/// Open the ledger and take the run lock: another run holding it is "try
/// later"; greetings a dead run left `sending` become uncertain, and the
/// owner is told.
fn lock_ledger(config: &Config, err: &mut dyn Write) -> anyhow::Result<Ledger> {
    let mut ledger = Ledger::open(&config.ledger)?;
    match ledger.lock() {
        Ok(n) if n > 0 => writeln!(
            err,
            "{}: a run died while sending; {} now uncertain (not resent; see `greet history`, or pass --retry-uncertain)",
            config.ledger.display(),
            report::count(n, "greeting is", "greetings are")
        )?,
        Ok(_) => {}
        Err(e) if e.downcast_ref::<crate::ledger::Busy>().is_some() => {
            return Err(Halt::with(Exit::TryLater, format!("{e:#}")));
        }
        Err(e) => return Err(e),
    }
    Ok(ledger)
}

/// At most this many greetings in the run: the smallest of `--limit`,
/// `max_per_run` and what the account's daily limit leaves.
fn cap(args: &SendArgs, config: &Config, daily: Option<Daily>) -> usize {
    args.limit
        .into_iter()
        .chain(config.transport.max_per_run)
        .chain(daily.map(Daily::left))
        .min()
        .unwrap_or(usize::MAX)
}

/// The account's daily limit (`daily_limit`, or the provider's), and how
/// much of it the last 24 hours used — counted from the ledger, so that
/// two runs in one day share it.
#[derive(Debug, Clone, Copy)]
struct Daily {
    limit: usize,
    used: usize,
}

impl Daily {
    fn of(config: &Config, ledger: &Ledger) -> anyhow::Result<Option<Daily>> {
        config
            .transport
            .daily_limit
            .map(|limit| {
                Ok(Daily {
                    limit,
                    used: ledger.handed_in_last_day()?,
                })
            })
            .transpose()
    }

    fn left(self) -> usize {
        self.limit.saturating_sub(self.used)
    }

    /// Whether the daily limit kept greetings that were due from this run
    /// (they stay due); if so the owner is told, and the run is "try later".
    fn held_back(
        daily: Option<Daily>,
        due: usize,
        tally: &dispatch::Tally,
        err: &mut dyn Write,
    ) -> std::io::Result<bool> {
        let Some(d) = daily else {
            return Ok(false);
        };
        let handed = tally.sent + tally.deferred.len() + tally.failed.len() + tally.uncertain.len();
        if handed < d.left() || due <= handed {
            return Ok(false);
        }
        writeln!(
            err,
            "daily limit of the account reached ({} in 24 hours; {} before this run); the next run continues: {} still due",
            d.limit,
            d.used.min(d.limit),
            report::count(due - handed, "greeting", "greetings")
        )?;
        Ok(true)
    }
}

/// The exit code, and the reason for a stop. `(daily, due)`: the account's
/// daily limit and how many greetings were due — a run the limit held back
/// (and nothing else stopped) is "try later".
fn verdict(
    skips: &Skips,
    tally: &dispatch::Tally,
    stopped: Option<Stop>,
    (daily, due): (Option<Daily>, usize),
    err: &mut dyn Write,
) -> std::io::Result<Exit> {
    if stopped.is_none() && Daily::held_back(daily, due, tally, err)? {
        return Ok(Exit::TryLater);
    }
    if let Some(Stop { exit, why }) = &stopped {
        writeln!(err, "{why}")?;
        if tally.sent > 0 || *exit == Exit::Partial {
            return Ok(Exit::Partial);
        }
        return Ok(*exit);
    }
    // Greetings left uncertain by an earlier run still need the owner's eye.
    let unfinished =
        tally.deferred.len() + tally.failed.len() + tally.uncertain.len() + skips.uncertain;
    Ok(if unfinished > 0 {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

/// The progress bar on a terminal (hidden otherwise and with --quiet).
struct Bar(ProgressBar, String);

impl Bar {
    fn new(len: usize, cli: &Cli, rate: String) -> Bar {
        let bar = if !cli.quiet && std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(len as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                    .expect("a valid template"),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        Bar(bar, rate)
    }
}

impl Watch for Bar {
    fn sending(&mut self, name: &str) {
        self.0.set_message(name.to_string());
    }
    fn waiting(&mut self, wait: Duration) {
        self.0
            .set_message(format!("waiting {}s (rate {})", wait.as_secs(), self.1));
    }
    fn handled(&mut self) {
        self.0.inc(1);
    }
}

/// Ask on the terminal; `false` unless the answer is yes (in any of the four languages).
fn confirm(
    queue: usize,
    what: &str,
    via: String,
    first: &[String],
    err: &mut dyn Write,
) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Halt::invalid(
            "no terminal to confirm on: pass --yes to send (e.g. from cron or a systemd timer)",
        ));
    }
    write!(
        err,
        "send {} for {what} via {via}? first: {} [y/N] ",
        report::count(queue, "greeting", "greetings"),
        first.join(", ")
    )?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_lowercase().as_str(),
        "y" | "yes" | "ν" | "ναι" | "כן" | "այո"
    ))
}

/// `send --batch DIR`: exactly the reviewed files, proven first.
fn send_batch(
    cli: &Cli,
    args: &SendArgs,
    config: &Config,
    dir: &Path,
    today: chrono::NaiveDate,
    err: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let (manifest, greetings) = load_batch(config, dir, today, args.late)?;
    let what = format!(
        "the reviewed batch {} ({} on {})",
        dir.display(),
        manifest.occasion,
        manifest.date
    );
    let from: lettre::Address = config.sender.email.parse()?;
    let mut transport = open_transport(config)?;
    if let Some(owner) = &args.test_to {
        let env = envelope(&from, owner).map_err(Halt::invalid)?;
        let mut sent = 0;
        for g in greetings.iter().take(args.limit.unwrap_or(3)) {
            let bytes = g.bytes().map_err(Halt::invalid)?;
            test_send(transport.as_mut(), &env, &bytes, &g.file, owner)?;
            sent += 1;
        }
        return tests_sent(sent, owner, cli);
    }
    let ledger = lock_ledger(config, err)?;
    // What the ledger already has is left out before the question.
    let view = View::open(&config.ledger)?;
    let (queue, skips) = sending::batch_queue(
        greetings,
        &view,
        args.retry_uncertain,
        &config.spacing,
        &ledger,
    )?;
    if !cli.quiet {
        kept_out(&skips, err)?;
    }
    let daily = Daily::of(config, &ledger)?;
    let cap = cap(args, config, daily);
    let due = queue.len();
    let n = due.min(cap);
    let fallbacks = report::Fallbacks::default();
    if n == 0 {
        let none = dispatch::Tally::default();
        summary(&skips, &none, &fallbacks, err)?;
        return Ok(verdict(&skips, &none, None, (daily, due), err)?);
    }
    let first: Vec<String> = queue.iter().take(3).map(|g| g.name.clone()).collect();
    if !args.yes && !confirm(n, &what, transport.describe(), &first, err)? {
        writeln!(err, "nothing sent")?;
        return Ok(Exit::Ok);
    }
    let mut changed = None;
    let (tally, stopped) = dispatch_all(
        Setting { config, args, cli },
        cap,
        n,
        transport.as_mut(),
        &ledger,
        |dispatcher| {
            for g in queue {
                let envelope = envelope(&from, &g.to).map_err(Halt::invalid)?;
                let bytes = match g.bytes() {
                    Ok(b) => b,
                    Err(e) => {
                        changed = Some(e);
                        break;
                    }
                };
                let flow = dispatcher.offer(Greeting {
                    gift: g.gift,
                    key: g.key,
                    to: g.to,
                    name: g.name,
                    envelope,
                    bytes,
                    file: g.file,
                })?;
                if flow == Flow::Done {
                    break;
                }
            }
            Ok(())
        },
    )?;
    summary(&skips, &tally, &fallbacks, err)?;
    if let Some(why) = changed {
        return Err(Halt::invalid(format!(
            "{why}\nthe rest of the batch is not sent: preview it again to review what changed"
        )));
    }
    Ok(verdict(&skips, &tally, stopped, (daily, due), err)?)
}

/// A batch, proven greeting by greeting from its files (see [`batch`]), and
/// reviewed for today — or sent late only when asked for with `--late`.
fn load_batch(
    config: &crate::config::Config,
    dir: &Path,
    today: chrono::NaiveDate,
    late: bool,
) -> anyhow::Result<(batch::Manifest, Vec<batch::Verified>)> {
    let refused = |problems: Vec<String>| {
        Halt::invalid(format!(
            "{}\nthe batch is refused, nothing sent: preview it again to review what changed",
            problems.join("\n")
        ))
    };
    let key =
        batch::Key::load(&config.ledger, false).map_err(|e| refused(vec![format!("{e:#}")]))?;
    let (manifest, greetings) =
        batch::Manifest::load_verified(dir, &key, &config.sender.email).map_err(refused)?;
    if manifest.from != config.sender.email {
        return Err(Halt::invalid(format!(
            "{}: the batch was made for {}, the config sends as {}: nothing sent",
            dir.display(),
            manifest.from,
            config.sender.email
        )));
    }
    let day = chrono::NaiveDate::parse_from_str(&manifest.date, "%Y-%m-%d").map_err(|e| {
        refused(vec![format!(
            "{}: date \"{}\": {e}",
            dir.join(batch::MANIFEST).display(),
            manifest.date
        )])
    })?;
    if day < today && !late {
        return Err(Halt::invalid(format!(
            "{}: this batch was reviewed for {} ({}), and today is {today}: its greetings speak of a day that has passed. \
             Nothing sent. To greet for today, preview again (`greet preview {} --format eml --out NEW_DIR`); \
             to send it as it was reviewed, pass --late",
            dir.display(),
            manifest.date,
            manifest.occasion,
            manifest.occasion
        )));
    }
    Ok((manifest, greetings))
}

/// The customers the inbox keeps out (a bounce, a reply asking to stop), with why.
fn kept_out(skips: &Skips, err: &mut dyn Write) -> std::io::Result<()> {
    for line in &skips.kept_out {
        writeln!(err, "skipped · {line}")?;
    }
    Ok(())
}

fn summary(
    skips: &Skips,
    t: &dispatch::Tally,
    fallbacks: &report::Fallbacks,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    for (label, list) in [
        ("failed", &t.failed),
        ("deferred", &t.deferred),
        ("uncertain", &t.uncertain),
    ] {
        for line in list {
            writeln!(err, "{label}: {line}")?;
        }
    }
    let mut parts = vec![format!("sent {}", t.sent)];
    for (n, label) in [
        (skips.already + t.already, "already greeted"),
        (skips.opted_out, "opted out"),
        (skips.invalid, "invalid"),
        (t.deferred.len(), "deferred"),
        (t.failed.len(), "failed"),
        (t.uncertain.len(), "uncertain"),
        (skips.uncertain + t.skipped, "uncertain, not resent"),
        (skips.failed, "failed before, not retried"),
        (skips.spaced, "spaced out"),
    ] {
        if n > 0 {
            parts.push(format!("{label} {n}"));
        }
    }
    // The summary is printed even with --quiet: cron mail shows it.
    writeln!(err, "{}", parts.join(" · "))?;
    for line in fallbacks.lines() {
        writeln!(err, "{line}")?;
    }
    Ok(())
}

/// `--test-to`: real greetings, to the owner, marked as tests; no ledger.
fn send_tests(
    owner: &str,
    run: &Run<'_>,
    composer: sending::Composer<'_>,
    n: usize,
    config: &Config,
    cli: &Cli,
) -> anyhow::Result<Exit> {
    let from: lettre::Address = config.sender.email.parse()?;
    let env = envelope(&from, owner).map_err(Halt::invalid)?;
    let mut transport = open_transport(config)?;
    let mut sent = 0;
    let mut failure = None;
    if n > 0 {
        run.for_each(
            &Filter::default(),
            |item| composer.compose(item),
            |result| {
                let Ok((item, Some((_, bytes)))) = result else {
                    return Ok(true);
                };
                let file = eml_name(&item.key, None);
                if let Err(e) = test_send(transport.as_mut(), &env, &bytes, &file, owner) {
                    failure = Some(e);
                    return Ok(false);
                }
                sent += 1;
                Ok(sent < n)
            },
        )?;
    }
    if let Some(e) = failure {
        return Err(e);
    }
    tests_sent(sent, owner, cli)
}

fn test_send(
    transport: &mut dyn transport::Deliver,
    env: &lettre::address::Envelope,
    bytes: &[u8],
    file: &str,
    owner: &str,
) -> anyhow::Result<()> {
    let msg = mark_as_test(bytes);
    match transport.deliver(env, &msg, &format!("test-{file}")) {
        Delivery::Sent(_) => Ok(()),
        other => Err(Halt::with(
            Exit::TryLater,
            format!("test send to {owner}: {}", other.reply()),
        )),
    }
}

fn tests_sent(sent: usize, owner: &str, cli: &Cli) -> anyhow::Result<Exit> {
    if !cli.quiet {
        eprintln!(
            "sent {} to {owner} (marked [TEST]; the ledger was not touched)",
            report::count(sent, "test greeting", "test greetings")
        );
    }
    Ok(Exit::Ok)
}

/// Insert a `X-Greet-Test: yes` header and prefix the Subject with [TEST],
/// on the bytes (the body is left exactly as it was).
fn mark_as_test(bytes: &[u8]) -> Vec<u8> {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(bytes.len(), |i| i + 2);
    let (head, body) = bytes.split_at(split);
    let mut out = Vec::with_capacity(bytes.len() + 32);
    out.extend_from_slice(b"X-Greet-Test: yes\r\n");
    for line in head.split_inclusive(|b| *b == b'\n') {
        match line.strip_prefix(b"Subject: ") {
            Some(rest) => {
                out.extend_from_slice(b"Subject: [TEST] ");
                out.extend_from_slice(rest);
            }
            None => out.extend_from_slice(line),
        }
    }
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_greeting_is_marked_in_its_head_and_its_body_is_untouched() {
        let body: &[u8] = b"\xe1\xe2 not utf-8\r\nSubject: in the body\r\n";
        let mut msg =
            b"From: a@x.gr\r\nSubject: =?utf-8?b?zpPOtc65zrE=?=\r\nTo: b@x.gr\r\n\r\n".to_vec();
        msg.extend_from_slice(body);
        let out = mark_as_test(&msg);
        let mut want = b"X-Greet-Test: yes\r\nFrom: a@x.gr\r\nSubject: [TEST] =?utf-8?b?zpPOtc65zrE=?=\r\nTo: b@x.gr\r\n\r\n".to_vec();
        want.extend_from_slice(body);
        assert_eq!(out, want);
    }
}
