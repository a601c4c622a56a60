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
    /// Another greeting to the same customer goes (or went) too close to
    /// it: not sent, and kept in the ledger as such ([`crate::spacing`]).
    Spaced,
}

impl Status {
    /// The JSON name: `due`, `opted_out`, `already_sent`, `failed`,
    /// `invalid`, `uncertain`, `spaced`.
    pub fn code(self) -> &'static str {
        match self {
            Status::Due => "due",
            Status::OptedOut => "opted_out",
            Status::AlreadySent => "already_sent",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
            Status::Uncertain => "uncertain",
            Status::Spaced => "spaced",
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
            Status::Spaced => "spaced out",
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
    /// When spaced out by this run: the greeting it gives way to, in words
    /// ("birthday on 2026-12-03, sent").
    pub gave_way_to: Option<String>,
    /// When sent together with greetings of the same day that gave way to
    /// it: the combined template it is rendered from (`birthday+nameday`).
    pub combined: Option<String>,
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
        if let Some(other) = &self.gave_way_to {
            return format!("{}: {other}", self.status.describe());
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
/// (a duplicated key, the opt-out column), the suppression list, the ledger
/// and the spacing rule (`spaced`: [`crate::spacing::decide`] gave it way
/// to another greeting to the customer). `preview`, `check`, `send` and the
/// review page all ask this one function; the dispatcher's reservation
/// applies the same ledger rule ([`may_go_again`]) atomically when the
/// message is about to leave.
pub fn disposition(
    duplicated: bool,
    opted_out: bool,
    unsubscribed: bool,
    ledger: Option<State>,
    spaced: bool,
    retry_uncertain: bool,
) -> Status {
    if duplicated {
        return Status::Invalid;
    }
    if opted_out || unsubscribed {
        return Status::OptedOut;
    }
    match ledger {
        Some(state) if !may_go_again(state, retry_uncertain) => match state {
            State::Sent => Status::AlreadySent,
            State::Failed | State::Bounced => Status::Failed,
            State::Spaced => Status::Spaced,
            State::Uncertain | State::Sending | State::Deferred => Status::Uncertain,
        },
        _ if spaced => Status::Spaced,
        _ => Status::Due,
    }
}

/// What the spacing rule makes of one greeting.
#[derive(Debug, Clone, Default)]
struct Spaced {
    /// Left out: the greeting it gives way to, in words.
    gave_way_to: Option<String>,
    /// Sent from this combined template, for greetings of its day that gave way to it.
    combined: Option<String>,
}

/// A greeting of one target, before the spacing rule and rendering.
struct Draft<'t, 'a> {
    target: &'t Target<'a>,
    item: Item,
    ctx: tera::Context,
    duplicated: bool,
    unsubscribed: bool,
    state: Option<State>,
}

impl Draft<'_, '_> {
    fn status(&self, spaced: bool, retry_uncertain: bool) -> Status {
        disposition(
            self.duplicated,
            self.item.customer.opt_out,
            self.unsubscribed,
            self.state,
            spaced,
            retry_uncertain,
        )
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
            for item in self.items(&customer) {
                match item {
                    Err(p) => out.push(Err(p)),
                    Ok(mut item) => {
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

    /// The greetings to one customer, one for each target they are due on,
    /// in target order: their status decided (spacing weighs them
    /// together) and rendered when due.
    pub fn items(&self, customer: &Customer) -> Vec<Result<Item, Problem>> {
        let mut drafts: Vec<Result<Draft<'_, 'a>, Problem>> = Vec::new();
        for target in &self.targets {
            match self.draft(target, customer) {
                Ok(None) => {}
                Ok(Some(d)) => drafts.push(Ok(d)),
                Err(p) => drafts.push(Err(p)),
            }
        }
        let ok: Vec<&Draft<'_, 'a>> = drafts.iter().filter_map(|d| d.as_ref().ok()).collect();
        let spaced = match self.spacing(customer, &ok) {
            Ok(s) => s,
            Err(p) => return vec![Err(p)],
        };
        let mut spaced = spaced.into_iter();
        drafts
            .into_iter()
            .map(|d| {
                let d = d?;
                let Spaced {
                    gave_way_to,
                    combined,
                } = spaced.next().unwrap_or_default();
                let status = d.status(gave_way_to.is_some(), self.retry_uncertain);
                let mut item = d.item;
                item.status = status;
                if item.status == Status::Spaced {
                    item.gave_way_to = gave_way_to;
                }
                if item.status == Status::Due {
                    let template = match &combined {
                        Some(t) => t.as_str(),
                        None => d.target.occasion.template.as_str(),
                    };
                    item.rendered = Some(self.renderer.render(template, &item.lang, &d.ctx)?);
                    item.combined = combined;
                }
                Ok(item)
            })
            .collect()
    }

    /// For each draft of one customer, what the spacing rule makes of it.
    /// Weighed together: the drafts that would go, what the ledger says
    /// went out to the customer around their days, and the customer's
    /// greetings of the days ahead that this run does not cover (a later
    /// run sends them). Days before the run's first day count only through
    /// the ledger. Then the combined greetings: see [`Run::combined`].
    fn spacing(
        &self,
        customer: &Customer,
        drafts: &[&Draft<'_, 'a>],
    ) -> Result<Vec<Spaced>, Problem> {
        use crate::spacing::{Weighed, decide};
        let mut out = vec![Spaced::default(); drafts.len()];
        let sp = &self.config.spacing;
        if !sp.is_on() || self.every_customer {
            return Ok(out);
        }
        // The drafts that would go and take part: (draft index, rank).
        let candidates: Vec<(usize, usize)> = drafts
            .iter()
            .enumerate()
            .filter(|(_, d)| d.status(false, self.retry_uncertain) == Status::Due)
            .filter_map(|(i, d)| sp.rank(&d.target.occasion.name).map(|r| (i, r)))
            .collect();
        let (Some(first), Some(last)) = (
            candidates.iter().map(|&(i, _)| drafts[i].target.date).min(),
            candidates.iter().map(|&(i, _)| drafts[i].target.date).max(),
        ) else {
            return Ok(out);
        };
        let (lo, _) = sp.window(first);
        let (_, hi) = sp.window(last);
        let near = self.ledger.around(&customer.key, lo, hi).map_err(|e| {
            Problem::error(self.config.ledger.display().to_string(), format!("{e:#}"))
        })?;
        // Everything weighed, and for each: its occasion and whether it
        // went out (a greeting that went out is never combined with).
        let mut weighed = Vec::new();
        let mut who: Vec<(&str, bool)> = Vec::new();
        for &(i, rank) in &candidates {
            let d = drafts[i];
            weighed.push(Weighed {
                rank,
                day: d.target.date,
                went_out: false,
            });
            who.push((d.target.occasion.name.as_str(), false));
        }
        let is_candidate = |occasion: &str, day: NaiveDate| {
            candidates.iter().any(|&(i, _)| {
                drafts[i].target.occasion.name == occasion && drafts[i].target.date == day
            })
        };
        for n in &near {
            if n.state.went_out() && !is_candidate(&n.occasion, n.day) {
                weighed.push(Weighed {
                    rank: sp.rank(&n.occasion).unwrap_or(usize::MAX),
                    day: n.day,
                    went_out: true,
                });
                who.push((n.occasion.as_str(), true));
            }
        }
        // The days ahead: from the run's first day, those the run does not cover.
        let start = self
            .targets
            .iter()
            .map(|t| t.date)
            .min()
            .map_or(lo, |f| f.max(lo));
        for name in sp.order() {
            let Some(occasion) = self.config.occasions.get(name) else {
                continue;
            };
            let rank = sp.rank(name).unwrap_or(usize::MAX);
            for day in start.iter_days().take_while(|d| *d <= hi) {
                let covered = self
                    .targets
                    .iter()
                    .any(|t| t.occasion.name == name && t.date == day);
                let known = near.iter().any(|n| n.occasion == name && n.day == day);
                if covered || known {
                    continue;
                }
                if due_on(
                    occasion,
                    customer,
                    day,
                    self.config.leap_day,
                    &self.config.namedays,
                )
                .is_some()
                {
                    weighed.push(Weighed {
                        rank,
                        day,
                        went_out: false,
                    });
                    who.push((occasion.name.as_str(), false));
                }
            }
        }
        let decided = decide(sp.min_days, &weighed);
        // Which greetings are sent combined, and from which template.
        let spaced_before: Vec<(&str, NaiveDate, usize)> = near
            .iter()
            .filter(|n| n.state == crate::ledger::State::Spaced)
            .filter_map(|n| Some((n.occasion.as_str(), n.day, sp.rank(&n.occasion)?)))
            .collect();
        let combined: Vec<Option<String>> = (0..weighed.len())
            .map(|w| self.combined(customer, &weighed, &who, &decided, &spaced_before, w))
            .collect();
        let words = |j: usize| {
            let (name, went_out) = who[j];
            let day = weighed[j].day;
            if went_out {
                let state = near
                    .iter()
                    .find(|n| n.occasion == name && n.day == day)
                    .map_or("sent", |n| n.state.as_str());
                format!("{name} on {day}, {state}")
            } else if let Some(t) = &combined[j] {
                format!("sent with {name} on {day} ({t})")
            } else if j < candidates.len() {
                format!("{name} on {day}")
            } else {
                format!("{name} on {day}, to come")
            }
        };
        for (n, &(i, _)) in candidates.iter().enumerate() {
            out[i] = Spaced {
                gave_way_to: decided[n].map(words),
                combined: combined[n].clone(),
            };
        }
        Ok(out)
    }

    /// The combined template greeting `w` is sent from, if any: when
    /// greetings of its day gave way to it — in this run, or in an earlier
    /// one that kept them as spaced (`spaced_before`: occasion, day, rank)
    /// — and the templates hold one for them all — the occasions joined
    /// with `+`, highest precedence first (`birthday+nameday.el.txt`) — in
    /// the language the customer's greeting for `w` is written in.
    fn combined(
        &self,
        customer: &Customer,
        weighed: &[crate::spacing::Weighed],
        who: &[(&str, bool)],
        decided: &[Option<usize>],
        spaced_before: &[(&str, NaiveDate, usize)],
        w: usize,
    ) -> Option<String> {
        if who[w].1 || decided[w].is_some() {
            return None;
        }
        let (day, rank) = (weighed[w].day, weighed[w].rank);
        let mut with: Vec<(usize, &str)> = (0..weighed.len())
            .filter(|&i| decided[i] == Some(w) && weighed[i].day == day)
            .map(|i| (weighed[i].rank, who[i].0))
            .chain(
                spaced_before
                    .iter()
                    .filter(|&&(_, d, r)| d == day && r > rank)
                    .map(|&(name, _, r)| (r, name)),
            )
            .collect();
        if with.is_empty() {
            return None;
        }
        with.push((rank, who[w].0));
        with.sort_unstable();
        with.dedup();
        let template = with.iter().map(|&(_, n)| n).collect::<Vec<_>>().join("+");
        let lang = customer.language.as_deref();
        let own = self.config.occasions.get(who[w].0)?;
        let (own_lang, _) = self.renderer.language_for(&own.template, lang)?;
        let (combined_lang, _) = self.renderer.language_for(&template, lang)?;
        (own_lang == combined_lang).then_some(template)
    }

    /// The greeting for one customer on one target, if they are due then:
    /// its ledger state read, not yet decided nor rendered.
    fn draft<'t>(
        &self,
        target: &'t Target<'a>,
        customer: &Customer,
    ) -> Result<Option<Draft<'t, 'a>>, Problem> {
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
        let unsubscribe = self.config.unsubscribe.for_greeting(occasion.kind, &key);
        let gift = crate::gift::for_greeting(self.config, occasion, &key, target.date, &lang);
        let item = Item {
            key,
            customer: customer.clone(),
            lang,
            fell_back,
            status: Status::Due,
            rendered: None,
            unsubscribe,
            gift,
            gave_way_to: None,
            combined: None,
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
        Ok(Some(Draft {
            target,
            item,
            ctx,
            duplicated,
            unsubscribed,
            state,
        }))
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
            Some(Spaced),
        ];
        for duplicated in [false, true] {
            for opted_out in [false, true] {
                for unsubscribed in [false, true] {
                    for state in states {
                        for spaced in [false, true] {
                            for retry in [false, true] {
                                let got = disposition(
                                    duplicated,
                                    opted_out,
                                    unsubscribed,
                                    state,
                                    spaced,
                                    retry,
                                );
                                let want = if duplicated {
                                    Status::Invalid
                                } else if opted_out || unsubscribed {
                                    Status::OptedOut
                                } else {
                                    match state {
                                        None | Some(Deferred) if spaced => Status::Spaced,
                                        Some(Uncertain) if retry && spaced => Status::Spaced,
                                        None | Some(Deferred) => Status::Due,
                                        Some(Uncertain) if retry => Status::Due,
                                        Some(Sent) => Status::AlreadySent,
                                        Some(Failed | Bounced) => Status::Failed,
                                        Some(Spaced) => Status::Spaced,
                                        Some(Uncertain | Sending) => Status::Uncertain,
                                    }
                                };
                                assert_eq!(
                                    got, want,
                                    "duplicated {duplicated} opted out {opted_out} unsubscribed {unsubscribed} {state:?} spaced {spaced} retry {retry}"
                                );
                                // The ledger's reservation says "go" exactly when the disposition says due.
                                if !duplicated && !opted_out && !unsubscribed && !spaced {
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
}
