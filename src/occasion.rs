//! Stage 2: who is due on a date.
//!
//! The occurrence is part of a greeting's key: the celebrated date for dated
//! occasions, the year for campaigns. It depends only on the run's date,
//! never on the wall clock, so a run that crosses midnight keys consistently.
use chrono::{Datelike, NaiveDate};

use crate::config::{LeapDay, Occasion, OccasionKind};
use crate::customer::{Customer, Hint, Quick};
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
        // The customer's own tradition's day: the occurrence is that day,
        // so each customer is greeted once a year for each feast.
        OccasionKind::Holiday => occasion
            .feast?
            .falls_on(customer.tradition, date)
            .then(|| Due {
                occurrence: date.to_string(),
                age: None,
            }),
    }
}

/// The days from `from` to `to` (inclusive) on which `customer` is due for
/// `occasion`, in order: the few candidate days each kind computes (the
/// birthday in each year, the name's feasts, the tradition's feast day),
/// each confirmed by [`due_on`], so the answer is exactly the days `due_on`
/// finds, without asking it of every day. Campaigns have no days.
pub fn days_in(
    occasion: &Occasion,
    customer: &Customer,
    (from, to): (NaiveDate, NaiveDate),
    leap: LeapDay,
    namedays: &Calendar,
) -> Vec<NaiveDate> {
    // One year more on each side: a name day that moves with Easter may
    // come from the neighbouring year's Easter.
    let years = (from.year() - 1)..=(to.year() + 1);
    let mut days: Vec<NaiveDate> = match occasion.kind {
        OccasionKind::Campaign => Vec::new(),
        OccasionKind::Birthday => match customer.birthday {
            Some(b) => years
                .filter_map(|y| celebrated_in(y, b.month, b.day, leap))
                .collect(),
            None => Vec::new(),
        },
        OccasionKind::Anniversary => match customer.customer_since {
            Some(s) => years
                .filter_map(|y| celebrated_in(y, s.month(), s.day(), leap))
                .collect(),
            None => Vec::new(),
        },
        OccasionKind::Nameday => namedays
            .feasts(&customer.first_name)
            .into_iter()
            .flat_map(|f| years.clone().map(move |y| f.date_in(y)))
            .collect(),
        OccasionKind::Holiday => match occasion.feast {
            Some(f) => years
                .filter_map(|y| f.wished_on(customer.tradition, y))
                .collect(),
            None => Vec::new(),
        },
    };
    days.retain(|d| {
        (from..=to).contains(d) && due_on(occasion, customer, *d, leap, namedays).is_some()
    });
    days.sort_unstable();
    days.dedup();
    days
}

/// Could the row behind `quick` be due for `occasion` on `date`? A cheap
/// test before the full parse: never `false` for a row [`due_on`] would find
/// due (its cells are read as the full parse reads them, the same rule is
/// applied), and `true` whenever a cell cannot be read cheaply.
pub fn may_be_due(
    occasion: &Occasion,
    quick: &Quick<'_>,
    date: NaiveDate,
    leap: LeapDay,
    namedays: &Calendar,
) -> bool {
    let falls_on =
        |month: u32, day: u32| celebrated_in(date.year(), month, day, leap) == Some(date);
    match occasion.kind {
        OccasionKind::Nameday => match quick.first_name() {
            Hint::Is(name) => namedays.celebrates(name, date),
            Hint::Unsure => true,
        },
        OccasionKind::Birthday => match quick.birthday() {
            Hint::Is(Some(b)) => falls_on(b.month, b.day),
            Hint::Is(None) => false,
            Hint::Unsure => true,
        },
        OccasionKind::Anniversary => match quick.customer_since() {
            Hint::Is(Some(since)) => {
                date.year() - since.year() >= 1 && falls_on(since.month(), since.day())
            }
            Hint::Is(None) => false,
            Hint::Unsure => true,
        },
        OccasionKind::Campaign => true,
        // The row's tradition's day; unsure: any tradition's day (on the
        // other days, nobody is due).
        OccasionKind::Holiday => match (occasion.feast, quick.tradition()) {
            (None, _) => true,
            (Some(f), Hint::Is(t)) => f.falls_on(t, date),
            (Some(f), Hint::Unsure) => f.anyone_on(date),
        },
    }
}

/// [`may_be_due`] for every target of a run at once, as the roster scan
/// asks it of each row: whether any (occasion, day) may be due. Name days
/// are looked up once per spelling of a first name (names repeat: a list of
/// a million has a few thousand), on every thread; the answer is exactly
/// `targets.any(may_be_due)`.
pub struct DayFilter<'a> {
    /// Birthdays and anniversaries: cheap, asked of every row.
    others: Vec<(&'a Occasion, NaiveDate)>,
    /// The days a name-day occasion covers.
    name_days: Vec<NaiveDate>,
    leap: LeapDay,
    namedays: &'a Calendar,
    /// First name → whether its name day is one of `name_days`, in shards
    /// so that the scan's threads seldom wait for each other.
    seen: Vec<std::sync::Mutex<std::collections::HashMap<String, bool>>>,
}

/// Spellings remembered per shard: a list of odd names costs memory no more.
const SEEN_PER_SHARD: usize = 4096;
const SHARDS: usize = 16;

impl<'a> DayFilter<'a> {
    pub fn new(
        targets: &[(&'a Occasion, NaiveDate)],
        leap: LeapDay,
        namedays: &'a Calendar,
    ) -> DayFilter<'a> {
        let (name_days, others): (Vec<_>, Vec<_>) = targets
            .iter()
            .partition(|(o, _)| o.kind == OccasionKind::Nameday);
        DayFilter {
            others,
            name_days: name_days.into_iter().map(|(_, d)| d).collect(),
            leap,
            namedays,
            seen: (0..SHARDS).map(|_| Default::default()).collect(),
        }
    }

    pub fn may_keep(&self, quick: &Quick<'_>) -> bool {
        if self
            .others
            .iter()
            .any(|(o, d)| may_be_due(o, quick, *d, self.leap, self.namedays))
        {
            return true;
        }
        if self.name_days.is_empty() {
            return false;
        }
        let name = match quick.first_name() {
            Hint::Is(name) => name.as_ref(),
            Hint::Unsure => return true,
        };
        let celebrates = || {
            self.name_days
                .iter()
                .any(|d| self.namedays.celebrates(name, *d))
        };
        let shard = name.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        }) % SHARDS;
        let seen = || self.seen[shard].lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&known) = seen().get(name) {
            return known;
        }
        // Looked up without holding the shard.
        let answer = celebrates();
        let mut seen = seen();
        if seen.len() < SEEN_PER_SHARD {
            seen.insert(name.to_string(), answer);
        }
        answer
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
            tradition: None,
            extra: Default::default(),
        }
    }

    pub(super) fn occ(kind: OccasionKind) -> Occasion {
        Occasion {
            name: "x".into(),
            kind,
            template: "x".into(),
            segment: None,
            segment_at: (0, 0),
            gift: None,
            feast: None,
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
    fn the_days_of_a_year_are_the_days_due_on_finds() {
        use crate::feast::{Feast, Tradition};
        let namedays = Calendar::builtin();
        let mut customers = Vec::new();
        for (name, tradition) in [
            ("Γιώργος", Some(Tradition::Orthodox)),
            ("Αναστασία", Some(Tradition::Armenian)),
            ("Λάζαρος", Some(Tradition::Jewish)),
            ("James", Some(Tradition::Western)),
            ("Ραφαήλ", None),
        ] {
            let mut c = born(2, 29, Some(1992));
            c.first_name = name.into();
            c.tradition = tradition;
            c.customer_since = Some(d(2020, 12, 31));
            customers.push(c);
        }
        let mut occasions: Vec<Occasion> = [
            OccasionKind::Birthday,
            OccasionKind::Anniversary,
            OccasionKind::Nameday,
            OccasionKind::Campaign,
        ]
        .map(occ)
        .into();
        for f in Feast::ALL {
            let mut o = occ(OccasionKind::Holiday);
            o.feast = Some(f);
            occasions.push(o);
        }
        for (from, to) in [
            (d(2027, 1, 1), d(2027, 12, 31)),
            (d(2026, 12, 3), d(2027, 12, 2)),
            (d(2028, 1, 1), d(2028, 12, 31)),
        ] {
            for leap in [LeapDay::Feb28, LeapDay::Mar1] {
                for c in &customers {
                    for o in &occasions {
                        let every: Vec<NaiveDate> = from
                            .iter_days()
                            .take_while(|day| *day <= to)
                            .filter(|_| o.kind != OccasionKind::Campaign)
                            .filter(|day| due_on(o, c, *day, leap, &namedays).is_some())
                            .collect();
                        let days = days_in(o, c, (from, to), leap, &namedays);
                        assert_eq!(
                            days, every,
                            "{} {:?} {:?} {from}",
                            c.first_name, o.kind, o.feast
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn holidays_are_due_on_the_customers_own_day_keyed_by_it() {
        use crate::feast::{Feast, Tradition};
        let mut christmas = occ(OccasionKind::Holiday);
        christmas.feast = Some(Feast::Christmas);
        let mut c = born(1, 1, None);
        let cal = Calendar::builtin();
        c.tradition = Some(Tradition::Armenian);
        assert!(due_on(&christmas, &c, d(2026, 12, 25), LeapDay::Feb28, &cal).is_none());
        let due = due_on(&christmas, &c, d(2027, 1, 6), LeapDay::Feb28, &cal).unwrap();
        assert_eq!(due.occurrence, "2027-01-06");
        c.tradition = Some(Tradition::Western);
        let due = due_on(&christmas, &c, d(2026, 12, 25), LeapDay::Feb28, &cal).unwrap();
        assert_eq!(due.occurrence, "2026-12-25");
        c.tradition = Some(Tradition::Jewish);
        assert!(
            d(2026, 1, 1).iter_days().take(365).all(|day| due_on(
                &christmas,
                &c,
                day,
                LeapDay::Feb28,
                &cal
            )
            .is_none())
        );
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

#[cfg(test)]
mod pre_filter {
    //! `may_be_due` never says no to a row `due_on` finds due, and says the
    //! same as `due_on` for every row it can read.
    use super::tests::occ;
    use super::*;
    use crate::config::Config;
    use crate::customer::CustomerReader;
    use proptest::prelude::*;

    /// A date cell and, when it has one, its (month, day).
    type DateCell = (Vec<u8>, Option<(u32, u32)>);
    /// First name, birthday and customer_since cells.
    type Row = (Vec<u8>, DateCell, DateCell);

    /// A date cell as spreadsheets write them, right or wrong; with its
    /// (month, day) when it has one, to pick the days worth asking about.
    fn date_cell() -> impl Strategy<Value = DateCell> {
        let ymd = (1890i32..2031, 1u32..13, 1u32..32);
        let pad = prop::sample::select(vec!["", " ", "\u{200b}", "\u{feff}", "\u{a0}", "\u{2060}"]);
        (ymd, 0usize..14, pad.clone(), pad).prop_map(|((y, m, d), form, before, after)| {
            let yy = y.rem_euclid(100);
            let text = match form {
                0 => format!("{y}-{m:02}-{d:02}"),
                1 => format!("{d:02}/{m:02}/{y}"),
                2 => format!("{d}/{m}/{yy:02}"),
                3 => format!("{d:02}.{m:02}.{y}"),
                4 => format!("{d:02}.{m:02}."),
                5 => format!("--{m:02}-{d:02}"),
                6 => format!("{d}/{m}"),
                7 => format!("{y}-{m:02}-{d:02}T00:00:00+02:00"),
                8 => format!("{d:02}-{m:02}-{y}"),
                9 => String::new(),
                10 => "banana".to_string(),
                11 => format!("{d:02}/{m:02}\n{y}"),
                12 => return (vec![b'1', 0xff, b'/', b'3'], None),
                _ => format!("{m}/{d}/{y}"),
            };
            let bytes = format!("{before}{text}{after}").into_bytes();
            (bytes, Some((m, d)))
        })
    }

    /// A first name: calendar names as people write them, and others.
    fn first_name() -> impl Strategy<Value = Vec<u8>> {
        let names = prop::sample::select(vec![
            "Γιώργος",
            "ΓΙΩΡΓΟΣ",
            "Μαρία",
            "Κώστας",
            "Ελένη",
            "Δημήτρης",
            "Νίκος",
            "Άννα-Μαρία",
            "Γιάννης Μάριος",
            "Παρασκευή",
            "James",
            "Σταμάτης",
            "Θωμάς",
            "Λάζαρος",
            "Αναστασία",
            "Χαράλαμπος",
            "????",
            "",
            "דוד",
            "Արամ",
        ]);
        let pad = prop::sample::select(vec!["", " ", "\u{200b}", "\u{200f}", "\u{feff}", "\n"]);
        (names, pad.clone(), pad, any::<bool>()).prop_map(|(n, a, b, bad)| {
            if bad && n.is_empty() {
                return vec![0xce, b'x'];
            }
            format!("{a}{n}{b}").into_bytes()
        })
    }

    fn list(rows: &[Row]) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["id", "email", "first_name", "birthday", "customer_since"])
            .unwrap();
        for (i, (name, (born, _), (since, _))) in rows.iter().enumerate() {
            let id = format!("C{i}");
            let email = format!("c{i}@example.gr");
            w.write_record([id.as_bytes(), email.as_bytes(), name, born, since])
                .unwrap();
        }
        // A plain last row: a line break in the very last row reads as an unclosed quote.
        w.write_record(["last", "last@example.gr", "Last", "", ""])
            .unwrap();
        w.into_inner().unwrap()
    }

    fn config(order: &str, leap: &str) -> Config {
        let text = format!(
            "leap_day = \"{leap}\"\n[sender]\nname = \"S\"\nemail = \"s@example.gr\"\n[customers]\npath = \"c.csv\"\ndate_order = \"{order}\"\n[occasions.b]\nkind = \"birthday\"\n"
        );
        Config::parse(&text, std::path::Path::new("greet.toml")).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn leap_day_rows_pass_the_pre_filter_on_exactly_their_days_under_both_policies() {
        let rows: Vec<Row> = [
            ("29/02/1992", "2024-02-29"),
            ("--02-29", "29.02.2020"),
            ("1992-02-29", "29/02/2024"),
            ("\u{200b}29.02.\u{feff}", "2020-02-29"),
            ("28/02/1990", "2025-03-01"),
            ("01/03/1990", "2026-02-28"),
        ]
        .into_iter()
        .map(|(b, s)| {
            (
                "Ελένη".as_bytes().to_vec(),
                (b.as_bytes().to_vec(), None),
                (s.as_bytes().to_vec(), None),
            )
        })
        .collect();
        let kinds = [
            OccasionKind::Birthday,
            OccasionKind::Anniversary,
            OccasionKind::Nameday,
        ];
        for leap in ["feb28", "mar1"] {
            let config = config("dmy", leap);
            let reader = CustomerReader::from_reader(
                Box::new(std::io::Cursor::new(list(&rows))),
                "c.csv".into(),
                &config,
            )
            .unwrap();
            let (parser, raw) = reader.into_raw();
            let (mut due_days, mut passed) = (0, 0);
            for row in raw {
                let row = row.unwrap();
                let customer = parser.parse(&row, &mut Vec::new()).unwrap().unwrap();
                let quick = parser.quick(&row);
                for kind in kinds {
                    for day in d(2024, 1, 1).unwrap().iter_days().take(366 * 5) {
                        let due = due_on(
                            &occ(kind),
                            &customer,
                            day,
                            config.leap_day,
                            &config.namedays,
                        )
                        .is_some();
                        let may =
                            may_be_due(&occ(kind), &quick, day, config.leap_day, &config.namedays);
                        assert_eq!(may, due, "{leap}, line {}: {kind:?} on {day}", row.line);
                        due_days += usize::from(due);
                        passed += usize::from(may);
                    }
                }
            }
            // Every row is due on some days and not on the others.
            assert!(
                due_days > 0 && passed == due_days,
                "{leap}: {due_days} due, {passed} passed"
            );
        }
    }

    #[test]
    fn holiday_rows_pass_the_pre_filter_on_every_day_they_are_due() {
        use crate::feast::Feast;
        let csv = "email,first_name,language,tradition\n\
                   a@x.gr,A,el,\nb@x.am,B,hy,\nc@x.il,C,he,\nd@x.com,D,en,\n\
                   e@x.com,E,en,jewish\nf@x.il,F,he,ARMENIAN\ng@x.fr,G,fr,\nh@x.gr,H,,\n\
                   i@x.ru,I,ru,\u{200b} orthodox\nj@x.gr,J,\"el\n\",\nk@x.gr,K,EL-gr,\n\
                   l@x.ru,L,\u{feff}ru,\nm@x.gr,M,el,bogus\nn@x.gr,N,e1,\no@x.am,O,hy,\"jew\nish\"\n\
                   last@x.gr,Last,,\n";
        let config = Config::parse(
            "default_language = \"hy\"\n[sender]\nname = \"S\"\nemail = \"s@example.gr\"\n\
             [customers]\npath = \"c.csv\"\n[occasions.b]\nkind = \"birthday\"\n\
             [traditions]\nru = \"orthodox\"\nen = \"jewish\"\n",
            std::path::Path::new("greet.toml"),
        )
        .unwrap();
        let reader = CustomerReader::from_reader(
            Box::new(std::io::Cursor::new(csv.as_bytes().to_vec())),
            "c.csv".into(),
            &config,
        )
        .unwrap();
        let (parser, raw) = reader.into_raw();
        let mut unsure = 0;
        let mut due_days = 0;
        for row in raw {
            let row = row.unwrap();
            let quick = parser.quick(&row);
            unsure += usize::from(quick.tradition() == Hint::Unsure);
            let Ok(Some(customer)) = parser.parse(&row, &mut Vec::new()) else {
                continue;
            };
            for f in Feast::ALL {
                let mut o = occ(OccasionKind::Holiday);
                o.feast = Some(f);
                for day in d(2026, 1, 1).unwrap().iter_days().take(366 * 3) {
                    let due = due_on(&o, &customer, day, config.leap_day, &config.namedays);
                    let may = may_be_due(&o, &quick, day, config.leap_day, &config.namedays);
                    assert!(may || due.is_none(), "line {}: {f:?} on {day}", row.line);
                    // A row whose cells read cheaply is told exactly.
                    if quick.tradition() != Hint::Unsure {
                        assert_eq!(may, due.is_some(), "line {}: {f:?} on {day}", row.line);
                    }
                    due_days += usize::from(due.is_some());
                }
            }
        }
        // The rows with a line break in a cell, a bad language and a bad
        // tradition are left to the full parse.
        assert_eq!(unsure, 4);
        assert!(due_days > 9 * 3, "{due_days}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn the_pre_filter_passes_every_row_that_is_due_and_no_row_it_can_read_that_is_not(
            rows in prop::collection::vec((first_name(), date_cell(), date_cell()), 1..10),
            order in prop::sample::select(vec!["dmy", "mdy"]),
            leap in prop::sample::select(vec!["feb28", "mar1"]),
        ) {
            let config = config(order, leap);
            let namedays = &config.namedays;
            let reader = CustomerReader::from_reader(
                Box::new(std::io::Cursor::new(list(&rows))),
                "c.csv".into(),
                &config,
            )
            .unwrap();
            let (parser, raw) = reader.into_raw();
            // The days around 29 February in common and leap years, and each row's own days.
            let mut days: Vec<NaiveDate> = [2026, 2027, 2028]
                .into_iter()
                .flat_map(|y| [(1, 1), (2, 27), (2, 28), (2, 29), (3, 1), (3, 2), (12, 31)].map(|(m, dd)| d(y, m, dd)))
                .flatten()
                .collect();
            for (name, (_, born), (_, since)) in &rows {
                for (m, dd) in born.iter().chain(since).copied() {
                    for y in [2026, 2027, 2028] {
                        days.extend(d(y, m, dd));
                        days.extend(d(y, dd, m));
                    }
                }
                let name = String::from_utf8_lossy(name);
                for feast in namedays.feasts(name.trim()) {
                    days.extend([2026, 2027, 2028].map(|y| feast.date_in(y)));
                }
            }
            let kinds = [OccasionKind::Birthday, OccasionKind::Anniversary, OccasionKind::Nameday, OccasionKind::Campaign];
            for row in raw {
                let row = row.unwrap();
                let quick = parser.quick(&row);
                let Ok(Some(customer)) = parser.parse(&row, &mut Vec::new()) else {
                    continue;
                };
                for kind in kinds {
                    let unsure = match kind {
                        OccasionKind::Birthday => quick.birthday() == Hint::Unsure,
                        OccasionKind::Anniversary => quick.customer_since() == Hint::Unsure,
                        OccasionKind::Nameday => *quick.first_name() == Hint::Unsure,
                        OccasionKind::Campaign | OccasionKind::Holiday => false,
                    };
                    for &day in &days {
                        let due = due_on(&occ(kind), &customer, day, config.leap_day, namedays).is_some();
                        let may = may_be_due(&occ(kind), &quick, day, config.leap_day, namedays);
                        prop_assert!(may || !due, "line {}: {kind:?} due on {day} but filtered out", row.line);
                        prop_assert!(unsure || may == due, "line {}: {kind:?} on {day}: may {may}, due {due}", row.line);
                    }
                }
            }
        }

        #[test]
        fn the_run_filter_says_what_asking_every_target_says_with_names_seen_before(
            rows in prop::collection::vec((first_name(), date_cell(), date_cell()), 1..12),
            order in prop::sample::select(vec!["dmy", "mdy"]),
            leap in prop::sample::select(vec!["feb28", "mar1"]),
            days in prop::collection::vec((2026i32..2029, 1u32..13, 1u32..29), 1..4),
        ) {
            let config = config(order, leap);
            let namedays = &config.namedays;
            // Every row twice, so the second asks the remembered names.
            let mut twice = rows.clone();
            twice.extend(rows.iter().cloned());
            let reader = CustomerReader::from_reader(
                Box::new(std::io::Cursor::new(list(&twice))),
                "c.csv".into(),
                &config,
            )
            .unwrap();
            let (parser, raw) = reader.into_raw();
            let kinds = [OccasionKind::Birthday, OccasionKind::Anniversary, OccasionKind::Nameday];
            let occasions: Vec<Occasion> = kinds.iter().map(|k| occ(*k)).collect();
            let mut targets = Vec::new();
            for (i, (y, m, dd)) in days.iter().enumerate() {
                let day = d(*y, *m, *dd).unwrap();
                // Each day for one or all of the kinds, name days included.
                for o in occasions.iter().skip(i % 3) {
                    targets.push((o, day));
                }
            }
            // And the name days of the first rows' names: some rows are due.
            for (name, _, _) in rows.iter().take(2) {
                let name = String::from_utf8_lossy(name);
                for feast in namedays.feasts(name.trim()) {
                    targets.push((&occasions[2], feast.date_in(2027)));
                }
            }
            let filter = DayFilter::new(&targets, config.leap_day, namedays);
            for row in raw {
                let row = row.unwrap();
                let quick = parser.quick(&row);
                let each = targets
                    .iter()
                    .any(|(o, day)| may_be_due(o, &quick, *day, config.leap_day, namedays));
                prop_assert_eq!(filter.may_keep(&quick), each, "line {}", row.line);
            }
        }
    }
}
