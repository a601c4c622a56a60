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

/// Everything a template sees about one greeting.
#[derive(Debug, Clone, Copy)]
pub struct Greeting<'a> {
    pub customer: &'a Customer,
    pub occasion: &'a Occasion,
    pub date: NaiveDate,
    pub due: &'a Due,
    pub belated: bool,
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
    customer.insert(
        "customer_since".into(),
        Value::from(c.customer_since.map(|d| d.to_string())),
    );
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
    ten.insert(
        "since".into(),
        Value::from(c.customer_since.map(|d| d.to_string())),
    );
    ctx.insert_value("tenure", Value::from(ten));
    ctx.insert_value("tier", text(config.tier_for(years)));
    ctx.insert_value("age", Value::from(g.due.age));

    let mut occ = Map::new();
    occ.insert("name".into(), text(&g.occasion.name));
    occ.insert("kind".into(), Value::from_serializable(&g.occasion.kind));
    occ.insert("date".into(), Value::from(g.date.to_string()));
    occ.insert("belated".into(), Value::from(g.belated));
    ctx.insert_value("occasion", Value::from(occ));

    // The sender is per greeting because the signature is in the greeting's language.
    let mut sender = Map::new();
    sender.insert("name".into(), text(&config.sender.name));
    sender.insert("email".into(), text(&config.sender.email));
    let signature = config
        .sender
        .signature_for(g.lang, &config.default_language);
    sender.insert("signature".into(), text(signature));
    ctx.insert_value("sender", Value::from(sender));

    ctx.insert_value("lang", text(g.lang));
    ctx.insert_value("dir", text(i18n::direction(g.lang)));
    ctx
}
