//! The steps `preview`, `check` (and `send`) share: for one occasion and one
//! date, stream the customer list and yield each greeting rendered, or the
//! reason it is skipped.
use chrono::{DateTime, Datelike, NaiveDate};
use chrono_tz::Tz;
use serde::Serialize;

use crate::config::{Config, Occasion};
use crate::context::{self, Greeting};
use crate::customer::{Customer, CustomerReader, Roster, email, key_digest};
use crate::message::GreetingKey;
use crate::occasion::{Due, due_on};
use crate::problem::Problem;
use crate::render::{Rendered, Renderer};

/// What happens to a customer who is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Will be greeted.
    Due,
    /// The customer opted out.
    OptedOut,
    /// The ledger already has this greeting.
    AlreadySent,
    /// The row has a problem (e.g. its key is duplicated).
    Invalid,
    /// A run died while sending it; resent only on request.
    Uncertain,
}

impl Status {
    pub fn describe(self) -> &'static str {
        match self {
            Status::Due => "due",
            Status::OptedOut => "opted out",
            Status::AlreadySent => "already greeted",
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
}

impl Run<'_> {
    /// Stream the list again (the roster pass already reported its problems),
    /// yielding greetings in file order.
    pub fn items(
        &self,
        filter: &Filter,
    ) -> Result<impl Iterator<Item = Result<Item, Problem>> + '_, Vec<Problem>> {
        let reader = CustomerReader::open(self.config)?;
        let only = filter.only.as_deref().map(email::key);
        Ok(reader.filter_map(move |row| {
            let customer = row.ok()?;
            if let Some(only) = &only
                && email::key(&customer.email) != *only
            {
                return None;
            }
            self.item(customer).transpose()
        }))
    }

    /// The greeting for one customer, if they are due on the run's date.
    pub fn item(&self, customer: Customer) -> Result<Option<Item>, Problem> {
        let due = match due_on(self.occasion, &customer, self.date, self.config.leap_day) {
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
        let status = if self.roster.duplicates.contains(&key_digest(&customer.key)) {
            Status::Invalid
        } else if customer.opt_out {
            Status::OptedOut
        } else {
            Status::Due
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
            belated: false,
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
