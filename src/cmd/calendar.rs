//! `greet calendar`: the year ahead, per day — which dated occasions
//! (birthdays, name days, anniversaries, holidays) are due on which day, and
//! for how many customers. Campaigns have no day: they go when the owner
//! runs them, so they are not listed.
//!
//! The list is read twice, as `preview` reads it: the roster scan (row
//! problems, duplicated keys: 16 bytes a customer), then a stream in which
//! each customer's days are computed and counted
//! ([`crate::occasion::days_in`]); only the counts — a year of days times
//! the occasions — are kept.
use std::io::Write;

use chrono::{Datelike, Days, NaiveDate};

use super::load_config;
use crate::cli::{CalendarArgs, CalendarFormat, Cli};
use crate::config::Occasion;
use crate::customer::{CustomerReader, email, key_digest};
use crate::exit::{Exit, Halt};
use crate::occasion::days_in;
use crate::problem::fail_on;
use crate::{clock, report};

pub fn run(cli: &Cli, args: &CalendarArgs) -> anyhow::Result<Exit> {
    let config = load_config(&cli.config)?;
    let today = clock::now(config.time_zone)?.date_naive();
    let (from, to) = span(args.year, today)?;
    let occasions: Vec<&Occasion> = config
        .occasions
        .values()
        .filter(|o| o.kind.is_dated())
        .collect();
    if occasions.is_empty() {
        return Err(Halt::invalid(format!(
            "{}: the calendar lists the dated occasions (kind birthday, anniversary, nameday or holiday), and there are none",
            config.path.display()
        )));
    }
    let only = args.customer.as_deref().map(email::key);

    // counts[day][occasion], day 0 = `from`.
    let days = usize::try_from((to - from).num_days() + 1).unwrap_or(0);
    let mut counts = vec![vec![0usize; occasions.len()]; days];
    // The first pass, as `preview` and `send` make it: the row problems, and
    // the duplicated keys, of which neither row is greeted.
    let roster = crate::customer::scan(&config).map_err(fail_on)?;
    let file = config.customers.display().to_string();
    let mut err = std::io::stderr().lock();
    if !cli.quiet {
        report::list_head(&roster.problems, &file, 5, &mut err)?;
    }
    let (mut found, mut kept_out) = (false, None);
    for customer in CustomerReader::open(&config).map_err(fail_on)?.flatten() {
        if only
            .as_ref()
            .is_some_and(|o| email::key(&customer.email) != *o)
        {
            continue;
        }
        found = true;
        if customer.opt_out {
            kept_out = Some("has opted out");
            continue;
        }
        if !roster.duplicates.is_empty() && roster.duplicates.contains(&key_digest(&customer.key)) {
            kept_out = Some("shares its key or mailbox with another row (`greet check`)");
            continue;
        }
        for (i, occasion) in occasions.iter().enumerate() {
            for day in days_in(
                occasion,
                &customer,
                (from, to),
                config.leap_day,
                &config.namedays,
            ) {
                let at = usize::try_from((day - from).num_days()).unwrap_or(usize::MAX);
                if let Some(row) = counts.get_mut(at) {
                    row[i] += 1;
                }
            }
        }
    }
    if let Some(address) = &args.customer {
        if !found {
            return Err(Halt::invalid(format!(
                "{file}: no customer with the address {address}"
            )));
        }
        if let Some(why) = kept_out {
            writeln!(err, "{address} {why}: greet sends them nothing")?;
        }
    }

    let mut out = std::io::stdout().lock();
    let names: Vec<&str> = occasions.iter().map(|o| o.name.as_str()).collect();
    let mut totals = vec![0usize; occasions.len()];
    for (i, row) in counts.iter().enumerate() {
        let total: usize = row.iter().sum();
        if total == 0 {
            continue;
        }
        let day = from + Days::new(i as u64);
        for (t, n) in totals.iter_mut().zip(row) {
            *t += n;
        }
        match args.format {
            CalendarFormat::Text => writeln!(
                out,
                "{day}  {}  {total:>6}  {}",
                day.weekday(),
                listing(&names, row)
            )?,
            CalendarFormat::Json => {
                let occasions: serde_json::Map<String, serde_json::Value> = names
                    .iter()
                    .zip(row)
                    .filter(|(_, n)| **n > 0)
                    .map(|(name, n)| (name.to_string(), (*n).into()))
                    .collect();
                let line = serde_json::json!({
                    "date": day.to_string(),
                    "total": total,
                    "occasions": occasions,
                });
                writeln!(out, "{line}")?;
            }
        }
    }
    if args.format == CalendarFormat::Text {
        let total: usize = totals.iter().sum();
        writeln!(
            out,
            "{from} – {to}  {total:>6}  {}",
            if total == 0 {
                "nothing due".to_string()
            } else {
                listing(&names, &totals)
            }
        )?;
    }
    out.flush()?;
    Ok(Exit::Ok)
}

/// The days covered: the calendar year `year`, else a year from `today`.
fn span(year: Option<i32>, today: NaiveDate) -> anyhow::Result<(NaiveDate, NaiveDate)> {
    let range = match year {
        // The calendars are computed for these years (the Gregorian
        // computus and the Hebrew calendar's range both hold well beyond).
        Some(y) if !(1900..=9999).contains(&y) => {
            return Err(Halt::invalid(format!(
                "--year {y}: give a year from 1900 to 9999"
            )));
        }
        Some(y) => NaiveDate::from_ymd_opt(y, 1, 1).zip(NaiveDate::from_ymd_opt(y, 12, 31)),
        // Up to the day before the same date next year (1 March after a
        // 29 February).
        None => NaiveDate::from_ymd_opt(today.year() + 1, today.month(), today.day())
            .or_else(|| NaiveDate::from_ymd_opt(today.year() + 1, 3, 1))
            .and_then(|next| next.pred_opt())
            .map(|end| (today, end)),
    };
    range.ok_or_else(|| Halt::invalid("the year from today is out of range"))
}

/// `birthday 3 · christmas 12`: the occasions with any count, in order.
fn listing(names: &[&str], counts: &[usize]) -> String {
    names
        .iter()
        .zip(counts)
        .filter(|(_, n)| **n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_is_the_calendar_year_or_twelve_months_from_today() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            span(Some(2027), d(2026, 12, 3)).unwrap(),
            (d(2027, 1, 1), d(2027, 12, 31))
        );
        assert_eq!(
            span(None, d(2026, 12, 3)).unwrap(),
            (d(2026, 12, 3), d(2027, 12, 2))
        );
        assert!(span(Some(262_142), d(2026, 12, 3)).is_err());
        assert!(span(Some(1899), d(2026, 12, 3)).is_err());
        assert_eq!(
            span(None, d(2028, 2, 29)).unwrap(),
            (d(2028, 2, 29), d(2029, 2, 28))
        );
    }

    #[test]
    fn a_listing_names_only_what_is_due() {
        assert_eq!(
            listing(&["birthday", "christmas", "nameday"], &[3, 0, 1]),
            "birthday 3 · nameday 1"
        );
    }
}
