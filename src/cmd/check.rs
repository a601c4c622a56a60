//! `greet check`: validate the config, the customer list and every template,
//! render every occasion for every customer, and list every problem with
//! `file:line:column`. Sends nothing; exit 2 if anything is wrong.
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use super::load_config;
use crate::cli::{CheckArgs, Cli};
use crate::exit::Exit;
use crate::pipeline::{Filter, Run, Status, Target};
use crate::problem::Problem;
use crate::render::Renderer;
use crate::{clock, context, customer, report};

pub fn run(cli: &Cli, args: &CheckArgs) -> anyhow::Result<Exit> {
    let mut out = std::io::stdout().lock();
    let config = match load_config(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            writeln!(out, "{e:#}")?;
            return Ok(Exit::Invalid);
        }
    };
    let now = clock::now(config.time_zone)?;
    let date = super::day(args.date.as_deref(), "--date", &config, now.date_naive())?;
    // What the transport needs from this machine (password, CA file), and
    // whether the scheduled run would see the password too.
    let mut problems: Vec<Problem> = config.transport_problems();
    let dkim_problems = config.dkim_problems();
    let signs = config.dkim.as_ref().filter(|_| dkim_problems.is_empty());
    problems.extend(dkim_problems);
    problems.extend(super::schedule::scheduled_secret_problems(&config));
    problems.extend(unsubscribe_off(&config));
    // `[inbox]`'s own password and CA file (a borrowed login is said once).
    for p in config.inbox_problems() {
        if !problems
            .iter()
            .any(|q| q.message == p.message && q.line == p.line)
        {
            problems.push(p);
        }
    }

    let renderer = match Renderer::load(&config) {
        Ok(mut r) => {
            r.set_globals(context::globals(now.date_naive()));
            Some(r)
        }
        Err(p) => {
            problems.extend(p);
            None
        }
    };
    let roster = match customer::scan(&config) {
        Ok(r) => Some(r),
        Err(p) => {
            problems.extend(p);
            None
        }
    };
    let (mut rendered, mut fallbacks) = (
        0usize,
        BTreeMap::<(u64, String, String), BTreeSet<String>>::new(),
    );
    if let Some(roster) = &roster {
        problems.extend(roster.problems.iter().cloned());
    }
    // Holidays a customer without a tradition is never greeted for (New
    // Year is for everyone): said once per customer, by line.
    let needs_tradition: Vec<&str> = config
        .occasions
        .values()
        .filter(|o| o.feast.is_some_and(|f| f != crate::feast::Feast::NewYear))
        .map(|o| o.name.as_str())
        .collect();
    let mut without_tradition = BTreeMap::<u64, String>::new();
    if let (Some(renderer), Some(roster)) = (&renderer, &roster) {
        // One pass over the list for every occasion.
        let targets = config
            .occasions
            .values()
            .map(|o| Target::new(&config, renderer, o, date, false))
            .collect();
        let mut run = Run::over(&config, renderer, roster, targets, now);
        run.every_customer = true;
        let checked = run.for_each(
            &Filter::default(),
            |_| Ok(()),
            |result| {
                match result {
                    Ok((item, ())) => {
                        if item.status == Status::Due {
                            rendered += 1;
                        }
                        if !needs_tradition.is_empty()
                            && item.customer.tradition.is_none()
                            && !item.customer.opt_out
                        {
                            without_tradition
                                .entry(item.customer.line)
                                .or_insert_with(|| {
                                    item.customer
                                        .language
                                        .clone()
                                        .unwrap_or_else(|| config.default_language.clone())
                                });
                        }
                        if item.fell_back {
                            let wanted = item
                                .customer
                                .language
                                .clone()
                                .unwrap_or_else(|| config.default_language.clone());
                            fallbacks
                                .entry((item.customer.line, wanted, item.lang.clone()))
                                .or_default()
                                .insert(item.key.occasion.clone());
                        }
                    }
                    Err(p) => {
                        if !problems.contains(&p) {
                            problems.push(p);
                        }
                    }
                }
                Ok(true)
            },
        );
        if let Err(e) = checked {
            problems.push(Problem::error(
                config.customers.display().to_string(),
                format!("{e:#}"),
            ));
        }
        let file = config.customers.display().to_string();
        for ((line, wanted, used), occasions) in fallbacks {
            let occ: Vec<String> = occasions.into_iter().collect();
            problems.push(
                Problem::warning(
                    &file,
                    format!(
                        "no \"{wanted}\" template for {}; this customer is greeted in \"{used}\"",
                        occ.join(", ")
                    ),
                )
                .at(line, None),
            );
        }
        for (line, lang) in without_tradition {
            problems.push(
                Problem::warning(
                    &file,
                    format!(
                        "no tradition for language \"{lang}\": not greeted for {}; fill in the tradition column, or add [traditions] {lang} = \"orthodox\" (armenian, jewish, western) to greet.toml",
                        needs_tradition.join(", ")
                    ),
                )
                .at(line, None),
            );
        }
    }

    // The stored sign-in: when the owner signed in, and whether the server
    // still renews it (asked now; a rotated refresh token is saved).
    let sign_in = match &config.transport.kind {
        crate::config::TransportKind::Smtp(s) => match (&s.oauth, &s.username) {
            (Some(oauth), Some(user)) => crate::oauth::status(oauth)
                .ok()
                .map(|status| (status, crate::oauth::Signer::new(oauth, user).refresh_now())),
            _ => None,
        },
        _ => None,
    };
    let sign_in_problem = sign_in.as_ref().and_then(|(_, r)| r.clone().err());
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    for p in &problems {
        writeln!(out, "{p}")?;
    }
    if !cli.quiet {
        // The transport as the run will use it: every default resolved.
        writeln!(out, "transport settings:")?;
        for (key, value) in config.transport.settings() {
            writeln!(out, "  {key}: {value}")?;
        }
        if let Some((status, renewed)) = &sign_in {
            writeln!(
                out,
                "  signed in: {} (with `greet login`){}",
                crate::oauth::when(status.signed_in),
                status
                    .refreshed
                    .map(|r| format!(", token last refreshed {}", crate::oauth::when(r)))
                    .unwrap_or_default()
            )?;
            if let Ok(until) = renewed {
                writeln!(
                    out,
                    "  sign-in renewed just now: the stored token can be refreshed{}",
                    until
                        .map(|t| format!(
                            " (new access token good until {})",
                            crate::oauth::when(t)
                        ))
                        .unwrap_or_default()
                )?;
            }
        }
        // How much of the account's day the ledger has used (read only; a
        // ledger that does not exist yet has used none).
        if let Some(limit) = config.transport.daily_limit
            && config.ledger.is_file()
        {
            let used = crate::ledger::Ledger::open_read_only(&config.ledger)
                .and_then(|l| l.handed_in_last_day())?;
            writeln!(out, "  sent in the last 24 hours: {used} of {limit}")?;
        }
        // Who signs, and the DNS names receivers look the keys up at.
        if let Some(d) = signs {
            let keys: Vec<String> = std::iter::once(format!(
                "{}._domainkey.{} (rsa-sha256)",
                d.selector, d.domain
            ))
            .chain(
                d.ed25519
                    .as_ref()
                    .map(|(s, _)| format!("{s}._domainkey.{} (ed25519-sha256)", d.domain)),
            )
            .collect();
            writeln!(
                out,
                "dkim: every message signed for {}; keys published at {}",
                d.domain,
                keys.join(" and ")
            )?;
        }
        if let Some(roster) = &roster {
            writeln!(
                out,
                "{}: {} read, {} usable",
                config.customers.display(),
                report::count(roster.rows as usize, "row", "rows"),
                roster.valid
            )?;
        }
        writeln!(
            out,
            "{} across {} rendered for {date}; {}, {}",
            report::count(rendered, "greeting", "greetings"),
            report::count(config.occasions.len(), "occasion", "occasions"),
            report::count(errors, "error", "errors"),
            report::count(warnings, "warning", "warnings"),
        )?;
    }
    if let Some(e) = &sign_in_problem {
        writeln!(
            out,
            "{}",
            config.transport.problem(
                &config.path.display().to_string(),
                "token_file",
                format!("[transport] token_file: the stored sign-in cannot be renewed: {e}"),
            )
        )?;
    }
    out.flush()?;
    Ok(if errors > 0 {
        Exit::Invalid
    } else if sign_in_problem.is_some() {
        Exit::TryLater
    } else {
        Exit::Ok
    })
}

/// The owner's knowing choice, said every time: with `dated_occasions =
/// false` the dated occasions go without List-Unsubscribe.
fn unsubscribe_off(config: &crate::config::Config) -> Option<Problem> {
    let u = &config.unsubscribe;
    let without: Vec<&str> = config
        .occasions
        .values()
        .filter(|o| !u.applies_to(o.kind))
        .map(|o| o.name.as_str())
        .collect();
    if without.is_empty() {
        return None;
    }
    let p = Problem::warning(
        config.path.display().to_string(),
        format!(
            "[unsubscribe] dated_occasions = false: {} greetings go out without List-Unsubscribe and without {{{{ unsubscribe }}}} (campaigns still carry them); Gmail, Yahoo and Outlook may treat mail without it as spam",
            without.join(", ")
        ),
    );
    Some(match u.dated_at {
        Some((line, col)) => p.at(line, Some(col)),
        None => p,
    })
}
