//! The steps `preview`, `check` (and `send`) share: for one occasion and one
//! date, stream the customer list and yield each greeting rendered, or the
//! reason it is skipped.
use chrono::{DateTime, Datelike, NaiveDate};
use chrono_tz::Tz;

use crate::config::{Config, Occasion};
use crate::context::{self, Greeting};
use crate::customer::{Customer, CustomerReader, RawRow, Roster, email, key_digest};
use crate::message::GreetingKey;
use crate::occasion::{Due, due_on};
use crate::problem::Problem;
use crate::render::{Rendered, Renderer};

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
}

/// Narrowing of a run.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this address (compared case-insensitively).
    pub only: Option<String>,
}

/// Everything fixed for the run: config, templates, the day and the clock.
pub struct Run<'a> {
    pub config: &'a Config,
    pub renderer: &'a Renderer,
    pub roster: &'a Roster,
    pub occasion: &'a Occasion,
    pub date: NaiveDate,
    pub now: DateTime<Tz>,
    /// Render for every customer, as if each were due (what `check` does).
    pub every_customer: bool,
    /// What the ledger knows (preview shows who is already greeted).
    pub known: Option<crate::ledger::Known>,
    /// Hand the rendered text on with the encoded bytes (the review page needs it).
    pub keep_rendered: bool,
    /// `date` as YYYY-MM-DD, formatted once.
    pub date_text: String,
    shared: context::Shared,
}

impl Item {
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

impl<'a> Run<'a> {
    pub fn new(
        config: &'a Config,
        renderer: &'a Renderer,
        roster: &'a Roster,
        occasion: &'a Occasion,
        date: NaiveDate,
        now: DateTime<Tz>,
    ) -> Run<'a> {
        let shared = context::Shared::new(
            config,
            occasion,
            date,
            false,
            renderer.languages(&occasion.template),
        );
        Run {
            config,
            renderer,
            roster,
            occasion,
            date,
            now,
            every_customer: false,
            known: None,
            keep_rendered: false,
            date_text: date.to_string(),
            shared,
        }
    }

    /// Greeting a missed day late (`--catch-up`): templates see `occasion.belated`.
    pub fn belated(mut self) -> Self {
        self.shared = context::Shared::new(
            self.config,
            self.occasion,
            self.date,
            true,
            self.renderer.languages(&self.occasion.template),
        );
        self
    }

    /// Stream the list again (the roster pass already reported its problems)
    /// and hand each greeting, in file order, to `sink` together with what
    /// `encode` made of it (the item's `rendered` is emptied by then). Rendering and `encode` run on worker threads, in
    /// bounded batches, so memory stays flat however long the list is. `sink`
    /// returns `false` to stop early (e.g. `--limit`).
    pub fn for_each<E, S>(&self, filter: &Filter, encode: E, mut sink: S) -> anyhow::Result<()>
    where
        E: Fn(&Item) -> anyhow::Result<Vec<u8>> + Sync,
        S: FnMut(Result<(Item, Vec<u8>), Problem>) -> anyhow::Result<bool>,
    {
        let reader = CustomerReader::open(self.config).map_err(crate::cmd::fail_on)?;
        let (parser, rows) = reader.into_raw();
        let only = filter.only.as_deref().map(email::key);
        let work = |row: Result<RawRow, Problem>| -> anyhow::Result<Option<_>> {
            // Row problems were reported by the roster pass; here they are skipped.
            let Ok(row) = row else { return Ok(None) };
            // Only a row that may be due is parsed in full (check renders every one).
            if !self.every_customer
                && !crate::occasion::may_be_due(
                    self.occasion,
                    &parser.quick(&row),
                    self.date,
                    self.config.leap_day,
                    &self.config.namedays,
                )
            {
                return Ok(None);
            }
            let Ok(Some(customer)) = parser.parse(&row, &mut Vec::new()) else {
                return Ok(None);
            };
            if only
                .as_ref()
                .is_some_and(|o| email::key(&customer.email) != *o)
            {
                return Ok(None);
            }
            match self.item(customer) {
                Ok(None) => Ok(None),
                Err(p) => Ok(Some(Err(p))),
                Ok(Some(mut item)) => {
                    let bytes = encode(&item)?;
                    // Encoded: the rendered text need not wait in the queue too.
                    if !self.keep_rendered {
                        item.rendered = None;
                    }
                    Ok(Some(Ok((item, bytes))))
                }
            }
        };
        crate::parallel::ordered_map(rows, work, |out| match out {
            Some(result) => sink(result),
            None => Ok(true),
        })
    }

    /// The greeting for one customer, if they are due on the run's date.
    pub fn item(&self, customer: Customer) -> Result<Option<Item>, Problem> {
        let due = match due_on(
            self.occasion,
            &customer,
            self.date,
            self.config.leap_day,
            &self.config.namedays,
        ) {
            Some(due) => due,
            None if self.every_customer => Due {
                occurrence: self.date.to_string(),
                age: customer
                    .birthday
                    .and_then(|b| b.year)
                    .and_then(|y| u32::try_from(self.date.year() - y).ok()),
            },
            None => return Ok(None),
        };
        let key = GreetingKey {
            occasion: self.occasion.name.clone(),
            customer: customer.key.clone(),
            occurrence: due.occurrence.clone(),
        };
        let Some((lang, fell_back)) = self
            .renderer
            .language_for(&self.occasion.template, customer.language.as_deref())
        else {
            return Err(Problem::error(
                self.config.templates.display().to_string(),
                format!(
                    "no template for occasion \"{}\": add {}.{}.txt (or {}.en.txt)",
                    self.occasion.name,
                    self.occasion.template,
                    self.config.default_language,
                    self.occasion.template
                ),
            ));
        };
        let lang = lang.to_string();
        let duplicated = !self.roster.duplicates.is_empty()
            && self.roster.duplicates.contains(&key_digest(&customer.key));
        let ledger_state = self.known.as_ref().and_then(|k| {
            k.states
                .get(&(customer.key.clone(), key.occurrence.clone()))
                .copied()
        });
        let unsubscribed = self.known.as_ref().is_some_and(|k| {
            k.suppressed
                .contains(&crate::ledger::suppression_key(&customer.email))
        });
        let status = if duplicated {
            Status::Invalid
        } else if customer.opt_out || unsubscribed {
            Status::OptedOut
        } else {
            use crate::ledger::State;
            match ledger_state {
                Some(State::Sent) => Status::AlreadySent,
                Some(State::Failed) => Status::Failed,
                Some(State::Uncertain | State::Sending) => Status::Uncertain,
                Some(State::Deferred) | None => Status::Due,
            }
        };
        let mut item = Item {
            key,
            customer,
            lang,
            fell_back,
            status,
            rendered: None,
        };
        let greeting = Greeting {
            customer: &item.customer,
            occasion: self.occasion,
            date: self.date,
            due: &due,
            shared: &self.shared,
            lang: &item.lang,
        };
        let ctx = context::context(self.config, &greeting);
        if !self.renderer.in_segment(&self.occasion.name, &ctx)? {
            return Ok(None);
        }
        if status != Status::Due {
            return Ok(Some(item));
        }
        item.rendered = Some(
            self.renderer
                .render(&self.occasion.template, &item.lang, &ctx)?,
        );
        Ok(Some(item))
    }
}
