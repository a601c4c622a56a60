//! Stage 2: who is due on a date.
//!
//! The occurrence is part of a greeting's key: the celebrated date for dated
//! occasions, the year for campaigns. It depends only on the run's date,
//! never on the wall clock, so a run that crosses midnight keys consistently.
use chrono::{Datelike, NaiveDate};

use crate::config::{LeapDay, Occasion, OccasionKind};
use crate::customer::Customer;
use crate::i18n::nameday::Calendar;

/// A customer is due for an occasion on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// `2026-03-14` for dated occasions, `2026` for campaigns.
    pub occurrence: String,
    /// Age reached on a birthday, when the birth year is known.
    pub age: Option<u32>,
}

/// The day a (month, day) is celebrated in `year`: 29 February moves in common years.
pub fn celebrated_in(year: i32, month: u32, day: u32, leap: LeapDay) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day).or_else(|| {
        (month == 2 && day == 29).then(|| match leap {
            LeapDay::Feb28 => NaiveDate::from_ymd_opt(year, 2, 28),
            LeapDay::Mar1 => NaiveDate::from_ymd_opt(year, 3, 1),
        })?
    })
}

/// Is `customer` due for `occasion` on `date`? Opt-outs are decided elsewhere
/// (they are shown as skipped, not silently dropped).
pub fn due_on(
    occasion: &Occasion,
    customer: &Customer,
    date: NaiveDate,
    leap: LeapDay,
    namedays: &Calendar,
) -> Option<Due> {
    match occasion.kind {
        OccasionKind::Nameday => namedays
            .celebrates(&customer.first_name, date)
            .then(|| Due {
                occurrence: date.to_string(),
                age: None,
            }),
        OccasionKind::Birthday => {
            let b = customer.birthday?;
            if celebrated_in(date.year(), b.month, b.day, leap)? != date {
                return None;
            }
            let age = b.year.and_then(|y| u32::try_from(date.year() - y).ok());
            Some(Due {
                occurrence: date.to_string(),
                age,
            })
        }
        OccasionKind::Anniversary => {
            let since = customer.customer_since?;
            if date.year() - since.year() < 1 {
                return None;
            }
            if celebrated_in(date.year(), since.month(), since.day(), leap)? != date {
                return None;
            }
            Some(Due {
                occurrence: date.to_string(),
                age: None,
            })
        }
        OccasionKind::Campaign => Some(Due {
            occurrence: date.year().to_string(),
            age: None,
        }),
    }
}

/// Whole years and remaining months from `since` to `date` (zero if `since` is later).
pub fn tenure(since: NaiveDate, date: NaiveDate) -> (u32, u32) {
    if since >= date {
        return (0, 0);
    }
    let mut months = (date.year() - since.year()) * 12 + date.month() as i32 - since.month() as i32;
    if date.day() < since.day() {
        months -= 1;
    }
    let months = months.max(0) as u32;
    (months / 12, months % 12)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{Birthday, Gender};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn born(month: u32, day: u32, year: Option<i32>) -> Customer {
        Customer {
            key: "k".into(),
            line: 2,
            email: "a@b.gr".into(),
            first_name: "A".into(),
            last_name: String::new(),
            gender: Gender::Unknown,
            language: None,
            birthday: Some(Birthday { year, month, day }),
            customer_since: None,
            opt_out: false,
            extra: Default::default(),
        }
    }

    fn occ(kind: OccasionKind) -> Occasion {
        Occasion {
            name: "x".into(),
            kind,
            template: "x".into(),
            segment: None,
            segment_at: (0, 0),
        }
    }

    #[test]
    fn leap_day_birthdays_are_greeted_exactly_once_a_year() {
        let c = born(2, 29, Some(1992));
        let b = occ(OccasionKind::Birthday);
        for (leap, common_day) in [
            (LeapDay::Feb28, d(2027, 2, 28)),
            (LeapDay::Mar1, d(2027, 3, 1)),
        ] {
            let days: Vec<NaiveDate> = d(2027, 1, 1)
                .iter_days()
                .take(365)
                .filter(|day| due_on(&b, &c, *day, leap, &Calendar::builtin()).is_some())
                .collect();
            assert_eq!(days, vec![common_day], "{leap:?}");
            let leap_days: Vec<NaiveDate> = d(2028, 1, 1)
                .iter_days()
                .take(366)
                .filter(|day| due_on(&b, &c, *day, leap, &Calendar::builtin()).is_some())
                .collect();
            assert_eq!(leap_days, vec![d(2028, 2, 29)], "{leap:?}");
        }
    }

    #[test]
    fn age_only_when_the_year_is_known() {
        let b = occ(OccasionKind::Birthday);
        assert_eq!(
            due_on(
                &b,
                &born(3, 14, Some(1985)),
                d(2026, 3, 14),
                LeapDay::Feb28,
                &Calendar::builtin()
            )
            .unwrap()
            .age,
            Some(41)
        );
        assert_eq!(
            due_on(
                &b,
                &born(3, 14, None),
                d(2026, 3, 14),
                LeapDay::Feb28,
                &Calendar::builtin()
            )
            .unwrap()
            .age,
            None
        );
    }

    #[test]
    fn anniversaries_need_a_full_year() {
        let a = occ(OccasionKind::Anniversary);
        let mut c = born(1, 1, None);
        c.customer_since = Some(d(2026, 3, 14));
        assert!(due_on(&a, &c, d(2026, 3, 14), LeapDay::Feb28, &Calendar::builtin()).is_none());
        assert!(due_on(&a, &c, d(2027, 3, 14), LeapDay::Feb28, &Calendar::builtin()).is_some());
    }

    #[test]
    fn tenure_counts_whole_months() {
        assert_eq!(tenure(d(2019, 3, 14), d(2026, 3, 14)), (7, 0));
        assert_eq!(tenure(d(2019, 3, 15), d(2026, 3, 14)), (6, 11));
        assert_eq!(tenure(d(2027, 1, 1), d(2026, 3, 14)), (0, 0));
    }

    #[test]
    fn campaigns_key_on_the_year() {
        let due = due_on(
            &occ(OccasionKind::Campaign),
            &born(1, 1, None),
            d(2026, 12, 20),
            LeapDay::Feb28,
            &Calendar::builtin(),
        );
        assert_eq!(due.unwrap().occurrence, "2026");
    }
}
