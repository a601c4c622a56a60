//! The filters greet adds to Tera: `date`, `plural`, `plural_years`, `vocative`.
//! They take the language from the template's `lang` unless given `lang=`.
use std::collections::BTreeMap;

use chrono::NaiveDate;
use tera::{Error, Kwargs, State, Tera, TeraResult};

use crate::customer::Gender;
use crate::i18n::{self, DateStyle};

fn lang(kwargs: &Kwargs, state: &State) -> TeraResult<String> {
    if let Some(l) = kwargs.get::<String>("lang")? {
        return Ok(l);
    }
    Ok(state.get::<String>("lang")?.unwrap_or_else(|| "en".into()))
}

/// `{{ occasion.date | date(format="day_month") }}` → "14 Μαρτίου".
/// Formats: `long` (default, with the year), `day_month`, `iso`.
fn date(value: &str, kwargs: Kwargs, state: &State) -> TeraResult<String> {
    let lang = lang(&kwargs, state)?;
    let format = kwargs
        .get::<String>("format")?
        .unwrap_or_else(|| "long".into());
    // Birthdays without a year come as --MM-DD: show day and month only.
    let (date, has_year) = match value.strip_prefix("--") {
        Some(md) => (
            NaiveDate::parse_from_str(&format!("2000-{md}"), "%Y-%m-%d"),
            false,
        ),
        None => (NaiveDate::parse_from_str(value, "%Y-%m-%d"), true),
    };
    let date =
        date.map_err(|_| Error::message(format!("date: \"{value}\" is not a YYYY-MM-DD date")))?;
    Ok(match format.as_str() {
        "iso" => value.to_string(),
        "day_month" => i18n::format_date(&lang, date, DateStyle::DayMonth),
        "long" if has_year => i18n::format_date(&lang, date, DateStyle::Long),
        "long" => i18n::format_date(&lang, date, DateStyle::DayMonth),
        other => {
            return Err(Error::message(format!(
                "date: format \"{other}\" is not one of long, day_month, iso"
            )));
        }
    })
}

/// `{{ tenure.years | plural_years }}` → "5 χρόνια".
fn plural_years(value: i64, kwargs: Kwargs, state: &State) -> TeraResult<String> {
    Ok(i18n::plural_years(&lang(&kwargs, state)?, value))
}

/// `{{ n | plural(one="# χρόνος", other="# χρόνια") }}`: the form for the
/// CLDR plural category of `n` in the template's language; `#` is replaced by
/// the number. Categories not given fall back to `other`.
fn plural(value: i64, kwargs: Kwargs, state: &State) -> TeraResult<String> {
    let lang = lang(&kwargs, state)?;
    let category = i18n::plural_category(&lang, value);
    let form = match kwargs.get::<String>(category)? {
        Some(f) => f,
        None => kwargs.get::<String>("other")?.ok_or_else(|| {
            Error::message(format!(
                "plural: {value} is \"{category}\" in {lang}; give {category}=\"…\" or other=\"…\""
            ))
        })?,
    };
    Ok(form.replace('#', &value.to_string()))
}

/// `{{ name | vocative }}` → "Σταμάτη" (Greek masculine names; others
/// unchanged); the owner's `[vocative]` forms win.
pub fn register(tera: &mut Tera, overrides: &BTreeMap<String, String>) {
    tera.register_filter("date", date);
    tera.register_filter("plural", plural);
    tera.register_filter("plural_years", plural_years);
    let overrides = overrides.clone();
    tera.register_filter("vocative", move |value: &str, _: Kwargs, _: &State| {
        i18n::vocative_with(&overrides, value, Gender::Male)
    });
}
