//! Stage 3: a customer and an occasion → what templates see (SPEC §5).
//!
//! Customer data enters templates only as values in this context — never as
//! template source — so `{{ 7*7 }}` in a name prints as written.
use chrono::NaiveDate;
use tera::{Context, Map, Value};

use crate::config::{Config, Occasion};
use crate::customer::Customer;
use crate::i18n;
use crate::occasion::{Due, tenure};

/// Values that are the same for every greeting of a run; set once as Tera's
/// global context so each greeting builds only its own part.
pub fn globals(today: NaiveDate) -> Context {
    let mut ctx = Context::new();
    ctx.insert("today", &today.to_string());
    ctx
}

/// Values that are the same for every greeting of one occasion on one day,
/// built once (a Tera map clones as a reference count).
#[derive(Debug, Clone)]
pub struct Shared {
    occasion: Value,
    /// Template language → the `sender` map, with the signature in that language.
    senders: std::collections::HashMap<String, Value>,
}

impl Shared {
    pub fn new<'l>(
        config: &Config,
        occasion: &Occasion,
        date: NaiveDate,
        belated: bool,
        languages: impl IntoIterator<Item = &'l str>,
    ) -> Shared {
        let mut occ = Map::new();
        occ.insert("name".into(), text(&occasion.name));
        occ.insert("kind".into(), Value::from_serializable(&occasion.kind));
        occ.insert("date".into(), Value::from(date.to_string()));
        occ.insert("belated".into(), Value::from(belated));
        let senders = languages
            .into_iter()
            .map(|lang| {
                let mut sender = Map::new();
                sender.insert("name".into(), text(&config.sender.name));
                sender.insert("email".into(), text(&config.sender.email));
                let signature = config.sender.signature_for(lang, &config.default_language);
                sender.insert("signature".into(), text(signature));
                (lang.to_string(), Value::from(sender))
            })
            .collect();
        Shared {
            occasion: Value::from(occ),
            senders,
        }
    }
}

/// Everything a template sees about one greeting.
#[derive(Debug, Clone, Copy)]
pub struct Greeting<'a> {
    pub customer: &'a Customer,
    pub occasion: &'a Occasion,
    pub date: NaiveDate,
    pub due: &'a Due,
    pub shared: &'a Shared,
    /// The template language chosen for this customer (after fallback).
    pub lang: &'a str,
}

fn text(s: &str) -> Value {
    Value::from(s)
}

/// Build the per-greeting context.
pub fn context(config: &Config, g: &Greeting<'_>) -> Context {
    let c = g.customer;
    let mut ctx = Context::new();

    let mut extra = Map::new();
    for (k, v) in &c.extra {
        extra.insert(k.clone().into(), text(v));
    }
    let mut customer = Map::new();
    customer.insert("key".into(), text(&c.key));
    customer.insert("first_name".into(), text(&c.first_name));
    customer.insert("last_name".into(), text(&c.last_name));
    customer.insert("full_name".into(), Value::from(c.full_name()));
    customer.insert("email".into(), text(&c.email));
    customer.insert("gender".into(), text(c.gender.code()));
    customer.insert(
        "language".into(),
        Value::from(
            c.language
                .clone()
                .unwrap_or_else(|| config.default_language.clone()),
        ),
    );
    customer.insert("birthday".into(), Value::from(c.birthday.map(|b| b.iso())));
    let since = Value::from(c.customer_since.map(|d| d.to_string()));
    customer.insert("customer_since".into(), since.clone());
    customer.insert("extra".into(), Value::from(extra));
    ctx.insert_value("customer", Value::from(customer));

    ctx.insert_value("name", text(&c.first_name));
    ctx.insert_value(
        "vocative",
        Value::from(i18n::vocative(&c.first_name, c.gender)),
    );
    ctx.insert_value(
        "salutation",
        Value::from(i18n::salutation(g.lang, &c.first_name, c.gender)),
    );

    let (years, months) = c.customer_since.map_or((0, 0), |s| tenure(s, g.date));
    let mut ten = Map::new();
    ten.insert("years".into(), Value::from(years));
    ten.insert("months".into(), Value::from(months));
    ten.insert("since".into(), since);
    ctx.insert_value("tenure", Value::from(ten));
    ctx.insert_value("tier", text(config.tier_for(years)));
    ctx.insert_value("age", Value::from(g.due.age));

    ctx.insert_value("occasion", g.shared.occasion.clone());
    // The signature is in the greeting's language.
    if let Some(sender) = g.shared.senders.get(g.lang) {
        ctx.insert_value("sender", sender.clone());
    }

    ctx.insert_value("lang", text(g.lang));
    ctx.insert_value("dir", text(i18n::direction(g.lang)));
    ctx
}
