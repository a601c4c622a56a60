//! Holidays by tradition: which day a customer of each tradition is wished
//! each feast.
//!
//! The customers keep different calendars: an Armenian customer's Christmas
//! is 6 January, Orthodox and Western Easter fall on different Sundays most
//! years, and a Jewish customer is wished before Rosh Hashanah, Hanukkah
//! and Passover, not at Christmas. Everything here is computed, never tabled
//! per year: the Gregorian computus (Western and Armenian Easter), the Julian
//! one ([`crate::i18n::nameday::orthodox_easter`], also behind the name days
//! that move with Easter), and the Hebrew calendar of ICU4X's `icu_calendar`.
//!
//! Jewish feasts begin at sunset the evening before their first day, so
//! their greeting is sent on that eve (erev Rosh Hashanah, the evening the
//! first Hanukkah candle is lit, the Seder night). No feast or eve crosses
//! a Gregorian New Year (Hanukkah's first day is 28 November at the
//! earliest, 27 December at the latest), so each (feast, tradition) has at
//! most one day in each Gregorian year.
use chrono::{Datelike, Days, NaiveDate};
use icu_calendar::types::Month;

/// The calendar a customer keeps for their feasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tradition {
    /// Greek (and other) Orthodox: Christmas 25 December, Orthodox Easter.
    Orthodox,
    /// Armenian Apostolic: Nativity and Theophany 6 January, Western Easter.
    Armenian,
    /// Jewish: Rosh Hashanah, Hanukkah and Passover, each on its eve.
    Jewish,
    /// Western (Catholic, Protestant): Christmas 25 December, Western Easter.
    Western,
}

impl Tradition {
    pub const ALL: [Tradition; 4] = [
        Tradition::Orthodox,
        Tradition::Armenian,
        Tradition::Jewish,
        Tradition::Western,
    ];

    /// `orthodox`, `armenian`, `jewish`, `western`: as the list and the config write it.
    pub fn name(self) -> &'static str {
        match self {
            Tradition::Orthodox => "orthodox",
            Tradition::Armenian => "armenian",
            Tradition::Jewish => "jewish",
            Tradition::Western => "western",
        }
    }

    /// A cell or config value, case and surrounding spaces ignored.
    pub fn parse(text: &str) -> Option<Tradition> {
        let t = text.trim();
        Tradition::ALL
            .into_iter()
            .find(|tr| tr.name().eq_ignore_ascii_case(t))
    }

    /// The built-in tradition of a language (primary subtag): el → orthodox,
    /// hy → armenian, he → jewish, en → western. Others have none unless the
    /// config's `[traditions]` names one.
    pub fn of_language(lang: &str) -> Option<Tradition> {
        Some(match lang {
            "el" => Tradition::Orthodox,
            "hy" => Tradition::Armenian,
            "he" => Tradition::Jewish,
            "en" => Tradition::Western,
            _ => return None,
        })
    }
}

/// A feast family, as a `kind = "holiday"` occasion names it (`feast = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feast {
    Christmas,
    Easter,
    NewYear,
    RoshHashanah,
    Hanukkah,
    Passover,
}

impl Feast {
    pub const ALL: [Feast; 6] = [
        Feast::Christmas,
        Feast::Easter,
        Feast::NewYear,
        Feast::RoshHashanah,
        Feast::Hanukkah,
        Feast::Passover,
    ];

    /// As greet.toml writes it: `christmas`, `easter`, `new_year`,
    /// `rosh_hashanah`, `hanukkah`, `passover`.
    pub fn name(self) -> &'static str {
        match self {
            Feast::Christmas => "christmas",
            Feast::Easter => "easter",
            Feast::NewYear => "new_year",
            Feast::RoshHashanah => "rosh_hashanah",
            Feast::Hanukkah => "hanukkah",
            Feast::Passover => "passover",
        }
    }

    /// The config's spelling; `-` for `_` is accepted too (`new-year`).
    pub fn parse(text: &str) -> Option<Feast> {
        let t = text.trim().to_ascii_lowercase().replace('-', "_");
        Feast::ALL.into_iter().find(|f| f.name() == t)
    }

    /// The shipped template a holiday occasion of this feast uses unless
    /// it names its own: `christmas`, `easter`, `new-year`, `rosh-hashanah`,
    /// `hanukkah`, `passover` (file names use `-`, as `new-year` always did).
    pub fn template(self) -> String {
        self.name().replace('_', "-")
    }

    /// The day a customer of `tradition` is wished this feast in the
    /// Gregorian `year`, or `None` when their tradition does not keep it.
    /// New Year (1 January) is for every customer, with a tradition or
    /// without one; every other feast needs a tradition that keeps it.
    pub fn wished_on(self, tradition: Option<Tradition>, year: i32) -> Option<NaiveDate> {
        use Tradition::*;
        if self == Feast::NewYear {
            return NaiveDate::from_ymd_opt(year, 1, 1);
        }
        match (self, tradition?) {
            (Feast::Christmas, Orthodox | Western) => NaiveDate::from_ymd_opt(year, 12, 25),
            (Feast::Christmas, Armenian) => NaiveDate::from_ymd_opt(year, 1, 6),
            (Feast::Easter, Orthodox) => Some(crate::i18n::nameday::orthodox_easter(year)),
            (Feast::Easter, Armenian | Western) => western_easter(year),
            (Feast::RoshHashanah, Jewish) => eve(hebrew(year + AM_OFFSET, TISHREI, 1)?),
            (Feast::Hanukkah, Jewish) => eve(hebrew(year + AM_OFFSET, KISLEV, 25)?),
            (Feast::Passover, Jewish) => eve(hebrew(year + AM_OFFSET - 1, NISAN, 15)?),
            _ => None,
        }
    }

    /// Is a customer of `tradition` wished this feast on `date`?
    pub fn falls_on(self, tradition: Option<Tradition>, date: NaiveDate) -> bool {
        self.wished_on(tradition, date.year()) == Some(date)
    }

    /// Is anyone, of any tradition or none, wished this feast on `date`?
    /// The cheap question the customer list's pre-filter asks first.
    pub fn anyone_on(self, date: NaiveDate) -> bool {
        std::iter::once(None)
            .chain(Tradition::ALL.map(Some))
            .any(|t| self.falls_on(t, date))
    }

    /// The first day of the feast itself (not its eve) in the Gregorian
    /// `year`, for a tradition that keeps it: what published tables list.
    pub fn first_day(self, tradition: Option<Tradition>, year: i32) -> Option<NaiveDate> {
        let wished = self.wished_on(tradition, year)?;
        Some(match self {
            Feast::RoshHashanah | Feast::Hanukkah | Feast::Passover => wished + Days::new(1),
            _ => wished,
        })
    }
}

/// Anno Mundi year whose 1 Tishrei falls in the autumn of Gregorian `year`: year + 3761.
const AM_OFFSET: i32 = 3761;

/// Month codes (not ordinals): Nisan is M07 in common and leap years alike.
const TISHREI: Month = Month::new(1);
const KISLEV: Month = Month::new(3);
const NISAN: Month = Month::new(7);

/// A Hebrew date as a Gregorian one.
fn hebrew(year_am: i32, month: Month, day: u8) -> Option<NaiveDate> {
    let date = icu_calendar::Date::try_new_hebrew_v2(year_am, month, day).ok()?;
    let iso = date.to_calendar(icu_calendar::Iso);
    NaiveDate::from_ymd_opt(
        iso.year().extended_year(),
        u32::from(iso.month().ordinal),
        u32::from(iso.day_of_month().0),
    )
}

/// The evening before: when a Jewish feast begins, and its greeting is sent.
fn eve(first_day: NaiveDate) -> Option<NaiveDate> {
    first_day.checked_sub_days(Days::new(1))
}

/// Western Easter Sunday (Gregorian computus; the Armenian Church keeps it
/// too): the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
pub fn western_easter(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Tradition::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    // Published tables, 2024–2035 (first day of each feast). Sources: the
    // Ecumenical Patriarchate's and the Vatican's Easter tables (as listed
    // by timeanddate.com), hebcal.com / the Israeli government's holiday
    // calendar for the Jewish feasts (which begin at sunset the day before).
    const WESTERN_EASTER: [(i32, u32, u32); 12] = [
        (2024, 3, 31),
        (2025, 4, 20),
        (2026, 4, 5),
        (2027, 3, 28),
        (2028, 4, 16),
        (2029, 4, 1),
        (2030, 4, 21),
        (2031, 4, 13),
        (2032, 3, 28),
        (2033, 4, 17),
        (2034, 4, 9),
        (2035, 3, 25),
    ];
    /// 1 Tishrei.
    const ROSH_HASHANAH: [(i32, u32, u32); 12] = [
        (2024, 10, 3),
        (2025, 9, 23),
        (2026, 9, 12),
        (2027, 10, 2),
        (2028, 9, 21),
        (2029, 9, 10),
        (2030, 9, 28),
        (2031, 9, 18),
        (2032, 9, 6),
        (2033, 9, 24),
        (2034, 9, 14),
        (2035, 10, 4),
    ];
    /// 25 Kislev: the first day (the first candle is lit the evening before).
    const HANUKKAH: [(i32, u32, u32); 12] = [
        (2024, 12, 26),
        (2025, 12, 15),
        (2026, 12, 5),
        (2027, 12, 25),
        (2028, 12, 13),
        (2029, 12, 2),
        (2030, 12, 21),
        (2031, 12, 10),
        (2032, 11, 28),
        (2033, 12, 17),
        (2034, 12, 7),
        (2035, 12, 26),
    ];
    /// 15 Nisan (the Seder is the evening before).
    const PASSOVER: [(i32, u32, u32); 12] = [
        (2024, 4, 23),
        (2025, 4, 13),
        (2026, 4, 2),
        (2027, 4, 22),
        (2028, 4, 11),
        (2029, 3, 31),
        (2030, 4, 18),
        (2031, 4, 8),
        (2032, 3, 27),
        (2033, 4, 14),
        (2034, 4, 4),
        (2035, 4, 24),
    ];

    fn check(feast: Feast, tradition: Tradition, table: &[(i32, u32, u32)]) {
        for &(y, m, day) in table {
            assert_eq!(
                feast.first_day(Some(tradition), y),
                Some(d(y, m, day)),
                "{} for {} in {y}",
                feast.name(),
                tradition.name()
            );
        }
    }

    #[test]
    fn easter_matches_the_published_tables_2024_to_2035() {
        check(Feast::Easter, Western, &WESTERN_EASTER);
        check(Feast::Easter, Armenian, &WESTERN_EASTER);
        // The name days' table (2020–2035), from 2024.
        check(
            Feast::Easter,
            Orthodox,
            &crate::i18n::nameday::tests::PUBLISHED_ORTHODOX_EASTER[4..],
        );
        assert_eq!(Feast::Easter.wished_on(Some(Jewish), 2026), None);
        // Easter is always a Sunday.
        for y in 2024..=2035 {
            for t in [Orthodox, Western] {
                let day = Feast::Easter.wished_on(Some(t), y).unwrap();
                assert_eq!(day.weekday(), chrono::Weekday::Sun, "{t:?} {y}");
            }
        }
    }

    #[test]
    fn jewish_feasts_match_the_published_tables_2024_to_2035() {
        check(Feast::RoshHashanah, Jewish, &ROSH_HASHANAH);
        check(Feast::Hanukkah, Jewish, &HANUKKAH);
        check(Feast::Passover, Jewish, &PASSOVER);
    }

    #[test]
    fn jewish_feasts_are_wished_on_their_eve() {
        let rh = Feast::RoshHashanah.wished_on(Some(Jewish), 2026);
        assert_eq!(rh, Some(d(2026, 9, 11)));
        assert_eq!(
            Feast::Hanukkah.wished_on(Some(Jewish), 2026),
            Some(d(2026, 12, 4))
        );
        assert_eq!(
            Feast::Passover.wished_on(Some(Jewish), 2027),
            Some(d(2027, 4, 21))
        );
        // Only Jewish customers keep them.
        for t in [Orthodox, Armenian, Western] {
            for f in [Feast::RoshHashanah, Feast::Hanukkah, Feast::Passover] {
                assert_eq!(f.wished_on(Some(t), 2026), None, "{f:?} {t:?}");
            }
        }
        assert_eq!(Feast::Passover.wished_on(None, 2026), None);
    }

    #[test]
    fn christmas_is_25_december_except_for_armenians_6_january() {
        for y in 2024..=2035 {
            for t in [Orthodox, Western] {
                assert_eq!(Feast::Christmas.wished_on(Some(t), y), Some(d(y, 12, 25)));
            }
            assert_eq!(
                Feast::Christmas.wished_on(Some(Armenian), y),
                Some(d(y, 1, 6))
            );
            assert_eq!(Feast::Christmas.wished_on(Some(Jewish), y), None);
            assert_eq!(Feast::Christmas.wished_on(None, y), None);
        }
    }

    #[test]
    fn new_year_is_1_january_for_everyone() {
        for t in std::iter::once(None).chain(Tradition::ALL.map(Some)) {
            assert_eq!(Feast::NewYear.wished_on(t, 2027), Some(d(2027, 1, 1)));
            assert!(Feast::NewYear.falls_on(t, d(2027, 1, 1)));
            assert!(!Feast::NewYear.falls_on(t, d(2027, 1, 2)));
        }
    }

    #[test]
    fn each_tradition_is_wished_each_feast_on_exactly_one_day_a_year() {
        for y in 2024..=2035 {
            let first = d(y, 1, 1);
            let days = first.iter_days().take_while(|day| day.year() == y);
            for f in Feast::ALL {
                for t in std::iter::once(None).chain(Tradition::ALL.map(Some)) {
                    let on: Vec<NaiveDate> =
                        days.clone().filter(|day| f.falls_on(t, *day)).collect();
                    let want: Vec<NaiveDate> = f.wished_on(t, y).into_iter().collect();
                    assert_eq!(on, want, "{f:?} {t:?} {y}");
                    for day in &on {
                        assert!(f.anyone_on(*day));
                    }
                }
            }
        }
    }

    #[test]
    fn names_read_back() {
        for f in Feast::ALL {
            assert_eq!(Feast::parse(f.name()), Some(f));
        }
        assert_eq!(Feast::parse("New-Year"), Some(Feast::NewYear));
        assert_eq!(Feast::NewYear.template(), "new-year");
        assert_eq!(Feast::RoshHashanah.template(), "rosh-hashanah");
        assert_eq!(Feast::parse("xmas"), None);
        for t in Tradition::ALL {
            assert_eq!(Tradition::parse(&t.name().to_uppercase()), Some(t));
        }
        assert_eq!(Tradition::parse("catholic"), None);
        assert_eq!(Tradition::of_language("el"), Some(Orthodox));
        assert_eq!(Tradition::of_language("hy"), Some(Armenian));
        assert_eq!(Tradition::of_language("he"), Some(Jewish));
        assert_eq!(Tradition::of_language("en"), Some(Western));
        assert_eq!(Tradition::of_language("fr"), None);
    }
}
