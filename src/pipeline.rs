//! The steps `preview`, `check` and `send` share: for every occasion and
//! day a run covers, stream the customer list once and yield each greeting
//! rendered, or the reason it is skipped ([`disposition`]).
use chrono::{DateTime, Datelike, NaiveDate};
use chrono_tz::Tz;

use crate::config::{Config, Occasion};
use crate::context::{self, Greeting};
use crate::customer::{
    Customer, CustomerReader, Quick, RawRow, Roster, RowParser, email, key_digest,
};
use crate::ledger::{State, View, may_go_again};
use crate::message::GreetingKey;
use crate::occasion::{Due, due_on};
use crate::problem::Problem;
use crate::render::{Rendered, Renderer};
use crate::unsubscribe::Links;

/// What happens to a customer who is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Will be greeted.
    Due,
    /// The customer opted out.
    OptedOut,
    /// The ledger already has this greeting.
    AlreadySent,
    /// Refused for good by the server before; not retried automatically.
    Failed,
    /// The row has a problem (e.g. its key is duplicated).
    Invalid,
    /// A run died while sending it; resent only on request.
    Uncertain,
}

impl Status {
    /// The JSON name: `due`, `opted_out`, `already_sent`, `invalid`, `uncertain`.
    pub fn code(self) -> &'static str {
        match self {
            Status::Due => "due",
            Status::OptedOut => "opted_out",
            Status::AlreadySent => "already_sent",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
            Status::Uncertain => "uncertain",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Status::Due => "due",
            Status::OptedOut => "opted out",
            Status::AlreadySent => "already greeted",
            Status::Failed => "failed before",
            Status::Invalid => "invalid row",
            Status::Uncertain => "uncertain",
        }
    }
}

/// One customer's greeting for the occasion: rendered when due.
#[derive(Debug, Clone)]
pub struct Item {
    pub key: GreetingKey,
    pub customer: Customer,
    pub lang: String,
    /// The customer's own language had no template.
    pub fell_back: bool,
    pub status: Status,
    pub rendered: Option<Rendered>,
    /// The List-Unsubscribe links (`None` for a dated occasion the owner
    /// sends without them); the message carries them and templates see them.
    pub unsubscribe: Option<Links>,
    /// The gift the greeting carries (recorded in the ledger once sent).
    pub gift: Option<crate::gift::Gift>,
}

/// Narrowing of a run.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this address (compared case-insensitively).
    pub only: Option<String>,
}

/// One occasion on one day: what a run covers is a list of these, and the
/// customer list is read once for all of them.
pub struct Target<'a> {
    pub occasion: &'a Occasion,
    pub date: NaiveDate,
    /// A missed day greeted late (`--catch-up`): templates see `occasion.belated`.
    pub belated: bool,
    /// `date` as YYYY-MM-DD, formatted once.
    pub date_text: String,
    shared: context::Shared,
}

impl<'a> Target<'a> {
    pub fn new(
        config: &Config,
        renderer: &Renderer,
        occasion: &'a Occasion,
        date: NaiveDate,
        belated: bool,
    ) -> Target<'a> {
        Target {
            occasion,
            date,
            belated,
            date_text: date.to_string(),
            shared: context::Shared::new(
                config,
                occasion,
                date,
                belated,
                renderer.languages(&occasion.template),
            ),
        }
    }
}

/// Everything fixed for the run: config, templates, what it covers and the clock.
pub struct Run<'a> {
    pub config: &'a Config,
    pub renderer: &'a Renderer,
    pub roster: &'a Roster,
    /// Each (occasion, day) the run covers, in order; every customer is
    /// looked at for each, in one pass over the list.
    pub targets: Vec<Target<'a>>,
    pub now: DateTime<Tz>,
    /// Render for every customer, as if each were due (what `check` does).
    pub every_customer: bool,
    /// What the ledger knows: who is already greeted, who unsubscribed.
    pub ledger: View,
    /// `--retry-uncertain`: an uncertain greeting counts as due.
    pub retry_uncertain: bool,
    /// Hand the rendered text on with the encoded bytes (the review page needs it).
    pub keep_rendered: bool,
}

impl Item {
    /// Why this greeting is left alone, in words: the suppression list's
    /// reason when that is why ("bounced 5.1.1 on 2026-12-01", "asked to
    /// stop on 2026-12-01 (a reply to a greeting)"), else its status's.
    pub fn why_skipped(&self, ledger: &View) -> String {
        if self.status == Status::OptedOut
            && !self.customer.opt_out
            && let Some(s) = ledger.suppression(&self.customer.email)
        {
            return s.describe();
        }
        self.status.describe().to_string()
    }

    /// The language the customer asked for, when their greeting falls back
    /// to another one (their template is missing).
    pub fn wanted_language<'c>(&'c self, config: &'c Config) -> Option<&'c str> {
        self.fell_back.then(|| {
            self.customer
                .language
                .as_deref()
                .unwrap_or(config.default_language.as_str())
        })
    }
}

/// What becomes of a greeting, from everything that has a say: the list
/// (a duplicated key, the opt-out column), the suppression list and the
/// ledger. `preview`, `check`, `send` and the review page all ask this one
/// function; the dispatcher's reservation applies the same ledger rule
/// ([`may_go_again`]) atomically when the message is about to leave.
pub fn disposition(
    duplicated: bool,
    opted_out: bool,
    unsubscribed: bool,
    ledger: Option<State>,
    retry_uncertain: bool,
) -> Status {
    if duplicated {
        return Status::Invalid;
    }
    if opted_out || unsubscribed {
        return Status::OptedOut;
    }
    match ledger {
        None => Status::Due,
        Some(state) if may_go_again(state, retry_uncertain) => Status::Due,
        Some(State::Sent) => Status::AlreadySent,
        Some(State::Failed | State::Bounced) => Status::Failed,
        Some(State::Uncertain | State::Sending | State::Deferred) => Status::Uncertain,
    }
}

/// How many rows a dated run may keep from the roster scan: beyond this
/// many candidates the list is read again instead (memory stays flat).
pub const KEEP_AT_MOST: usize = 10_000;

/// The roster scan for a run over these (occasion, day) targets. When all
/// of them are dated (birthday, anniversary, name day), the scan keeps the
/// few rows that may be due (the pre-filter), and the passes that follow
/// read those instead of the list: a daily run reads its list once.
pub fn scan_for(
    config: &Config,
    targets: &[(&Occasion, NaiveDate)],
) -> Result<Roster, Vec<Problem>> {
    let dated = !targets.is_empty()
        && targets
            .iter()
            .all(|(o, _)| o.kind != crate::config::OccasionKind::Campaign);
    if !dated {
        return crate::customer::scan(config);
    }
    let filter = crate::occasion::DayFilter::new(targets, config.leap_day, &config.namedays);
    let keep = |quick: &Quick<'_>| filter.may_keep(quick);
    crate::customer::scan_keeping(config, Some(&keep), KEEP_AT_MOST)
}

impl<'a> Run<'a> {
    /// A run over one occasion on one day.
    pub fn new(
        config: &'a Config,
        renderer: &'a Renderer,
        roster: &'a Roster,
        occasion: &'a Occasion,
        date: NaiveDate,
        now: DateTime<Tz>,
    ) -> Run<'a> {
        let target = Target::new(config, renderer, occasion, date, false);
        Run::over(config, renderer, roster, vec![target], now)
    }

    /// A run over several (occasion, day) targets in one pass.
    pub fn over(
        config: &'a Config,
        renderer: &'a Renderer,
        roster: &'a Roster,
        targets: Vec<Target<'a>>,
        now: DateTime<Tz>,
    ) -> Run<'a> {
        Run {
            config,
            renderer,
            roster,
            targets,
            now,
            every_customer: false,
            ledger: View::empty(),
            retry_uncertain: false,
            keep_rendered: false,
        }
    }

    /// Stream the list once (the roster pass already reported its problems)
    /// and hand each greeting — every target a row is due for, in file
    /// order, targets in their order — to `sink` together with what
    /// `encode` made of it (the item's `rendered` is emptied by then).
    /// Rendering and `encode` run on worker threads, in bounded batches, so
    /// memory stays flat however long the list is. `sink` returns `false`
    /// to stop early (e.g. `--limit`).
    pub fn for_each<E, O, S>(&self, filter: &Filter, encode: E, mut sink: S) -> anyhow::Result<()>
    where
        E: Fn(&Item) -> anyhow::Result<O> + Sync,
        O: Send,
        S: FnMut(Result<(Item, O), Problem>) -> anyhow::Result<bool>,
    {
        // The rows the roster scan kept (a dated run: the few that may be
        // due), or the list read again.
        let fresh;
        type Rows<'r> = Box<dyn Iterator<Item = Result<RawRow, Problem>> + Send + 'r>;
        let (parser, rows): (&RowParser, Rows<'_>) = match &self.roster.kept {
            Some(kept) => (&kept.parser, Box::new(kept.rows.iter().cloned().map(Ok))),
            None => {
                let reader = CustomerReader::open(self.config).map_err(crate::problem::fail_on)?;
                let (p, rows) = reader.into_raw();
                fresh = p;
                (&fresh, Box::new(rows))
            }
        };
        let only = filter.only.as_deref().map(email::key);
        type Out<O> = Vec<Result<(Item, O), Problem>>;
        let work = |row: Result<RawRow, Problem>| -> anyhow::Result<Out<O>> {
            // Row problems were reported by the roster pass; here they are skipped.
            let Ok(row) = row else {
                return Ok(Vec::new());
            };
            // Only a row that may be due on some target is parsed in full
            // (check renders every one).
            if !self.every_customer {
                let quick = parser.quick(&row);
                let may = self.targets.iter().any(|t| {
                    crate::occasion::may_be_due(
                        t.occasion,
                        &quick,
                        t.date,
                        self.config.leap_day,
                        &self.config.namedays,
                    )
                });
                if !may {
                    return Ok(Vec::new());
                }
            }
            let Ok(Some(customer)) = parser.parse(&row, &mut Vec::new()) else {
                return Ok(Vec::new());
            };
            if only
                .as_ref()
                .is_some_and(|o| email::key(&customer.email) != *o)
            {
                return Ok(Vec::new());
            }
            let mut out = Vec::new();
            for target in &self.targets {
                match self.item(target, &customer) {
                    Ok(None) => {}
                    Err(p) => out.push(Err(p)),
                    Ok(Some(mut item)) => {
                        let encoded = encode(&item)?;
                        // Encoded: the rendered text need not wait in the queue too.
                        if !self.keep_rendered {
                            item.rendered = None;
                        }
                        out.push(Ok((item, encoded)));
                    }
                }
            }
            Ok(out)
        };
        crate::parallel::ordered_map(rows, work, |items| {
            for item in items {
                if !sink(item)? {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    /// The greeting for one customer on one target, if they are due then.
    pub fn item(&self, target: &Target<'a>, customer: &Customer) -> Result<Option<Item>, Problem> {
        let occasion = target.occasion;
        let due = match due_on(
            occasion,
            customer,
            target.date,
            self.config.leap_day,
            &self.config.namedays,
        ) {
            Some(due) => due,
            None if self.every_customer => Due {
                occurrence: target.date_text.clone(),
                age: customer
                    .birthday
                    .and_then(|b| b.year)
                    .and_then(|y| u32::try_from(target.date.year() - y).ok()),
            },
            None => return Ok(None),
        };
        let key = GreetingKey {
            occasion: occasion.name.clone(),
            customer: customer.key.clone(),
            occurrence: due.occurrence.clone(),
        };
        let Some((lang, fell_back)) = self
            .renderer
            .language_for(&occasion.template, customer.language.as_deref())
        else {
            return Err(Problem::error(
                self.config.templates.display().to_string(),
                format!(
                    "no template for occasion \"{}\": add {}.{}.txt (or {}.en.txt)",
                    occasion.name,
                    occasion.template,
                    self.config.default_language,
                    occasion.template
                ),
            ));
        };
        let lang = lang.to_string();
        let duplicated = !self.roster.duplicates.is_empty()
            && self.roster.duplicates.contains(&key_digest(&customer.key));
        let ledger_error = |e: anyhow::Error| {
            Problem::error(self.config.ledger.display().to_string(), format!("{e:#}"))
        };
        let unsubscribed = self.ledger.is_suppressed(&customer.email);
        let state = if duplicated || customer.opt_out || unsubscribed {
            None
        } else {
            self.ledger.state(&key).map_err(ledger_error)?
        };
        let status = disposition(
            duplicated,
            customer.opt_out,
            unsubscribed,
            state,
            self.retry_uncertain,
        );
        let unsubscribe = self.config.unsubscribe.for_greeting(occasion.kind, &key);
        let gift = crate::gift::for_greeting(self.config, occasion, &key, target.date, &lang);
        let mut item = Item {
            key,
            customer: customer.clone(),
            lang,
            fell_back,
            status,
            rendered: None,
            unsubscribe,
            gift,
        };
        let greeting = Greeting {
            customer: &item.customer,
            occasion,
            date: target.date,
            due: &due,
            shared: &target.shared,
            lang: &item.lang,
            unsubscribe: item.unsubscribe.as_ref(),
            gift: item.gift.as_ref(),
        };
        let ctx = context::context(self.config, &greeting);
        if !self.renderer.in_segment(&occasion.name, &ctx)? {
            return Ok(None);
        }
        if status != Status::Due {
            return Ok(Some(item));
        }
        item.rendered = Some(self.renderer.render(&occasion.template, &item.lang, &ctx)?);
        Ok(Some(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_decides_every_disposition() {
        use State::*;
        let states = [
            None,
            Some(Sending),
            Some(Sent),
            Some(Failed),
            Some(Deferred),
            Some(Uncertain),
            Some(Bounced),
        ];
        for duplicated in [false, true] {
            for opted_out in [false, true] {
                for unsubscribed in [false, true] {
                    for state in states {
                        for retry in [false, true] {
                            let got =
                                disposition(duplicated, opted_out, unsubscribed, state, retry);
                            let want = if duplicated {
                                Status::Invalid
                            } else if opted_out || unsubscribed {
                                Status::OptedOut
                            } else {
                                match state {
                                    None | Some(Deferred) => Status::Due,
                                    Some(Uncertain) if retry => Status::Due,
                                    Some(Sent) => Status::AlreadySent,
                                    Some(Failed | Bounced) => Status::Failed,
                                    Some(Uncertain | Sending) => Status::Uncertain,
                                }
                            };
                            assert_eq!(
                                got, want,
                                "duplicated {duplicated} opted out {opted_out} unsubscribed {unsubscribed} {state:?} retry {retry}"
                            );
                            // The ledger's reservation says "go" exactly when the disposition says due.
                            if !duplicated && !opted_out && !unsubscribed {
                                assert_eq!(
                                    state.is_none_or(|s| may_go_again(s, retry)),
                                    got == Status::Due
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
