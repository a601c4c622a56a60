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
pub fn parse_date(s: &str, order: DateOrder) -> Result<NaiveDate, String> {
    match parse_birthday(s, order)? {
        Birthday {
            year: Some(y),
            month,
            day,
        } => NaiveDate::from_ymd_opt(y, month, day).ok_or_else(|| impossible(s)),
        Birthday { year: None, .. } => Err(format!("\"{s}\" has no year")),
    }
}

/// A birthday: any form [`parse_date`] takes, or day and month alone
/// (`--MM-DD`, `DD/MM`, `DD.MM`, `DD.MM.`).
pub fn parse_birthday(s: &str, order: DateOrder) -> Result<Birthday, String> {
    let t = s.trim();
    if let Some(rest) = t.strip_prefix("--") {
        let (m, d) = split2(rest, '-').ok_or_else(|| not_a_date(s))?;
        return checked(s, None, num(m, s)?, num(d, s)?);
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
                4 => y_num,
                // Two-digit years: the most recent past century (a birthday is never in the future).
                2 => {
                    let now = chrono::Utc::now().year() % 100;
                    if y_num <= now {
                        2000 + y_num
                    } else {
                        1900 + y_num
                    }
                }
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
    checked(s, year, month, day)
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

    fn bd(s: &str) -> Result<Birthday, String> {
        parse_birthday(s, DateOrder::Dmy)
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
            parse_birthday("03/04/1990", DateOrder::Mdy).unwrap().month,
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
        assert!(parse_date("29/02/2024", DateOrder::Dmy).is_ok());
    }

    #[test]
    fn garbage_is_refused_with_the_accepted_forms_named() {
        let err = bd("next tuesday").unwrap_err();
        assert!(err.contains("YYYY-MM-DD"), "{err}");
        assert!(
            parse_date("14/03", DateOrder::Dmy)
                .unwrap_err()
                .contains("no year")
        );
    }
}
