//! Stage 3: a customer and an occasion → what templates see (SPEC §5).
//!
//! Customer data enters templates only as values in this context — never as
//! template source — so `{{ 7*7 }}` in a name prints as written.
use chrono::NaiveDate;
use tera::{Context, Map, Value};

use crate::config::{Config, Occasion};
use crate::customer::Customer;
use crate::customer::Gender;
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
        // A holiday's feast family (`christmas`, `rosh_hashanah`, …); "" for other kinds.
        occ.insert(
            "feast".into(),
            Value::from(occasion.feast.map_or("", crate::feast::Feast::name)),
        );
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
    /// The greeting's unsubscribe links, when it carries them.
    pub unsubscribe: Option<&'a crate::unsubscribe::Links>,
    /// The gift it carries, when its occasion gives one.
    pub gift: Option<&'a crate::gift::Gift>,
}

fn text(s: &str) -> Value {
    Value::from(s)
}

/// `customer` as templates see it.
#[derive(serde::Serialize)]
struct CustomerView<'a> {
    key: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    full_name: String,
    email: &'a str,
    gender: &'static str,
    language: &'a str,
    birthday: Option<String>,
    customer_since: Option<&'a str>,
    /// `orthodox`, `armenian`, `jewish`, `western`, or "".
    tradition: &'static str,
    extra: &'a std::collections::BTreeMap<String, String>,
}

/// Build the per-greeting context.
pub fn context(config: &Config, g: &Greeting<'_>) -> Context {
    let c = g.customer;
    let mut ctx = Context::new();

    let since = c.customer_since.map(|d| d.to_string());
    let view = CustomerView {
        key: &c.key,
        first_name: &c.first_name,
        last_name: &c.last_name,
        full_name: c.full_name(),
        email: &c.email,
        gender: c.gender.code(),
        language: c.language.as_deref().unwrap_or(&config.default_language),
        birthday: c.birthday.map(|b| b.iso()),
        customer_since: since.as_deref(),
        tradition: c.tradition.map_or("", crate::feast::Tradition::name),
        extra: &c.extra,
    };
    // Serialised straight into one Tera map (building a Map and converting
    // it would insert every entry twice).
    ctx.insert_value("customer", Value::from_serializable(&view));

    // Names are isolated where their script runs the other way from the
    // template's language (a Greek name in a Hebrew greeting).
    let name = i18n::isolate(g.lang, &c.first_name);
    let vocative = i18n::isolate(g.lang, &config.vocative_of(&c.first_name, c.gender));
    let own = config.salutations.get(g.lang).and_then(|s| match c.gender {
        Gender::Male => s.male.as_deref(),
        Gender::Female => s.female.as_deref(),
        Gender::Unknown => s.unknown.as_deref(),
    });
    let salutation = match own {
        Some(words) => words.replace("{name}", if g.lang == "el" { &vocative } else { &name }),
        None => i18n::salutation(g.lang, &name, &vocative, c.gender),
    };
    ctx.insert_value("name", Value::from(name));
    ctx.insert_value("vocative", Value::from(vocative));
    ctx.insert_value("salutation", Value::from(salutation));

    let (years, months) = c.customer_since.map_or((0, 0), |s| tenure(s, g.date));
    let mut ten = Map::new();
    ten.insert("years".into(), Value::from(years));
    ten.insert("months".into(), Value::from(months));
    ten.insert("since".into(), Value::from(since));
    ctx.insert_value("tenure", Value::from(ten));
    ctx.insert_value("tier", text(config.tier_for(years)));
    ctx.insert_value("age", Value::from(g.due.age));

    ctx.insert_value("occasion", g.shared.occasion.clone());
    // The signature is in the greeting's language.
    if let Some(sender) = g.shared.senders.get(g.lang) {
        ctx.insert_value("sender", sender.clone());
    }

    // The web page when there is one, else the mailto; none when the owner
    // sends this occasion without the links (`{% if unsubscribe %}`).
    ctx.insert_value(
        "unsubscribe",
        g.unsubscribe
            .map_or_else(Value::none, |l| text(l.for_template())),
    );
    // `{% if gift %}`: none when the occasion gives no gift.
    ctx.insert_value(
        "gift",
        g.gift.map_or_else(Value::none, |gift| {
            let mut m = Map::new();
            // Latin letters and digits: isolated in a right-to-left text.
            m.insert(
                "code".into(),
                text(&i18n::isolate(g.lang, &gift.code.to_string())),
            );
            m.insert(
                "valid_until".into(),
                Value::from(i18n::format_date(
                    g.lang,
                    gift.valid_until,
                    i18n::DateStyle::Long,
                )),
            );
            m.insert(
                "valid_until_date".into(),
                Value::from(gift.valid_until.to_string()),
            );
            m.insert("offer".into(), text(&gift.offer));
            Value::from(m)
        }),
    );
    ctx.insert_value("lang", text(g.lang));
    ctx.insert_value("dir", text(i18n::direction(g.lang)));
    ctx
}
