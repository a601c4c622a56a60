//! Dates as spreadsheets write them. Ambiguous numeric dates follow the
//! configured order; impossible dates (31/02) are errors, never "corrected".
use chrono::{Datelike, NaiveDate};

use crate::config::DateOrder;

/// A birthday; the year is unknown when the list wrote only day and month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Birthday {
    pub year: Option<i32>,
    pub month: u32,
    pub day: u32,
}

impl Birthday {
    /// ISO form: `1985-03-14`, or `--03-14` without a year.
    pub fn iso(&self) -> String {
        match self.year {
            Some(y) => format!("{y:04}-{:02}-{:02}", self.month, self.day),
            None => format!("--{:02}-{:02}", self.month, self.day),
        }
    }
}

/// A full date: `YYYY-MM-DD`, `DD/MM/YYYY`, `D/M/YYYY`, `DD.MM.YYYY`, `DD-MM-YYYY`.
pub fn parse_date(s: &str, order: DateOrder, today: NaiveDate) -> Result<NaiveDate, String> {
    match parse_birthday(s, order, today)? {
        Birthday {
            year: Some(y),
            month,
            day,
        } => NaiveDate::from_ymd_opt(y, month, day).ok_or_else(|| impossible(s)),
        Birthday { year: None, .. } => Err(format!("\"{s}\" has no year")),
    }
}

/// A birthday: any form [`parse_date`] takes, or day and month alone
/// (`--MM-DD`, `DD/MM`, `DD.MM`, `DD.MM.`). A two-digit year is the most
/// recent one that does not put the date after `today` (85 → 1985, 24 → 2024).
pub fn parse_birthday(s: &str, order: DateOrder, today: NaiveDate) -> Result<Birthday, String> {
    let t = s.trim();
    if let Some(rest) = t.strip_prefix("--") {
        let (m, d) = split2(rest, '-').ok_or_else(|| not_a_date(s))?;
        return checked(s, None, num(m, s)?, num(d, s)?);
    }
    // The common case, YYYY-MM-DD exactly, read without splitting.
    if let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *t.as_bytes() {
        let digits = [y1, y2, y3, y4, m1, m2, d1, d2];
        if digits.iter().all(u8::is_ascii_digit) {
            let n = |ds: &[u8]| {
                ds.iter()
                    .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
            };
            let year = n(&digits[..4]) as i32;
            return checked(s, Some(year), n(&digits[4..6]), n(&digits[6..]));
        }
    }
    // ISO: 4-digit year first. A time part (1985-03-14T00:00:00+02:00) is ignored.
    let iso_part = t.split(['T', ' ']).next().unwrap_or(t);
    let parts: Vec<&str> = iso_part.split('-').collect();
    if parts.len() == 3 && parts[0].len() == 4 {
        let y = num(parts[0], s)? as i32;
        return checked(s, Some(y), num(parts[1], s)?, num(parts[2], s)?);
    }
    let sep = ['/', '.', '-']
        .into_iter()
        .find(|c| t.contains(*c))
        .ok_or_else(|| not_a_date(s))?;
    let t = t.strip_suffix('.').unwrap_or(t);
    let parts: Vec<&str> = t.split(sep).map(str::trim).collect();
    let (a, b, year) = match parts.as_slice() {
        [a, b] => (num(a, s)?, num(b, s)?, None),
        [a, b, y] => {
            let y_num = num(y, s)? as i32;
            let year = match y.len() {
                4 => Year::Full(y_num),
                2 => Year::TwoDigit(y_num),
                _ => return Err(not_a_date(s)),
            };
            (num(a, s)?, num(b, s)?, Some(year))
        }
        _ => return Err(not_a_date(s)),
    };
    let (day, month) = match order {
        DateOrder::Dmy => (a, b),
        DateOrder::Mdy => (b, a),
    };
    let year = year.map(|y| match y {
        Year::Full(y) => y,
        // Two-digit years: the most recent century that keeps the date out of
        // the future (a birthday or a first purchase has already happened).
        Year::TwoDigit(y) => {
            let year = today.year() - today.year().rem_euclid(100) + y;
            let future = (year, month, day) > (today.year(), today.month(), today.day());
            if future { year - 100 } else { year }
        }
    });
    checked(s, year, month, day)
}

enum Year {
    Full(i32),
    TwoDigit(i32),
}

/// The earliest birth year greet believes: an earlier one is a typo.
pub const EARLIEST_BIRTH_YEAR: i32 = 1900;

/// A birthday that cannot be right: before 1900, or after `today`.
pub fn implausible_birthday(b: &Birthday, today: NaiveDate) -> Option<String> {
    let year = b.year?;
    if year < EARLIEST_BIRTH_YEAR {
        return Some(format!("is before {EARLIEST_BIRTH_YEAR} — check the year"));
    }
    let date = NaiveDate::from_ymd_opt(year, b.month, b.day)?;
    (date > today).then(|| format!("is in the future (today is {today})"))
}

/// A `customer_since` that cannot be right: after `today`. Today itself is
/// fine (a new customer; SPEC: no anniversary on the first day).
pub fn implausible_since(since: NaiveDate, today: NaiveDate) -> Option<String> {
    (since > today).then(|| format!("is in the future (today is {today})"))
}

fn split2(s: &str, sep: char) -> Option<(&str, &str)> {
    let (a, b) = s.split_once(sep)?;
    (!b.contains(sep)).then_some((a, b))
}

fn num(part: &str, whole: &str) -> Result<u32, String> {
    if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_a_date(whole));
    }
    part.parse().map_err(|_| not_a_date(whole))
}

fn checked(s: &str, year: Option<i32>, month: u32, day: u32) -> Result<Birthday, String> {
    // Without a year, 29 February is a real birthday; check against a leap year.
    let probe_year = year.unwrap_or(2000);
    if NaiveDate::from_ymd_opt(probe_year, month, day).is_none() {
        return Err(impossible(s));
    }
    Ok(Birthday { year, month, day })
}

fn not_a_date(s: &str) -> String {
    format!(
        "\"{s}\" is not a date (use YYYY-MM-DD, DD/MM/YYYY or DD.MM.YYYY; --MM-DD or DD/MM without a year)"
    )
}

fn impossible(s: &str) -> String {
    format!("\"{s}\" is not a date that exists")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_plain_iso_date_reads_as_the_same_date_with_a_time_part(
            digits in "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            order in prop::sample::select(vec![DateOrder::Dmy, DateOrder::Mdy]),
        ) {
            // The first takes the quick path, the second the general one.
            let quick = parse_birthday(&digits, order, today()).map_err(|_| ());
            let general = parse_birthday(&format!("{digits}T00:00:00"), order, today()).map_err(|_| ());
            prop_assert_eq!(quick, general);
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 14).unwrap()
    }

    fn bd(s: &str) -> Result<Birthday, String> {
        parse_birthday(s, DateOrder::Dmy, today())
    }

    #[test]
    fn reads_the_common_forms() {
        let want = Birthday {
            year: Some(1985),
            month: 3,
            day: 14,
        };
        for s in [
            "1985-03-14",
            "14/03/1985",
            "14/3/1985",
            "14.03.1985",
            "14-03-1985",
            " 1985-03-14T00:00:00+02:00 ",
        ] {
            assert_eq!(bd(s), Ok(want), "{s}");
        }
        assert_eq!(
            bd("4/3/85"),
            Ok(Birthday {
                year: Some(1985),
                month: 3,
                day: 4
            })
        );
    }

    #[test]
    fn reads_birthdays_without_year() {
        let want = Birthday {
            year: None,
            month: 3,
            day: 14,
        };
        for s in ["--03-14", "14/03", "14.03", "14.03."] {
            assert_eq!(bd(s), Ok(want), "{s}");
        }
        assert_eq!(bd("29/02").map(|b| b.day), Ok(29));
    }

    #[test]
    fn ambiguous_dates_follow_the_configured_order() {
        assert_eq!(bd("03/04/1990").unwrap().month, 4);
        assert_eq!(
            parse_birthday("03/04/1990", DateOrder::Mdy, today())
                .unwrap()
                .month,
            3
        );
    }

    #[test]
    fn impossible_dates_are_refused() {
        for s in [
            "31/02/1990",
            "29/02/2023",
            "2023-02-29",
            "00/01/1990",
            "--13-01",
            "32.01.",
        ] {
            assert!(bd(s).is_err(), "{s}");
        }
        assert!(parse_date("29/02/2024", DateOrder::Dmy, today()).is_ok());
    }

    #[test]
    fn garbage_is_refused_with_the_accepted_forms_named() {
        let err = bd("next tuesday").unwrap_err();
        assert!(err.contains("YYYY-MM-DD"), "{err}");
        assert!(
            parse_date("14/03", DateOrder::Dmy, today())
                .unwrap_err()
                .contains("no year")
        );
    }

    #[test]
    fn two_digit_years_are_never_in_the_future() {
        // (cell, year) with today 2026-03-14.
        for (cell, year) in [
            ("14/03/26", 2026),
            ("15/03/26", 1926),
            ("13/03/26", 2026),
            ("01/01/00", 2000),
            ("31/12/99", 1999),
            ("4/3/85", 1985),
            ("14/03/25", 2025),
            ("14/03/27", 1927),
        ] {
            assert_eq!(bd(cell).unwrap().year, Some(year), "{cell}");
        }
    }

    #[test]
    fn birthdays_before_1900_or_after_today_are_implausible() {
        let t = today();
        let table = [
            ("31/12/1899", Some("before 1900")),
            ("01/01/1850", Some("before 1900")),
            ("0001-01-01", Some("before 1900")),
            ("01/01/1900", None),
            ("14/03/2026", None),
            ("15/03/2026", Some("in the future (today is 2026-03-14)")),
            ("14/03/2202", Some("in the future")),
            ("2031-01-01", Some("in the future")),
            ("29/02", None),
            ("--12-31", None),
        ];
        for (cell, want) in table {
            let b = bd(cell).unwrap();
            let got = implausible_birthday(&b, t);
            match want {
                None => assert_eq!(got, None, "{cell}"),
                Some(part) => assert!(
                    got.as_deref().unwrap_or("").contains(part),
                    "{cell}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn customer_since_after_today_is_implausible_and_today_is_not() {
        let t = today();
        assert_eq!(implausible_since(t, t), None);
        assert_eq!(implausible_since(t.pred_opt().unwrap(), t), None);
        for days in [1, 30, 365 * 10] {
            let later = t + chrono::Days::new(days);
            assert!(
                implausible_since(later, t)
                    .unwrap()
                    .contains("in the future")
            );
        }
    }
}
