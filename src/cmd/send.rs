//! `greet send OCC`: render everything first (any template error: nothing is
//! sent), confirm, then send each greeting exactly once through the
//! configured transport, recording every outcome in the ledger.
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use chrono::Days;

use super::{fail_on, load_config};
use crate::cli::{Cli, SendArgs};
use crate::config::{Occasion, OccasionKind};
use crate::exit::{Exit, Halt};
use crate::ledger::{Ledger, Outcome, Reservation, State};
use crate::message::{GreetingKey, compose, envelope};
use crate::pipeline::{Filter, Run, Status};
use crate::rate::{Limiter, Rate};
use crate::render::{Renderer, header_value};
use crate::transport::{self, Delivery};
use crate::{batch, clock, context, customer, report};

/// One greeting, composed and ready to go.
struct Ready {
    key: GreetingKey,
    to: String,
    name: String,
    bytes: Vec<u8>,
    file: String,
}

#[derive(Default)]
struct Tally {
    sent: usize,
    already: usize,
    opted_out: usize,
    invalid: usize,
    deferred: Vec<String>,
    failed: Vec<String>,
    uncertain: Vec<String>,
    skipped_uncertain: usize,
    skipped_failed: usize,
    /// Due greetings in another language than the customer's.
    fallbacks: report::Fallbacks,
}

/// How long to wait before retry `attempt` (1-based) of a transient refusal.
fn backoff(attempt: u32) -> Duration {
    let base = std::env::var("GREET_RETRY_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000u64);
    Duration::from_millis(base * u64::from(attempt))
}

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
    let transport_problems = config.transport_problems();
    if !transport_problems.is_empty() {
        return Err(fail_on(transport_problems));
    }

    // What this run is about: one occasion, every dated one, or a batch.
    let occasions: Vec<&Occasion> = if args.due {
        let dated: Vec<&Occasion> = config
            .occasions
            .values()
            .filter(|o| {
                matches!(
                    o.kind,
                    OccasionKind::Birthday | OccasionKind::Anniversary | OccasionKind::Nameday
                )
            })
            .collect();
        if dated.is_empty() {
            return Err(Halt::invalid(format!(
                "{}: --due sends the dated occasions (kind birthday, anniversary or nameday), and there are none",
                config.path.display()
            )));
        }
        dated
    } else if let Some(name) = &args.occasion {
        vec![config.occasion(name).map_err(Halt::invalid)?]
    } else {
        Vec::new()
    };
    let batch = match &args.batch {
        Some(dir) => Some(load_batch(&config, dir, now.date_naive(), args.late)?),
        None => None,
    };
    let what = match (&batch, args.due) {
        (Some((m, _)), _) => format!(
            "the reviewed batch {} ({} on {})",
            args.batch.as_deref().unwrap_or(Path::new(".")).display(),
            m.occasion,
            m.date
        ),
        (None, true) => occasions
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        (None, false) => occasions[0].name.clone(),
    };

    // Render and check everything before the ledger is touched: a run that
    // stops here (a template error, a bad row) leaves nothing behind.
    let mut tally = Tally::default();
    let known_first_run = if args.test_to.is_none() && config.ledger.exists() {
        Ledger::open_read_only(&config.ledger)?.first_run_recorded()?
    } else {
        None
    };
    let ready = match batch {
        Some((_, greetings)) => greetings
            .into_iter()
            .map(|g| Ready {
                key: g.key,
                to: g.to,
                name: g.name,
                bytes: g.bytes,
                file: g.file,
            })
            .collect(),
        None => render_all(
            &config,
            &occasions,
            today,
            now,
            args,
            known_first_run.as_deref(),
            &mut tally,
            cli,
            &mut err,
        )?,
    };

    // The lock decides whether this run may send at all.
    let mut ledger = if args.test_to.is_none() {
        let mut l = Ledger::open(&config.ledger)?;
        match l.lock() {
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
        Some(l)
    } else {
        None
    };

    let mut transport = transport::open(&config)?;
    let from: lettre::Address = config.sender.email.parse()?;

    if let Some(owner) = &args.test_to {
        return send_tests(
            owner,
            &ready,
            args.limit.unwrap_or(3),
            &config,
            transport.as_mut(),
            cli,
        );
    }
    let ledger = ledger.as_mut().expect("locked above");
    // Catch-up days are counted from the first run that reached this point.
    ledger.first_run(&today.to_string())?;

    // Leave out what the ledger already has, and the unsubscribed.
    let mut queue = Vec::new();
    for r in ready {
        if ledger.is_suppressed(&r.to)? {
            tally.opted_out += 1;
            continue;
        }
        match ledger.state(&r.key)? {
            Some(State::Sent) => tally.already += 1,
            Some(State::Failed) => tally.skipped_failed += 1,
            Some(State::Uncertain) if !args.retry_uncertain => tally.skipped_uncertain += 1,
            _ => queue.push(r),
        }
    }
    let cap = args
        .limit
        .into_iter()
        .chain(config.transport.max_per_run)
        .min()
        .unwrap_or(usize::MAX);
    queue.truncate(cap);

    if queue.is_empty() {
        summary(&tally, &mut err, cli)?;
        return Ok(if tally.skipped_uncertain > 0 {
            Exit::Partial
        } else {
            Exit::Ok
        });
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Halt::invalid(
                "no terminal to confirm on: pass --yes to send (e.g. from cron or a systemd timer)",
            ));
        }
        write!(
            err,
            "send {} for {} via {}? first: {} [y/N] ",
            report::count(queue.len(), "greeting", "greetings"),
            what,
            transport.describe(),
            queue
                .iter()
                .take(3)
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        err.flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(
            answer.trim().to_lowercase().as_str(),
            "y" | "yes" | "ν" | "ναι" | "כן" | "այո"
        ) {
            writeln!(err, "nothing sent")?;
            return Ok(Exit::Ok);
        }
    }

    let rate = Rate::parse(&config.transport.rate).unwrap_or(Rate {
        count: 30,
        per: Duration::from_secs(60),
    });
    let mut limiter = Limiter::new(rate);
    let mut stopped: Option<(Exit, String)> = None;
    let mut rejected_in_a_row = 0;

    // SIGTERM (systemd stopping the timer's unit, a shutdown), SIGINT
    // (Ctrl-C) and SIGHUP: the message in hand is finished and recorded,
    // then the run stops; the rest stay due for the next run.
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [SIGTERM, SIGINT, SIGHUP] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }

    // Connect (and authenticate) before the first greeting is marked as
    // being sent: an unreachable server or a refused account changes nothing.
    let mut attempt = 1;
    loop {
        match transport.prepare() {
            Ok(()) => break,
            Err(Delivery::Transient(_)) if attempt < 3 => {
                std::thread::sleep(backoff(attempt));
                attempt += 1;
            }
            Err(d) => {
                // Before any greeting: a temporary refusal means "not now".
                let d = match d {
                    d @ Delivery::Transient(_) if !d.service_unavailable() => {
                        Delivery::Unreachable(d.into_reply())
                    }
                    d => d,
                };
                stopped = judge(d, "", transport.as_ref(), &mut tally, &mut 0).1;
                break;
            }
        }
    }

    let progress = if stopped.is_none() && !cli.quiet && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(queue.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                .expect("a valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let crash_after_reply = std::env::var_os("GREET_TEST_KILL_AFTER_REPLY").is_some();
    let to_send: &[Ready] = if stopped.is_some() { &[] } else { &queue };
    for r in to_send {
        let wait = limiter.wait(Instant::now());
        if !wait.is_zero() {
            progress.set_message(format!(
                "waiting {}s (rate {})",
                wait.as_secs(),
                config.transport.rate
            ));
            pause(wait, &interrupted);
        }
        if interrupted.load(Ordering::Relaxed) {
            let left = queue.len() - (progress.position() as usize);
            stopped = Some((
                Exit::TryLater,
                format!(
                    "stopped by a signal: {} not sent yet, still due for the next run",
                    report::count(left, "greeting", "greetings")
                ),
            ));
            break;
        }
        progress.set_message(r.name.clone());
        match ledger.reserve(
            &r.key,
            &r.to,
            &r.key.message_id(config.sender.domain()),
            args.retry_uncertain,
        )? {
            Reservation::Skip(State::Sent) => {
                tally.already += 1;
                progress.inc(1);
                continue;
            }
            Reservation::Skip(_) => {
                progress.inc(1);
                continue;
            }
            Reservation::Go => {}
        }
        let env = envelope(&from, &r.to).map_err(Halt::invalid)?;
        let mut attempt = 1;
        let delivery = loop {
            let d = transport.deliver(&env, &r.bytes, &r.file);
            match d {
                Delivery::Transient(_) if attempt < 3 && !interrupted.load(Ordering::Relaxed) => {
                    pause(backoff(attempt), &interrupted);
                    attempt += 1;
                }
                other => break other,
            }
        };
        limiter.record(Instant::now());
        if matches!(delivery, Delivery::Sent(_)) && crash_after_reply {
            // Fault injection for the crash tests: die as a power cut would,
            // after the server's 250 and before it is recorded.
            let _ = signal_hook::low_level::raise(signal_hook::consts::SIGKILL);
        }
        let who = format!("{} <{}>", r.name, r.to);
        let (outcome, stop) = judge(
            delivery,
            &who,
            transport.as_ref(),
            &mut tally,
            &mut rejected_in_a_row,
        );
        ledger.record(&r.key, &outcome)?;
        progress.inc(1);
        if stop.is_some() {
            stopped = stop;
            break;
        }
    }
    progress.finish_and_clear();
    summary(&tally, &mut err, cli)?;
    if let Some((exit, why)) = &stopped {
        writeln!(err, "{why}")?;
        if tally.sent > 0 || *exit == Exit::Partial {
            return Ok(Exit::Partial);
        }
        return Ok(*exit);
    }
    // Greetings left uncertain by an earlier run still need the owner's eye.
    let unfinished =
        tally.deferred.len() + tally.failed.len() + tally.uncertain.len() + tally.skipped_uncertain;
    Ok(if unfinished > 0 {
        Exit::Partial
    } else {
        Exit::Ok
    })
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

/// Render and compose every due greeting of these occasions (and, with
/// --catch-up, the days before today) before the first message goes out.
#[allow(clippy::too_many_arguments)]
fn render_all(
    config: &crate::config::Config,
    occasions: &[&Occasion],
    today: chrono::NaiveDate,
    now: chrono::DateTime<chrono_tz::Tz>,
    args: &SendArgs,
    first_run: Option<&str>,
    tally: &mut Tally,
    cli: &Cli,
    err: &mut dyn Write,
) -> anyhow::Result<Vec<Ready>> {
    let mut renderer = Renderer::load(config).map_err(fail_on)?;
    renderer.set_globals(context::globals(now.date_naive()));
    let roster = customer::scan(config).map_err(fail_on)?;
    let file = config.customers.display().to_string();
    if roster.errors() > 0 && !args.skip_invalid {
        report::list_head(&roster.problems, &file, 10, err)?;
        return Err(Halt::invalid(format!(
            "{file}: {} — nothing sent; fix them (`greet check` lists them all) or pass --skip-invalid to greet the valid rows",
            report::count(roster.errors(), "row has problems", "rows have problems")
        )));
    }
    if !cli.quiet {
        report::list_head(&roster.problems, &file, 5, err)?;
    }

    // Which days: today, and with --catch-up the days before it (never
    // before the first run; with no run yet, this one is the first).
    let today_text = today.to_string();
    let first_run = Some(first_run.unwrap_or(&today_text));
    let mut days = Vec::new();
    for back in (0..=args.catch_up).rev() {
        let Some(day) = today.checked_sub_days(Days::new(u64::from(back))) else {
            continue;
        };
        // The day asked for is always sent; only missed days wait for a first run.
        if back > 0 && first_run.is_some_and(|f| day.to_string().as_str() < f) {
            continue;
        }
        days.push((day, back > 0));
    }

    let mut ready: Vec<Ready> = Vec::new();
    let mut problems = Vec::new();
    for occasion in occasions {
        for &(day, belated) in &days {
            let mut run = Run::new(config, &renderer, &roster, occasion, day, now);
            if belated {
                run = run.belated();
            }
            run.for_each(
                &Filter::default(),
                |item| {
                    let Some(r) = &item.rendered else {
                        return Ok(Vec::new());
                    };
                    let c = &item.customer;
                    compose(&config.sender, &c.full_name(), &c.email, &item.key, r, now)
                        .map(|m| m.formatted())
                        .map_err(|e| {
                            Halt::invalid(format!("{}:{}: {e}", config.customers.display(), c.line))
                        })
                },
                |result| {
                    match result {
                        Err(p) => {
                            if !problems.contains(&p) {
                                problems.push(p);
                            }
                        }
                        Ok((item, bytes)) => match item.status {
                            Status::Due => {
                                if let Some(wanted) = item.wanted_language(config) {
                                    tally.fallbacks.add(&occasion.template, wanted, &item.lang);
                                }
                                ready.push(Ready {
                                    file: format!(
                                        "{}-{}-{}.eml",
                                        item.key.occasion, item.key.occurrence, item.key.customer
                                    )
                                    .replace(['/', '\\'], "_"),
                                    key: item.key,
                                    to: item.customer.email.clone(),
                                    name: item.customer.full_name(),
                                    bytes,
                                })
                            }
                            Status::OptedOut => tally.opted_out += 1,
                            _ => tally.invalid += 1,
                        },
                    }
                    Ok(true)
                },
            )?;
        }
    }
    if !problems.is_empty() {
        return Err(fail_on(problems));
    }
    Ok(ready)
}

/// Sleep for `d`, waking early when a signal asks the run to stop.
fn pause(d: Duration, interrupted: &AtomicBool) {
    let until = Instant::now() + d;
    while !interrupted.load(Ordering::Relaxed) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// What to record for a delivery, and whether the run must stop after it.
fn judge(
    delivery: Delivery,
    who: &str,
    transport: &dyn transport::Deliver,
    tally: &mut Tally,
    rejected_in_a_row: &mut usize,
) -> (Outcome, Option<(Exit, String)>) {
    let reason = |reply: &str| header_value(reply);
    let service_unavailable = delivery.service_unavailable();
    match delivery {
        Delivery::Sent(reply) => {
            let reply = reply.to_string();
            tally.sent += 1;
            *rejected_in_a_row = 0;
            (Outcome::Sent { reply }, None)
        }
        Delivery::Permanent(reply) => {
            let reply = reply.to_string();
            tally.failed.push(format!("{who}: {}", reason(&reply)));
            *rejected_in_a_row += 1;
            let stop = (*rejected_in_a_row >= 5).then(|| {
                let why = format!(
                    "stopped: the last 5 messages were all refused ({}) — likely a template or account problem",
                    reason(&reply)
                );
                (Exit::Partial, why)
            });
            (Outcome::Failed { reply }, stop)
        }
        Delivery::Transient(reply) => {
            let reply = reply.to_string();
            // 421: the service itself is unavailable; the rest would fare no better.
            let stop = service_unavailable.then(|| {
                let why = format!(
                    "stopped: {} is not accepting mail now ({}) — nothing is lost, run again later",
                    transport.describe(),
                    reason(&reply)
                );
                (Exit::TryLater, why)
            });
            if !who.is_empty() {
                tally.deferred.push(format!("{who}: {}", reason(&reply)));
            }
            (Outcome::Deferred { reply }, stop)
        }
        Delivery::Uncertain(reply) => {
            let reply = reply.to_string();
            tally.uncertain.push(format!("{who}: {}", reason(&reply)));
            (Outcome::Uncertain { reply }, None)
        }
        // The three below are not the recipient's fault: the greeting goes
        // back to deferred, nobody is marked failed, and the run stops.
        Delivery::Halt(reply) => {
            let reply = reply.to_string();
            let why = format!(
                "stopped: the server refuses this account: {}",
                reason(&reply)
            );
            (Outcome::Deferred { reply }, Some((Exit::TryLater, why)))
        }
        Delivery::Insecure(reply) => {
            let reply = reply.to_string();
            let why = format!(
                "stopped: TLS could not be set up with {} ({}); nothing was sent in clear — check host, port, security and ca_file",
                transport.describe(),
                reason(&reply)
            );
            (Outcome::Deferred { reply }, Some((Exit::Failure, why)))
        }
        Delivery::Unreachable(reply) => {
            let reply = reply.to_string();
            let why = format!(
                "stopped: cannot reach {}: {} — nothing is lost, run again later",
                transport.describe(),
                reason(&reply)
            );
            (Outcome::Deferred { reply }, Some((Exit::TryLater, why)))
        }
    }
}

fn summary(t: &Tally, err: &mut dyn Write, cli: &Cli) -> std::io::Result<()> {
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
        (t.already, "already greeted"),
        (t.opted_out, "opted out"),
        (t.invalid, "invalid"),
        (t.deferred.len(), "deferred"),
        (t.failed.len(), "failed"),
        (t.uncertain.len(), "uncertain"),
        (t.skipped_uncertain, "uncertain, not resent"),
        (t.skipped_failed, "failed before, not retried"),
    ] {
        if n > 0 {
            parts.push(format!("{label} {n}"));
        }
    }
    let _ = cli; // the summary is printed even with --quiet: cron mail shows it
    writeln!(err, "{}", parts.join(" · "))?;
    for line in t.fallbacks.lines() {
        writeln!(err, "{line}")?;
    }
    Ok(())
}

/// `--test-to`: real greetings, to the owner, marked as tests; no ledger.
fn send_tests(
    owner: &str,
    ready: &[Ready],
    n: usize,
    config: &crate::config::Config,
    transport: &mut dyn transport::Deliver,
    cli: &Cli,
) -> anyhow::Result<Exit> {
    let from: lettre::Address = config.sender.email.parse()?;
    let env = envelope(&from, owner).map_err(Halt::invalid)?;
    let mut sent = 0;
    for r in ready.iter().take(n) {
        let msg = mail_subject_test(&r.bytes);
        match transport.deliver(&env, &msg, &format!("test-{}", r.file)) {
            Delivery::Sent(_) => sent += 1,
            other => {
                return Err(Halt::with(
                    Exit::TryLater,
                    format!("test send to {owner}: {other:?}"),
                ));
            }
        }
    }
    if !cli.quiet {
        eprintln!(
            "sent {} to {owner} (marked [TEST]; the ledger was not touched)",
            report::count(sent, "test greeting", "test greetings")
        );
    }
    Ok(Exit::Ok)
}

/// Insert a `X-Greet-Test: yes` header and prefix the Subject with [TEST].
fn mail_subject_test(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut out = String::with_capacity(bytes.len() + 32);
    out.push_str("X-Greet-Test: yes\r\n");
    for line in head.split("\r\n") {
        if let Some(rest) = line.strip_prefix("Subject: ") {
            out.push_str("Subject: [TEST] ");
            out.push_str(rest);
        } else {
            out.push_str(line);
        }
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}
