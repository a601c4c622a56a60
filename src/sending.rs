//! What a send run does with the customer list, as a library: which
//! (occasion, day) targets it covers, the checking pass (render and compose
//! everything, keep only counts: any error and nothing is sent) and the
//! sending pass (render again and offer each due greeting to the
//! [`Dispatcher`]). `greet send` adds only the terminal: the question, the
//! progress bar and the summary.
use std::path::Path;

use chrono::{DateTime, Days, NaiveDate};
use chrono_tz::Tz;
use lettre::address::Envelope;

use crate::config::{Config, Occasion};
use crate::dispatch::{Dispatcher, Flow, Greeting};
use crate::exit::Halt;
use crate::ledger::{Ledger, View};
use crate::message::{compose, eml_name, into_parts};
use crate::pipeline::{Filter, Item, Run, Status};
use crate::problem::Problem;
use crate::report;
use crate::spacing::{Spacing, Weighed, decide};

/// Greetings a run leaves alone, by reason.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Skips {
    pub already: usize,
    pub opted_out: usize,
    pub invalid: usize,
    pub uncertain: usize,
    pub failed: usize,
    /// Spaced out: another greeting to the customer goes or went too close.
    pub spaced: usize,
    /// Customers the inbox put on the suppression list (a bounce, a reply
    /// asking to stop), each with why: "Maria <maria@example.gr> · bounced
    /// 5.1.1 on 2026-12-01". The owner's own unsubscribes are not listed.
    pub kept_out: Vec<String>,
}

impl Skips {
    pub fn count(&mut self, status: Status) {
        match status {
            Status::Due => {}
            Status::AlreadySent => self.already += 1,
            Status::OptedOut => self.opted_out += 1,
            Status::Invalid => self.invalid += 1,
            Status::Uncertain => self.uncertain += 1,
            Status::Failed => self.failed += 1,
            Status::Spaced => self.spaced += 1,
        }
    }

    /// Note `who` when the inbox is why the ledger keeps them out.
    pub fn note_kept_out(&mut self, who: &str, email: &str, view: &View) {
        use crate::ledger::Reason;
        if let Some(s) = view.suppression(email)
            && matches!(s.reason, Some(Reason::Bounced | Reason::UnsubscribeReply))
        {
            self.kept_out.push(format!("{who} · {}", s.describe()));
        }
    }
}

/// What the checking pass found: how many greetings are due and who comes first.
#[derive(Default)]
pub struct Plan {
    pub due: usize,
    /// The first three names, for the question.
    pub first: Vec<String>,
    pub skips: Skips,
    /// Due greetings in another language than the customer's.
    pub fallbacks: report::Fallbacks,
}

/// The days a run covers for each occasion: `today`, and with `catch_up`
/// the days before it that are not before the first run (`first_run`,
/// YYYY-MM-DD; the day asked for is always covered). Missed days are belated.
pub fn targets<'c>(
    occasions: &[&'c Occasion],
    today: NaiveDate,
    catch_up: u32,
    first_run: &str,
) -> Vec<(&'c Occasion, NaiveDate, bool)> {
    let mut targets = Vec::new();
    for occasion in occasions {
        for back in (0..=catch_up).rev() {
            let Some(day) = today.checked_sub_days(Days::new(u64::from(back))) else {
                continue;
            };
            if back > 0 && day.to_string().as_str() < first_run {
                continue;
            }
            targets.push((*occasion, day, back > 0));
        }
    }
    targets
}

/// A greeting's envelope and bytes (`None` when it is not due).
pub type Composed = Option<(Envelope, Vec<u8>)>;

/// Composes rendered greetings as messages (the Date header is `now`).
#[derive(Clone, Copy)]
pub struct Composer<'a> {
    pub config: &'a Config,
    pub now: DateTime<Tz>,
}

impl Composer<'_> {
    pub fn compose(&self, item: &Item) -> anyhow::Result<Composed> {
        let Some(r) = &item.rendered else {
            return Ok(None);
        };
        let c = &item.customer;
        compose(
            &self.config.sender,
            &c.full_name(),
            &c.email,
            &item.key,
            r,
            self.now,
            item.unsubscribe.as_ref(),
        )
        .map(|m| Some(into_parts(m)))
        .map_err(|e| {
            Halt::invalid(format!(
                "{}:{}: {e}",
                self.config.customers.display(),
                c.line
            ))
        })
    }
}

/// The checking pass: every greeting rendered and composed, nothing kept
/// but counts. Any problem (a template error, an address that cannot be
/// composed) is returned, and nothing must be sent.
pub fn check(run: &Run<'_>, composer: Composer<'_>) -> anyhow::Result<Result<Plan, Vec<Problem>>> {
    let config = run.config;
    let mut plan = Plan::default();
    let mut problems = Vec::new();
    run.for_each(
        &Filter::default(),
        |item| composer.compose(item).map(|m| m.is_some()),
        |result| {
            match result {
                Err(p) => {
                    if !problems.contains(&p) {
                        problems.push(p);
                    }
                }
                Ok((item, _)) if item.status == Status::Due => {
                    plan.due += 1;
                    if plan.first.len() < 3 {
                        plan.first.push(item.customer.full_name());
                    }
                    if let Some(wanted) = item.wanted_language(config) {
                        let template = config
                            .occasions
                            .get(&item.key.occasion)
                            .map_or(item.key.occasion.as_str(), |o| o.template.as_str());
                        plan.fallbacks.add(template, wanted, &item.lang);
                    }
                }
                Ok((item, _)) => {
                    plan.skips.count(item.status);
                    if item.status == Status::OptedOut && !item.customer.opt_out {
                        let who =
                            format!("{} <{}>", item.customer.full_name(), item.customer.email);
                        plan.skips
                            .note_kept_out(&who, &item.customer.email, &run.ledger);
                    }
                }
            }
            Ok(true)
        },
    )?;
    Ok(if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    })
}

/// What the sending pass did besides sending.
#[derive(Debug, Default)]
pub struct Passed {
    /// Greetings left alone, by reason, as this pass saw them.
    pub skips: Skips,
    /// The pass saw the whole list (it did not stop early).
    pub whole: bool,
    /// Problems met on the way (only a list changed under the run has any).
    pub problems: Vec<Problem>,
}

/// The sending pass: render again, and offer each due greeting to the
/// dispatcher as it comes; stops when the dispatcher says so.
pub fn send(
    run: &Run<'_>,
    composer: Composer<'_>,
    dispatcher: &mut Dispatcher<'_>,
) -> anyhow::Result<Passed> {
    let mut passed = Passed {
        whole: true,
        ..Passed::default()
    };
    run.for_each(
        &Filter::default(),
        |item| composer.compose(item),
        |result| {
            let (item, composed) = match result {
                Err(p) => {
                    passed.problems.push(p);
                    passed.whole = false;
                    return Ok(false);
                }
                Ok(pair) => pair,
            };
            let Some((envelope, bytes)) = composed else {
                passed.skips.count(item.status);
                if let Some(why) = &item.gave_way_to {
                    dispatcher.record_spaced(&item.key, &item.customer.email, why)?;
                }
                return Ok(true);
            };
            let flow = dispatcher.offer(Greeting {
                file: eml_name(&item.key, None),
                gift: item.gift.as_ref().map(crate::gift::Gift::record),
                to: item.customer.email.clone(),
                name: item.customer.full_name(),
                key: item.key,
                envelope,
                bytes,
            })?;
            passed.whole = flow == Flow::More;
            Ok(passed.whole)
        },
    )?;
    Ok(passed)
}

/// A run that sends nothing (every greeting of the day is spaced out,
/// already sent or skipped) still keeps the spaced ones in the ledger: one
/// more pass, which renders nothing, records them.
pub fn record_spaced(run: &Run<'_>, ledger: &Ledger) -> anyhow::Result<usize> {
    let mut n = 0;
    run.for_each(
        &Filter::default(),
        |_| Ok(()),
        |result| {
            if let Ok((item, ())) = result
                && let Some(why) = &item.gave_way_to
                && ledger.record_spaced(&item.key, &item.customer.email, why)?
            {
                n += 1;
            }
            Ok(true)
        },
    )?;
    Ok(n)
}

/// Does a greeting of a reviewed batch give way to one that went out to
/// the same customer too close to it (the ledger's say)? The batch is one
/// occasion on one day, so nothing in it spaces another of it.
fn batch_spaced(
    spacing: &Spacing,
    view: &View,
    key: &crate::message::GreetingKey,
) -> anyhow::Result<Option<String>> {
    let (true, Some(rank), Ok(day)) = (
        spacing.is_on(),
        spacing.rank(&key.occasion),
        key.occurrence.parse::<NaiveDate>(),
    ) else {
        return Ok(None);
    };
    let (lo, hi) = spacing.window(day);
    let mut weighed = vec![Weighed {
        rank,
        day,
        went_out: false,
    }];
    let mut words = vec![String::new()];
    for n in view.around(&key.customer, lo, hi)? {
        if n.state.went_out() && !(n.occasion == key.occasion && n.day == day) {
            weighed.push(Weighed {
                rank: spacing.rank(&n.occasion).unwrap_or(usize::MAX),
                day: n.day,
                went_out: true,
            });
            words.push(format!("{} on {}, {}", n.occasion, n.day, n.state.as_str()));
        }
    }
    Ok(decide(spacing.min_days, &weighed)[0].map(|j| words[j].clone()))
}

/// The greetings of a reviewed batch that are due now (the ledger's say,
/// through [`crate::pipeline::disposition`]), and the others counted; those
/// the spacing rule leaves out are recorded as such in `ledger`.
pub fn batch_queue(
    greetings: Vec<crate::batch::Verified>,
    view: &View,
    retry_uncertain: bool,
    spacing: &Spacing,
    ledger: &Ledger,
) -> anyhow::Result<(Vec<crate::batch::Verified>, Skips)> {
    let mut skips = Skips::default();
    let mut queue = Vec::new();
    for g in greetings {
        let state = view.state(&g.key)?;
        let suppressed = view.is_suppressed(&g.to);
        let spaced = if suppressed {
            None
        } else {
            batch_spaced(spacing, view, &g.key)?
        };
        let status = crate::pipeline::disposition(
            false,
            false,
            suppressed,
            state,
            spaced.is_some(),
            retry_uncertain,
        );
        if status == Status::Spaced
            && let Some(why) = &spaced
        {
            ledger.record_spaced(&g.key, &g.to, why)?;
        }
        if status == Status::Due {
            queue.push(g);
        } else {
            skips.count(status);
            if status == Status::OptedOut {
                skips.note_kept_out(&format!("{} <{}>", g.name, g.to), &g.to, view);
            }
        }
    }
    Ok((queue, skips))
}

/// The customer list's identity (size, time, inode), compared between the
/// passes: a list replaced under the run stops it before anything is sent.
pub fn fingerprint(path: &Path) -> Option<(u64, std::time::SystemTime, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.modified().ok()?, m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_up_covers_the_days_before_today_but_never_before_the_first_run() {
        let occasion = Occasion {
            name: "birthday".into(),
            kind: crate::config::OccasionKind::Birthday,
            template: "birthday".into(),
            segment: None,
            segment_at: (0, 0),
            gift: None,
            feast: None,
        };
        let today = NaiveDate::from_ymd_opt(2026, 3, 14).unwrap();
        let days = |catch_up, first: &str| -> Vec<(String, bool)> {
            targets(&[&occasion], today, catch_up, first)
                .into_iter()
                .map(|(_, d, belated)| (d.to_string(), belated))
                .collect()
        };
        assert_eq!(days(0, "2020-01-01"), [("2026-03-14".to_string(), false)]);
        assert_eq!(
            days(3, "2020-01-01"),
            [
                ("2026-03-11".to_string(), true),
                ("2026-03-12".to_string(), true),
                ("2026-03-13".to_string(), true),
                ("2026-03-14".to_string(), false)
            ]
        );
        // The first run was on the 13th: the 11th and 12th are not caught up.
        assert_eq!(
            days(3, "2026-03-13"),
            [
                ("2026-03-13".to_string(), true),
                ("2026-03-14".to_string(), false)
            ]
        );
        // The day asked for is covered even before the first run.
        assert_eq!(days(2, "2026-12-01"), [("2026-03-14".to_string(), false)]);
    }
}
