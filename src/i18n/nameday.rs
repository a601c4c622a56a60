//! Greek Orthodox name days (ονομαστικές εορτές).
//!
//! A name's feast is a [`Feast`]: a fixed day, a day counted from Orthodox
//! Easter, or the St George / St Mark rule (a fixed day that moves to Easter
//! Monday when it falls in Lent or Holy Week). [`Calendar::builtin`] knows the
//! common Greek first names with their variants and diminutives (Greek script
//! only); the business owner can add or correct names with
//! [`Calendar::apply_overrides`].
//!
//! Matching ignores case, accents (tonos, dialytika, polytonic marks) and the
//! final-sigma form, so `Γιώργος`, `ΓΙΩΡΓΟΣ` and `Γιωργος` are the same name.
//!
//! # Choices where customs differ
//!
//! One date per name: the most widespread custom in Greece. The alternatives
//! are noted here and next to the entries, and any of them can be chosen per
//! business with an override.
//!
//! - St George (23 Apr) and St Mark (25 Apr): moved to Easter Monday when the
//!   date falls from Clean Monday up to and including Easter Sunday (see
//!   [`Feast::FixedUnlessBeforeEaster`]). St Mark also goes to Easter Monday,
//!   even in years when St George is moved there too (some calendars use
//!   Easter Tuesday for him then).
//! - Θεόδωρος, Θεοδώρα: Saturday of St Theodore, the first Saturday of Lent
//!   (Easter − 43), rather than 8 Feb (Stratelates) or 17 Feb (Tiron).
//! - Αναστάσιος (Τάσος, Ανέστης): Easter Sunday (alt. 22 Jan).
//!   Αναστασία: 22 Dec, St Anastasia the Deliverer from Potions (alt. Easter).
//! - Εμμανουήλ, Μανώλης, Εμμανουέλα: Christmas, 25 Dec (alt. 26 Dec).
//! - Σταμάτης, Σταματία: 16 Aug (St Stamatios); they do not share
//!   Ευστάθιος/Στάθης's 20 Sep, which is a different saint.
//! - Τριαντάφυλλος, Τριανταφυλλιά: 8 Aug, the neomartyr Triantafyllos
//!   (alt. Pentecost / Holy Spirit Monday).
//! - Φώτιος, Φώτης: Theophany, 6 Jan (alt. 6 Feb). Φωτεινή: 26 Feb (alt. 6 Jan).
//! - Ραφαήλ: Bright Tuesday (Easter + 2), Sts Raphael, Nicholas and Irene of
//!   Lesvos (alt. 8 Nov). Γαβριήλ: 8 Nov (alt. 26 Mar).
//! - Ιάκωβος: 23 Oct (alt. 30 Apr). Κοσμάς, Δαμιανός, Ανάργυρος: 1 Jul
//!   (alt. 1 Nov). Κυριάκος: 29 Sep (Κυριακή is 7 Jul). Ευφημία: 11 Jul
//!   (alt. 16 Sep). Άννα: 25 Jul (alt. 9 Dec). Διονύσιος: 3 Oct (alt. 17 Dec on
//!   Zakynthos). Γεράσιμος: 20 Oct (alt. 16 Aug). Χρυσή/Χρυσούλα: 13 Oct
//!   (alt. 25 Dec).
//! - Ιωσήφ, Δαβίδ: 26 Dec, a fixed stand-in for the Sunday after Christmas.
//! - Αλέξιος/Αλέξης: 17 Mar; Αλέκος and Αλεξία go with Αλέξανδρος/Αλεξάνδρα
//!   on 30 Aug. Μάριος: 15 Aug with Μαρία.
//! - Πηνελόπη: 5 May with Ειρήνη (St Irene's name before baptism).
//! - Αθηνά, Αντιγόνη: 1 Sep (start of the church year). Names with no saint
//!   of their own (Αριστοτέλης, Οδυσσέας, Αφροδίτη, Ηλέκτρα, Μυρτώ, Μελίνα):
//!   All Saints' Sunday (Easter + 56), by custom.
//! - A diminutive is listed once, under its most usual full name: Λίτσα →
//!   Ευαγγελία, Τάκης → Παναγιώτης, Κική → Κυριακή, Βίκυ → Βασιλική, Νατάσα →
//!   Αναστασία, Μίμης and Δήμος → Δημήτριος, Χάρης and Λάμπης → Χαράλαμπος,
//!   Εύα → Ευαγγελία. Truly ambiguous ones (Βούλα, Τούλα, Νίκη, Σάκης, Φάνης,
//!   Εύη, Βιβή, Ρία, Τίνα, Κούλα) are left out rather than guessed.
//! - A feast on 29 February is kept on 28 February in common years.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate};

/// Orthodox (Julian-computus) Easter Sunday as a Gregorian date.
///
/// Meeus' Julian algorithm, then the Julian → Gregorian offset of the year's
/// century (13 days for 1900–2099, 14 for 2100–2199, …). Tested for
/// 1900–2099; panics only outside chrono's date range.
pub fn orthodox_easter(year: i32) -> NaiveDate {
    let a = year.rem_euclid(4);
    let b = year.rem_euclid(7);
    let c = year.rem_euclid(19);
    let d = (19 * c + 15) % 30;
    let e = (2 * a + 4 * b - d + 34) % 7;
    let month = (d + e + 114) / 31;
    let day = (d + e + 114) % 31 + 1;
    // The Julian date, labelled as a Gregorian one, plus the calendars'
    // difference: valid because Easter is always after the end of February.
    let julian = NaiveDate::from_ymd_opt(year, month.unsigned_abs(), day.unsigned_abs())
        .expect("year within chrono's date range");
    let century = year.div_euclid(100);
    shift(julian, i64::from(century - century.div_euclid(4) - 2))
}

/// When a name's feast falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feast {
    /// A fixed day (month, day). 29 February falls on 28 February in common
    /// years.
    Fixed(u32, u32),
    /// Days relative to Orthodox Easter Sunday: −43 Saturday of St Theodore,
    /// −8 Lazarus Saturday, −7 Palm Sunday, 0 Easter, 1 Easter Monday,
    /// 5 Life-giving Spring, 7 Thomas Sunday, 49 Pentecost, 50 Holy Spirit
    /// Monday, 56 All Saints.
    Easter(i32),
    /// A fixed day (month, day) that gives way to Easter: if it falls before
    /// Easter Sunday during Lent or Holy Week (from Clean Monday, Easter − 48,
    /// onwards) or on Easter Sunday itself, the feast is celebrated on Easter
    /// Monday; otherwise on the fixed day. The rule for St George (23 April)
    /// and St Mark (25 April). A day before Clean Monday is never moved.
    FixedUnlessBeforeEaster(u32, u32),
}

impl Feast {
    /// The date this feast falls on in `year`.
    ///
    /// An impossible fixed day (say 31 April from a hand-made [`Feast`]) is
    /// clamped to the last day of the month.
    pub fn date_in(self, year: i32) -> NaiveDate {
        match self {
            Feast::Fixed(month, day) => fixed_date(year, month, day),
            Feast::Easter(offset) => shift(orthodox_easter(year), i64::from(offset)),
            Feast::FixedUnlessBeforeEaster(month, day) => {
                let fixed = fixed_date(year, month, day);
                let easter = orthodox_easter(year);
                let clean_monday = shift(easter, -48);
                if (clean_monday..=easter).contains(&fixed) {
                    shift(easter, 1)
                } else {
                    fixed
                }
            }
        }
    }

    /// Whether the feast falls on `date`. An Easter offset large enough to
    /// cross New Year is found in the neighbouring year's Easter too.
    pub fn falls_on(self, date: NaiveDate) -> bool {
        let year = date.year();
        match self {
            Feast::Easter(_) => [year - 1, year, year + 1]
                .into_iter()
                .any(|y| self.date_in(y) == date),
            _ => self.date_in(year) == date,
        }
    }
}

/// The matching form of a name: trimmed, lowercase, without Greek tonos,
/// dialytika or polytonic marks (precomposed or combining), final sigma
/// folded (ς → σ). `ΓΙΩΡΓΟΣ`, `Γιώργος` and `Γιωργος` all give `γιωργοσ`.
pub fn normalize(name: &str) -> String {
    name.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|&c| !is_combining_mark(c))
        .map(fold_greek)
        .collect()
}

fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// The base letter of an accented lowercase Greek letter (monotonic or
/// polytonic); other characters unchanged.
fn fold_greek(c: char) -> char {
    match c {
        '\u{03AC}' | '\u{1F00}'..='\u{1F07}' | '\u{1F70}' | '\u{1F71}' => 'α',
        '\u{1F80}'..='\u{1F87}' | '\u{1FB0}'..='\u{1FB7}' => 'α',
        '\u{03AD}' | '\u{1F10}'..='\u{1F15}' | '\u{1F72}' | '\u{1F73}' => 'ε',
        '\u{03AE}' | '\u{1F20}'..='\u{1F27}' | '\u{1F74}' | '\u{1F75}' => 'η',
        '\u{1F90}'..='\u{1F97}' | '\u{1FC2}'..='\u{1FC7}' => 'η',
        '\u{03AF}' | '\u{03CA}' | '\u{0390}' | '\u{1F30}'..='\u{1F37}' => 'ι',
        '\u{1F76}' | '\u{1F77}' | '\u{1FD0}'..='\u{1FD3}' | '\u{1FD6}' | '\u{1FD7}' => 'ι',
        '\u{03CC}' | '\u{1F40}'..='\u{1F45}' | '\u{1F78}' | '\u{1F79}' => 'ο',
        '\u{03CD}' | '\u{03CB}' | '\u{03B0}' | '\u{1F50}'..='\u{1F57}' => 'υ',
        '\u{1F7A}' | '\u{1F7B}' | '\u{1FE0}'..='\u{1FE3}' | '\u{1FE6}' | '\u{1FE7}' => 'υ',
        '\u{03CE}' | '\u{1F60}'..='\u{1F67}' | '\u{1F7C}' | '\u{1F7D}' => 'ω',
        '\u{1FA0}'..='\u{1FA7}' | '\u{1FF2}'..='\u{1FF7}' => 'ω',
        '\u{1FE4}' | '\u{1FE5}' => 'ρ',
        // Final and lunate sigma.
        '\u{03C2}' | '\u{03F2}' => 'σ',
        other => other,
    }
}

/// The lookup key of a (possibly compound) name: its parts normalized and
/// joined with `-`, so `Άννα Μαρία`, `Άννα-Μαρία` and `ΑΝΝΑ ΜΑΡΙΑ` agree.
fn key_of(name: &str) -> String {
    let mut key = String::new();
    for part in name.split(|c: char| !(c.is_alphabetic() || is_combining_mark(c))) {
        let part = normalize(part);
        if part.is_empty() {
            continue;
        }
        if !key.is_empty() {
            key.push('-');
        }
        key.push_str(&part);
    }
    key
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Index of the name's canonical form in `Calendar::canonical`.
    group: usize,
    feast: Feast,
    /// Set on its own by an override: a later override of the canonical
    /// name leaves it alone.
    pinned: bool,
}

/// A calendar: built-in entries plus owner overrides.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// Normalized spelling → its entry.
    entries: HashMap<String, Entry>,
    /// Canonical (display) name of each group.
    canonical: Vec<String>,
}

impl Calendar {
    /// The built-in calendar.
    pub fn builtin() -> Calendar {
        let mut calendar = Calendar {
            entries: HashMap::new(),
            canonical: Vec::with_capacity(NAME_DAYS.len()),
        };
        for &(feast, names) in NAME_DAYS {
            let group = calendar.canonical.len();
            let mut variants = names.split_whitespace();
            let Some(head) = variants.next() else {
                continue;
            };
            calendar.canonical.push(head.to_string());
            for name in std::iter::once(head).chain(variants) {
                calendar.entries.entry(key_of(name)).or_insert(Entry {
                    group,
                    feast,
                    pinned: false,
                });
            }
        }
        calendar
    }

    /// Add or replace a name (any variant spelling; accents/case ignored)
    /// with a feast.
    ///
    /// - A canonical name (`Αναστασία`) moves its whole group: every variant
    ///   and diminutive, except spellings given their own override.
    /// - Any other known spelling (`Λίτσα`) moves only that spelling, so an
    ///   ambiguous diminutive can be corrected without touching its group.
    /// - An unknown name becomes a new canonical name.
    ///
    /// A compound name (`Άννα-Μαρία`) is stored as a whole and then wins
    /// over its parts in [`Calendar::feasts`]. A name with no letters is
    /// ignored.
    pub fn set(&mut self, name: &str, feast: Feast) {
        let key = key_of(name);
        if key.is_empty() {
            return;
        }
        match self.entries.get(&key).map(|entry| entry.group) {
            Some(group) if key_of(&self.canonical[group]) == key => {
                for entry in self.entries.values_mut() {
                    if entry.group == group && !entry.pinned {
                        entry.feast = feast;
                    }
                }
            }
            Some(_) => {
                if let Some(entry) = self.entries.get_mut(&key) {
                    entry.feast = feast;
                    entry.pinned = true;
                }
            }
            None => {
                let group = self.canonical.len();
                self.canonical.push(name.trim().to_string());
                self.entries.insert(
                    key,
                    Entry {
                        group,
                        feast,
                        pinned: false,
                    },
                );
            }
        }
    }

    /// The feasts of a first name, matching case- and accent-insensitively
    /// with final sigma folded, in Greek script.
    ///
    /// A compound name (`Γιάννης-Μάριος`, `Άννα Μαρία`) gives the feasts of
    /// each part that has one, in order and without repeats — unless the
    /// compound itself was given a feast with [`Calendar::set`], which then
    /// is the only answer. Unknown names give an empty list. Pass the first
    /// name only: a surname that happens to be a first name (Ηλίας) would
    /// count as a part.
    pub fn feasts(&self, first_name: &str) -> Vec<Feast> {
        let key = key_of(first_name);
        if let Some(entry) = self.entries.get(&key) {
            return vec![entry.feast];
        }
        let mut feasts = Vec::new();
        for part in key.split('-') {
            if let Some(entry) = self.entries.get(part)
                && !feasts.contains(&entry.feast)
            {
                feasts.push(entry.feast);
            }
        }
        feasts
    }

    /// Whether any of the name's feasts falls on `date`.
    pub fn celebrates(&self, first_name: &str, date: NaiveDate) -> bool {
        self.feasts(first_name)
            .into_iter()
            .any(|feast| feast.falls_on(date))
    }

    /// The canonical form of a single name (`Κώστας` → `Κωνσταντίνος`), or of
    /// a compound name set as a whole; `None` if the name is unknown.
    pub fn canonical(&self, name: &str) -> Option<&str> {
        self.entries
            .get(&key_of(name))
            .map(|entry| self.canonical[entry.group].as_str())
    }

    /// Parse an owner's override CSV and apply it; returns how many names
    /// were set.
    ///
    /// One `name,date` row per line, split on the first comma, both fields
    /// trimmed (and unquoted if wrapped in `"`). `date` is `MM-DD` (fixed),
    /// `easter+N` / `easter-N` (N ≤ 365 days from Orthodox Easter) or
    /// `MM-DD/easter-monday` ([`Feast::FixedUnlessBeforeEaster`]). A first
    /// row `name,date` is a header and skipped, as are blank lines and lines
    /// starting with `#`. Each row goes through [`Calendar::set`].
    ///
    /// All or nothing: on a bad row nothing is applied and the error names
    /// the line and column (both 1-based; column 1 is the name, 2 the date),
    /// e.g. `line 3, column 2: "13-45" is not a date (MM-DD, easter+N or
    /// MM-DD/easter-monday)`.
    pub fn apply_overrides(&mut self, csv_text: &str) -> Result<usize, String> {
        let mut rows = Vec::new();
        let mut first_row = true;
        for (index, line) in csv_text.lines().enumerate() {
            let number = index + 1;
            let line = if index == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            }
            .trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, date)) = line.split_once(',') else {
                return Err(format!(
                    "line {number}, column 2: missing date (expected name,date)"
                ));
            };
            let (name, date) = (unquote(name), unquote(date));
            if std::mem::take(&mut first_row)
                && name.eq_ignore_ascii_case("name")
                && date.eq_ignore_ascii_case("date")
            {
                continue;
            }
            if key_of(name).is_empty() {
                return Err(format!("line {number}, column 1: {name:?} is not a name"));
            }
            let Some(feast) = parse_feast(date) else {
                return Err(format!(
                    "line {number}, column 2: {date:?} is not a date \
                     (MM-DD, easter+N or MM-DD/easter-monday)"
                ));
            };
            rows.push((name, feast));
        }
        let count = rows.len();
        for (name, feast) in rows {
            self.set(name, feast);
        }
        Ok(count)
    }

    /// How many distinct canonical names are in the calendar.
    pub fn len(&self) -> usize {
        self.canonical.len()
    }

    /// Whether the calendar has no names at all.
    pub fn is_empty(&self) -> bool {
        self.canonical.is_empty()
    }
}

/// The largest Easter offset an override may use.
const MAX_EASTER_OFFSET: i32 = 365;

fn unquote(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .map_or(field, str::trim)
}

/// `MM-DD`, `easter+N`, `easter-N` or `MM-DD/easter-monday`.
fn parse_feast(text: &str) -> Option<Feast> {
    let text = text.trim().to_ascii_lowercase();
    if let Some(rest) = text.strip_prefix("easter") {
        let (sign, digits) = if let Some(digits) = rest.strip_prefix('+') {
            (1, digits)
        } else if let Some(digits) = rest.strip_prefix('-') {
            (-1, digits)
        } else {
            return None;
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let offset: i32 = digits.parse().ok()?;
        return (offset <= MAX_EASTER_OFFSET).then_some(Feast::Easter(sign * offset));
    }
    if let Some((month_day, rule)) = text.split_once('/') {
        if rule.trim() != "easter-monday" {
            return None;
        }
        let (month, day) = parse_month_day(month_day.trim())?;
        return Some(Feast::FixedUnlessBeforeEaster(month, day));
    }
    let (month, day) = parse_month_day(&text)?;
    Some(Feast::Fixed(month, day))
}

/// `MM-DD` (one or two digits each) that exists in a leap year.
fn parse_month_day(text: &str) -> Option<(u32, u32)> {
    let (month, day) = text.split_once('-')?;
    let number = |field: &str| {
        let ok = (1..=2).contains(&field.len()) && field.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| field.parse::<u32>().ok()).flatten()
    };
    let (month, day) = (number(month)?, number(day)?);
    NaiveDate::from_ymd_opt(2000, month, day).map(|_| (month, day))
}

/// `date` moved by `days` (either direction).
fn shift(date: NaiveDate, days: i64) -> NaiveDate {
    let magnitude = Days::new(days.unsigned_abs());
    if days >= 0 {
        date.checked_add_days(magnitude)
    } else {
        date.checked_sub_days(magnitude)
    }
    .expect("date within chrono's date range")
}

/// The day `month`/`day` of `year`, clamped into the month (29 Feb → 28 Feb
/// in a common year).
fn fixed_date(year: i32, month: u32, day: u32) -> NaiveDate {
    let month = month.clamp(1, 12);
    (1..=day.clamp(1, 31))
        .rev()
        .find_map(|day| NaiveDate::from_ymd_opt(year, month, day))
        .expect("year within chrono's date range")
}

const fn fixed(month: u32, day: u32) -> Feast {
    Feast::Fixed(month, day)
}

const fn easter(offset: i32) -> Feast {
    Feast::Easter(offset)
}

const ST_GEORGE: Feast = Feast::FixedUnlessBeforeEaster(4, 23);
const ST_MARK: Feast = Feast::FixedUnlessBeforeEaster(4, 25);

/// The built-in name days: one row per canonical name, the canonical
/// (official) form first, then its variants and diminutives, space-separated.
/// Male and female forms are separate names. Each spelling appears once in
/// the whole table (after normalization).
const NAME_DAYS: &[(Feast, &str)] = &[
    // ── Moveable feasts: days from Orthodox Easter Sunday ──
    // Saturday of St Theodore, first Saturday of Lent (alt. 8 Feb, 17 Feb).
    (easter(-43), "Θεόδωρος Θοδωρής Θόδωρος Θοδωράκης"),
    (easter(-43), "Θεοδώρα Θοδώρα Δώρα Ντόρα Θεοδωρούλα"),
    // Lazarus Saturday, Palm Sunday.
    (easter(-8), "Λάζαρος Λαζαράκης"),
    (easter(-8), "Λαζαρία Λαζαρίνα"),
    (easter(-7), "Βάιος Βάγιος"),
    (easter(-7), "Βάια Βάγια"),
    // Easter Sunday (Αναστάσιος alt. 22 Jan).
    (easter(0), "Αναστάσιος Αναστάσης Τάσος Τασάκης Ανέστης"),
    (easter(0), "Λάμπρος Λαμπράκης"),
    (easter(0), "Λαμπρινή Λαμπρινούλα"),
    (easter(0), "Πασχάλης Πάσχος"),
    (easter(0), "Πασχαλιά Πασχαλίνα"),
    // Bright Tuesday: Sts Raphael, Nicholas and Irene of Lesvos (alt. 8 Nov).
    (easter(2), "Ραφαήλ"),
    (easter(2), "Ραφαέλα Ραφαηλία"),
    // Bright Friday: Life-giving Spring (Ζωοδόχος Πηγή).
    (easter(5), "Ζωή Ζωίτσα Ζωήτσα"),
    (easter(5), "Πηγή"),
    (easter(5), "Ζήσης"),
    // Thomas Sunday.
    (easter(7), "Θωμάς"),
    // All Saints' Sunday: by custom, names without a saint of their own.
    (easter(56), "Αριστοτέλης"),
    (easter(56), "Οδυσσέας"),
    (easter(56), "Αφροδίτη"),
    (easter(56), "Ηλέκτρα"),
    (easter(56), "Μυρτώ"),
    (easter(56), "Μελίνα"),
    // ── St George and St Mark: Easter Monday if in Lent or Holy Week ──
    (
        ST_GEORGE,
        "Γεώργιος Γιώργος Γιώργης Γιωργάκης Γιώρης Τζώρτζης",
    ),
    (ST_GEORGE, "Γεωργία Γιωργία Γωγώ Γεωργούλα Γιωργούλα"),
    (ST_MARK, "Μάρκος"),
    // ── January ──
    (fixed(1, 1), "Βασίλειος Βασίλης Βασιλάκης Βάσος"),
    (fixed(1, 1), "Βασιλική Βάσω Βασούλα Βασιλικούλα Βίκυ"),
    // Theophany (Φώτιος alt. 6 Feb).
    (fixed(1, 6), "Φώτιος Φώτης Φωτάκης"),
    (fixed(1, 6), "Θεοφάνης"),
    (fixed(1, 6), "Ιορδάνης"),
    (fixed(1, 6), "Ουρανία Ράνια"),
    (
        fixed(1, 7),
        "Ιωάννης Γιάννης Γιαννάκης Γιάγκος Γιάννος Γιαννούλης Ζαν",
    ),
    (fixed(1, 7), "Ιωάννα Γιάννα Γιαννούλα Τζοάννα Ζανέτ"),
    (fixed(1, 7), "Πρόδρομος"),
    (fixed(1, 11), "Θεοδόσιος Θεοδόσης"),
    (fixed(1, 12), "Τατιάνα Τατιανή"),
    (fixed(1, 17), "Αντώνιος Αντώνης Αντωνάκης"),
    (fixed(1, 17), "Αντωνία Τόνια Αντωνούλα"),
    (fixed(1, 18), "Αθανάσιος Θανάσης Νάσος Θάνος Θανασάκης"),
    (fixed(1, 18), "Αθανασία Νάσια"),
    (fixed(1, 18), "Κύριλλος"),
    (fixed(1, 20), "Ευθύμιος Ευθύμης Θύμιος"),
    (fixed(1, 20), "Ευθυμία"),
    (fixed(1, 21), "Μάξιμος"),
    (fixed(1, 21), "Νεόφυτος"),
    (fixed(1, 21), "Αγνή"),
    (fixed(1, 22), "Τιμόθεος Τίμος"),
    (fixed(1, 24), "Ξένη Ξένια Ξενούλα"),
    (fixed(1, 25), "Γρηγόριος Γρηγόρης Γληγόρης Γρηγοράκης"),
    (fixed(1, 25), "Γρηγορία"),
    (fixed(1, 26), "Ξενοφών Ξενοφώντας"),
    // ── February ──
    (fixed(2, 1), "Τρύφων Τρύφωνας"),
    (fixed(2, 3), "Συμεών Σίμος"),
    (fixed(2, 5), "Αγάθη"),
    (fixed(2, 10), "Χαράλαμπος Χαράλαμπης Χάρης Μπάμπης Λάμπης"),
    (fixed(2, 10), "Χαραλαμπία Χαρούλα"),
    (fixed(2, 11), "Βλάσιος Βλάσης"),
    (fixed(2, 12), "Μελέτιος Μελέτης"),
    (fixed(2, 19), "Φιλοθέη"),
    (fixed(2, 23), "Πολύκαρπος"),
    // St Photini the Samaritan woman (alt. 6 Jan).
    (fixed(2, 26), "Φωτεινή Φωτινή Φωτούλα"),
    // St John Cassian: 28 Feb in common years.
    (fixed(2, 29), "Κασσιανός Κασιανός"),
    // ── March ──
    (fixed(3, 1), "Ευδοκία"),
    (fixed(3, 16), "Χριστόδουλος"),
    (fixed(3, 17), "Αλέξιος Αλέξης"),
    (fixed(3, 19), "Χρύσανθος"),
    (fixed(3, 25), "Ευάγγελος Βαγγέλης Βάγγος Βαγγελάκης"),
    (fixed(3, 25), "Ευαγγελία Βαγγελιώ Βαγγελίτσα Λίτσα Εύα"),
    // ── April ──
    (fixed(4, 15), "Λεωνίδας"),
    (fixed(4, 24), "Ελισάβετ Ελίζα Λίζα"),
    (fixed(4, 29), "Ιάσων Ιάσονας"),
    // ── May ──
    (fixed(5, 1), "Ιερεμίας"),
    (fixed(5, 5), "Ειρήνη Ρένα Ρένια Ειρηνούλα"),
    // St Irene's name before baptism.
    (fixed(5, 5), "Πηνελόπη Πένυ"),
    (fixed(5, 9), "Χριστόφορος"),
    (fixed(5, 13), "Γλυκερία"),
    (fixed(5, 15), "Αχίλλειος Αχιλλέας Αχιλλεύς"),
    (
        fixed(5, 21),
        "Κωνσταντίνος Κώστας Κώστης Ντίνος Κωστάκης Κωνσταντής Κώτσος",
    ),
    (fixed(5, 21), "Κωνσταντίνα Κωνσταντία Ντίνα Κωστούλα"),
    (fixed(5, 21), "Ελένη Έλενα Λένα Ελενίτσα Ελενούλα Λενιώ"),
    // ── June ──
    (fixed(6, 4), "Μάρθα"),
    (fixed(6, 8), "Καλλιόπη Πόπη"),
    (fixed(6, 11), "Βαρθολομαίος"),
    (fixed(6, 11), "Βαρνάβας"),
    (fixed(6, 29), "Πέτρος Πετράκης"),
    (fixed(6, 29), "Πέτρα Πετρούλα"),
    (fixed(6, 29), "Παύλος Παυλάκης"),
    (fixed(6, 29), "Παυλίνα Πωλίνα Παύλα"),
    (fixed(6, 30), "Απόστολος Αποστόλης Τόλης"),
    (fixed(6, 30), "Αποστολία"),
    // ── July ──
    // Holy Unmercenaries (alt. 1 Nov).
    (fixed(7, 1), "Κοσμάς"),
    (fixed(7, 1), "Δαμιανός"),
    (fixed(7, 1), "Ανάργυρος"),
    (fixed(7, 1), "Αργυρώ"),
    (fixed(7, 7), "Κυριακή Κυριακούλα Κική"),
    (fixed(7, 8), "Προκόπιος Προκόπης"),
    // Miracle of St Euphemia (alt. 16 Sep).
    (fixed(7, 11), "Ευφημία Έφη"),
    (fixed(7, 11), "Όλγα"),
    (fixed(7, 17), "Μαρίνα Μαρινούλα Μαρινέλλα"),
    // St Marina is St Margaret in the West.
    (fixed(7, 17), "Μαργαρίτα"),
    (fixed(7, 19), "Μακρίνα"),
    (fixed(7, 20), "Ηλίας Λιάς"),
    (fixed(7, 20), "Ηλιάνα Ηλιάννα"),
    (fixed(7, 22), "Μαγδαληνή Μαγδαλινή Μάγδα"),
    (fixed(7, 22), "Μαρκέλλα Μαρκέλα"),
    (fixed(7, 24), "Χριστίνα"),
    // Dormition of St Anna (alt. 9 Dec).
    (fixed(7, 25), "Άννα Αννούλα Ανέτα Αννέτα"),
    (fixed(7, 25), "Ολυμπία Ολυμπιάς"),
    (fixed(7, 26), "Παρασκευή Παρασκευούλα"),
    (fixed(7, 26), "Παρασκευάς"),
    (
        fixed(7, 27),
        "Παντελεήμων Παντελεήμονας Παντελής Παντελάκης",
    ),
    // ── August ──
    (fixed(8, 6), "Σωτήριος Σωτήρης Σωτηράκης"),
    (fixed(8, 6), "Σωτηρία Σωτηρούλα"),
    // Neomartyr Triantafyllos (alt. Pentecost / Holy Spirit Monday).
    (fixed(8, 8), "Τριαντάφυλλος"),
    (fixed(8, 8), "Τριανταφυλλιά"),
    (
        fixed(8, 15),
        "Μαρία Μαρίκα Μαίρη Μαράκι Μαρίτσα Μαριώ Μάρω Μαρούλα Μαριέτα Μαριγώ Μαριάννα Μαριλένα Μαριάνθη",
    ),
    (fixed(8, 15), "Μάριος"),
    (fixed(8, 15), "Παναγιώτης Πάνος Παναγής Τάκης Νότης"),
    (fixed(8, 15), "Παναγιώτα Γιώτα Νότα Γιωτούλα"),
    (fixed(8, 15), "Δέσποινα Δέσπω"),
    // St Stamatios (not Ευστάθιος's 20 Sep).
    (fixed(8, 16), "Σταμάτιος Σταμάτης"),
    (fixed(8, 16), "Σταματία Σταματούλα"),
    (fixed(8, 25), "Τίτος"),
    (fixed(8, 26), "Αδριανός"),
    (fixed(8, 26), "Ναταλία"),
    (fixed(8, 27), "Φανούριος Φανούρης"),
    (fixed(8, 27), "Φανουρία"),
    (fixed(8, 30), "Αλέξανδρος Αλέκος"),
    (fixed(8, 30), "Αλεξάνδρα Αλεξία"),
    // ── September ──
    // Start of the church year (Ινδίκτος).
    (fixed(9, 1), "Αθηνά"),
    (fixed(9, 1), "Αντιγόνη"),
    (fixed(9, 4), "Ερμιόνη"),
    (fixed(9, 5), "Ζαχαρίας"),
    (fixed(9, 9), "Ιωακείμ Ιωακίμ"),
    (fixed(9, 11), "Ευανθία"),
    (fixed(9, 13), "Αριστείδης"),
    (fixed(9, 14), "Σταύρος Σταυράκης"),
    (fixed(9, 14), "Σταυρούλα Σταυριανή"),
    (fixed(9, 15), "Νικήτας"),
    (fixed(9, 17), "Σοφία Σοφούλα"),
    (fixed(9, 17), "Αγάπη"),
    (fixed(9, 17), "Ελπίδα Ελπίς"),
    (fixed(9, 17), "Πίστη"),
    (fixed(9, 18), "Αριάδνη"),
    (fixed(9, 20), "Ευστάθιος Ευστάθης Στάθης"),
    (fixed(9, 20), "Ευσταθία"),
    (fixed(9, 23), "Πολυξένη Πόλυ"),
    (fixed(9, 23), "Ξανθίππη Ξανθή"),
    (fixed(9, 24), "Θέκλα"),
    (fixed(9, 25), "Ευφροσύνη Φροσύνη Φρόσω"),
    (fixed(9, 29), "Κυριάκος"),
    // ── October ──
    (fixed(10, 1), "Ρωμανός"),
    // St Dionysios the Areopagite (alt. 17 Dec on Zakynthos).
    (fixed(10, 3), "Διονύσιος Διονύσης"),
    (fixed(10, 3), "Διονυσία"),
    (fixed(10, 4), "Ιερόθεος"),
    (fixed(10, 5), "Χαριτίνη"),
    (fixed(10, 7), "Σέργιος"),
    (fixed(10, 8), "Πελαγία"),
    // St Chryse the neomartyr (alt. 25 Dec).
    (fixed(10, 13), "Χρυσή Χρυσούλα Χρύσα"),
    (fixed(10, 18), "Λουκάς"),
    (fixed(10, 19), "Κλεοπάτρα"),
    (fixed(10, 20), "Αρτέμιος Αρτέμης"),
    (fixed(10, 20), "Άρτεμις Αρτεμισία"),
    // St Gerasimos of Kefalonia, translation of relics (alt. 16 Aug).
    (fixed(10, 20), "Γεράσιμος"),
    // St James the Brother of the Lord (alt. 30 Apr).
    (fixed(10, 23), "Ιάκωβος Γιάκουμος"),
    (
        fixed(10, 26),
        "Δημήτριος Δημήτρης Μήτσος Δημητράκης Μίμης Δήμος",
    ),
    (fixed(10, 26), "Δήμητρα Δημητρούλα Μιμή"),
    (fixed(10, 27), "Νέστορας Νέστωρ"),
    // ── November ──
    // Synaxis of the Archangels (Γαβριήλ alt. 26 Mar).
    (fixed(11, 8), "Μιχαήλ Μιχάλης Μιχαλάκης"),
    (fixed(11, 8), "Μιχαέλα Μιχαλία"),
    (fixed(11, 8), "Άγγελος Αγγελάκης"),
    (fixed(11, 8), "Αγγελική Αγγέλα Αγγελίνα Αγγελικούλα"),
    (fixed(11, 8), "Γαβριήλ"),
    (fixed(11, 8), "Γαβριέλα Γαβριέλλα"),
    (fixed(11, 8), "Ταξιάρχης"),
    (fixed(11, 9), "Νεκτάριος"),
    (fixed(11, 9), "Νεκταρία"),
    (fixed(11, 10), "Ορέστης"),
    (fixed(11, 11), "Μηνάς"),
    (fixed(11, 11), "Βίκτωρ Βίκτωρας Βίκτορας"),
    (fixed(11, 11), "Βικτώρια Βικτόρια"),
    (fixed(11, 13), "Χρυσόστομος"),
    (fixed(11, 14), "Φίλιππος"),
    (fixed(11, 16), "Ματθαίος"),
    (fixed(11, 18), "Πλάτων Πλάτωνας"),
    (fixed(11, 25), "Αικατερίνη Κατερίνα Κατίνα Κάτια Κατερινιώ"),
    (fixed(11, 25), "Μερκούριος Μερκούρης"),
    (fixed(11, 26), "Στυλιανός Στέλιος Στελάκης"),
    (fixed(11, 26), "Στυλιανή Στέλλα Στέλα Στελίτσα"),
    (fixed(11, 30), "Ανδρέας Αντρέας"),
    // ── December ──
    (fixed(12, 4), "Βαρβάρα"),
    (fixed(12, 5), "Σάββας"),
    (fixed(12, 6), "Νικόλαος Νίκος Νικολής Νικόλας Νικολάκης"),
    (fixed(12, 6), "Νικολέτα Νικολέττα Νικόλ Νικολίνα"),
    (fixed(12, 12), "Σπυρίδων Σπυρίδωνας Σπύρος Σπυράκης"),
    (fixed(12, 12), "Σπυριδούλα Σπυρούλα"),
    (fixed(12, 13), "Ευστράτιος Στρατής Στράτος"),
    (fixed(12, 13), "Λουκία"),
    (fixed(12, 15), "Ελευθέριος Λευτέρης Λευτεράκης"),
    (fixed(12, 15), "Ελευθερία Λευτερία"),
    (fixed(12, 15), "Ανθή Ανθούλα"),
    (fixed(12, 17), "Δανιήλ"),
    (fixed(12, 17), "Δανιέλα Ντανιέλα"),
    (fixed(12, 20), "Ιγνάτιος"),
    (fixed(12, 21), "Θεμιστοκλής Θέμης"),
    // St Anastasia the Deliverer from Potions (alt. Easter Sunday).
    (fixed(12, 22), "Αναστασία Τασούλα Τασία Νατάσα Νατάσσα"),
    (fixed(12, 24), "Ευγενία Τζένη"),
    (fixed(12, 24), "Ευγένιος"),
    (fixed(12, 25), "Χρήστος Χρίστος Χρηστάκης"),
    // Christmas: Emmanuel (alt. 26 Dec).
    (
        fixed(12, 25),
        "Εμμανουήλ Μανώλης Μανόλης Μάνος Μανούσος Μανωλάκης",
    ),
    (fixed(12, 25), "Εμμανουέλα Εμμανουέλλα Μανουέλα"),
    // Fixed stand-in for the Sunday after Christmas.
    (fixed(12, 26), "Ιωσήφ Σήφης"),
    (fixed(12, 26), "Δαβίδ Δαυίδ"),
    (fixed(12, 27), "Στέφανος Στεφανής Στεφανάκης"),
    (fixed(12, 27), "Στεφανία Στεφανή"),
];

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use super::*;

    fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    /// Orthodox Easter as the Church of Greece publishes it (year, month, day).
    pub(crate) const PUBLISHED_ORTHODOX_EASTER: [(i32, u32, u32); 16] = [
        (2020, 4, 19),
        (2021, 5, 2),
        (2022, 4, 24),
        (2023, 4, 16),
        (2024, 5, 5),
        (2025, 4, 20),
        (2026, 4, 12),
        (2027, 5, 2),
        (2028, 4, 16),
        (2029, 4, 8),
        (2030, 4, 28),
        (2031, 4, 13),
        (2032, 5, 2),
        (2033, 4, 24),
        (2034, 4, 9),
        (2035, 4, 29),
    ];

    #[test]
    fn orthodox_easter_2020_to_2035() {
        let published = PUBLISHED_ORTHODOX_EASTER;
        for (year, month, day) in published {
            assert_eq!(orthodox_easter(year), ymd(year, month, day), "{year}");
        }
    }

    #[test]
    fn orthodox_easter_is_a_sunday_in_its_window_1900_to_2099() {
        for year in 1900..=2099 {
            let easter = orthodox_easter(year);
            assert_eq!(easter.weekday(), chrono::Weekday::Sun, "{year}");
            // Julian 22 March … 25 April, plus 13 days.
            assert!(
                (ymd(year, 4, 4)..=ymd(year, 5, 8)).contains(&easter),
                "{year}: {easter}"
            );
        }
        assert_eq!(orthodox_easter(2000), ymd(2000, 4, 30));
        assert_eq!(orthodox_easter(2017), ymd(2017, 4, 16));
        assert_eq!(orthodox_easter(2019), ymd(2019, 4, 28));
    }

    #[test]
    fn st_george_moves_to_easter_monday_in_lent_or_holy_week() {
        let cases = [
            (2025, ymd(2025, 4, 23)), // Easter 20 Apr, before the feast
            (2027, ymd(2027, 5, 3)),  // Easter 2 May: Easter Monday
            (2022, ymd(2022, 4, 25)), // 23 Apr is Holy Saturday
            (2026, ymd(2026, 4, 23)), // Easter 12 Apr
            (2021, ymd(2021, 5, 3)),  // Easter 2 May
            (2024, ymd(2024, 5, 6)),  // Easter 5 May
        ];
        for (year, expected) in cases {
            assert_eq!(ST_GEORGE.date_in(year), expected, "{year}");
        }
        // Easter Sunday itself on 23 April (2006): the boundary is inclusive.
        assert_eq!(orthodox_easter(2006), ymd(2006, 4, 23));
        assert_eq!(ST_GEORGE.date_in(2006), ymd(2006, 4, 24));
    }

    #[test]
    fn st_mark_moves_the_same_way() {
        let cases = [
            (2025, ymd(2025, 4, 25)),
            (2026, ymd(2026, 4, 25)),
            (2027, ymd(2027, 5, 3)),
            (2024, ymd(2024, 5, 6)),
            (2030, ymd(2030, 4, 29)), // Easter 28 Apr
            (2022, ymd(2022, 4, 25)), // Easter 24 Apr: 25 Apr is after it
        ];
        for (year, expected) in cases {
            assert_eq!(ST_MARK.date_in(year), expected, "{year}");
        }
        let calendar = Calendar::builtin();
        assert!(calendar.celebrates("Μάρκος", ymd(2027, 5, 3)));
        assert!(!calendar.celebrates("Μάρκος", ymd(2027, 4, 25)));
    }

    #[test]
    fn a_fixed_day_before_lent_never_moves() {
        let feast = Feast::FixedUnlessBeforeEaster(1, 7);
        assert_eq!(feast.date_in(2025), ymd(2025, 1, 7));
        // Clean Monday 2025 is 3 March: from then on it moves.
        assert_eq!(
            Feast::FixedUnlessBeforeEaster(3, 3).date_in(2025),
            ymd(2025, 4, 21)
        );
        assert_eq!(
            Feast::FixedUnlessBeforeEaster(3, 2).date_in(2025),
            ymd(2025, 3, 2)
        );
    }

    #[test]
    fn moveable_feasts_follow_easter() {
        let calendar = Calendar::builtin();
        // (name, 2025 date, 2027 date); Easter 2025-04-20, 2027-05-02.
        let cases = [
            ("Λάζαρος", ymd(2025, 4, 12), ymd(2027, 4, 24)), // Lazarus Saturday
            ("Βάιος", ymd(2025, 4, 13), ymd(2027, 4, 25)),   // Palm Sunday
            ("Λάμπρος", ymd(2025, 4, 20), ymd(2027, 5, 2)),  // Easter
            ("Ραφαήλ", ymd(2025, 4, 22), ymd(2027, 5, 4)),   // Bright Tuesday
            ("Ζωή", ymd(2025, 4, 25), ymd(2027, 5, 7)),      // Life-giving Spring
            ("Θωμάς", ymd(2025, 4, 27), ymd(2027, 5, 9)),    // Thomas Sunday
            ("Θεόδωρος", ymd(2025, 3, 8), ymd(2027, 3, 20)), // St Theodore
            ("Οδυσσέας", ymd(2025, 6, 15), ymd(2027, 6, 27)), // All Saints
        ];
        for (name, in_2025, in_2027) in cases {
            assert!(calendar.celebrates(name, in_2025), "{name} {in_2025}");
            assert!(calendar.celebrates(name, in_2027), "{name} {in_2027}");
            assert!(!calendar.celebrates(name, in_2025.with_year(2027).unwrap()));
        }
        assert_eq!(
            Feast::Easter(-8).date_in(2025).weekday(),
            chrono::Weekday::Sat
        );
        assert_eq!(
            Feast::Easter(5).date_in(2027).weekday(),
            chrono::Weekday::Fri
        );
    }

    #[test]
    fn an_easter_offset_across_new_year_is_found() {
        // Easter 2025 is 20 April; 110 days earlier is 31 Dec 2024.
        let feast = Feast::Easter(-110);
        assert!(feast.falls_on(ymd(2024, 12, 31)));
        assert!(!feast.falls_on(ymd(2025, 12, 31)));
    }

    #[test]
    fn february_29_falls_on_the_28th_in_common_years() {
        let calendar = Calendar::builtin();
        assert!(calendar.celebrates("Κασσιανός", ymd(2024, 2, 29)));
        assert!(!calendar.celebrates("Κασσιανός", ymd(2024, 2, 28)));
        assert!(calendar.celebrates("Κασσιανός", ymd(2025, 2, 28)));
        assert_eq!(Feast::Fixed(4, 31).date_in(2025), ymd(2025, 4, 30));
    }

    #[test]
    fn normalize_folds_case_accents_and_final_sigma() {
        let expected = "γιωργοσ";
        for spelling in [
            "Γιώργος",
            "ΓΙΩΡΓΟΣ",
            "Γιωργος",
            "γιώργοσ",
            "  Γιώργος ",
            "Γιω\u{301}ργος", // combining acute (NFD)
            "Γι\u{1F7D}ργος", // polytonic ώ with oxia
            "Γι\u{1F7C}ργος", // polytonic ὼ with varia
            "ΓΙΏΡΓΟΣ",
        ] {
            assert_eq!(normalize(spelling), expected, "{spelling:?}");
        }
        assert_eq!(normalize("Ευφροσύνη"), "ευφροσυνη");
        assert_eq!(normalize("Θωμαΐς"), "θωμαισ");
        assert_eq!(normalize("ΪΫ"), "ιυ");
        assert_eq!(normalize("Ἀθανάσιος"), "αθανασιοσ");
    }

    #[test]
    fn george_matches_in_any_spelling() {
        let calendar = Calendar::builtin();
        let day = ymd(2025, 4, 23);
        for name in [
            "Γιώργος",
            "ΓΙΩΡΓΟΣ",
            "Γιωργος",
            "Γεώργιος",
            "Γιωργής",
            "Γιώργης",
            "Γεωργία",
            "Γωγώ",
        ] {
            assert!(calendar.celebrates(name, day), "{name}");
            assert!(!calendar.celebrates(name, ymd(2025, 4, 24)), "{name}");
        }
        assert!(calendar.celebrates("Γιώργος", ymd(2027, 5, 3)));
        assert_eq!(calendar.canonical("Γιωργάκης"), Some("Γεώργιος"));
        assert_eq!(calendar.canonical("Κώστας"), Some("Κωνσταντίνος"));
        assert_eq!(calendar.canonical("Τζέσικα"), None);
    }

    #[test]
    fn compound_names_celebrate_on_every_part() {
        let calendar = Calendar::builtin();
        assert!(calendar.celebrates("Γιάννης-Μάριος", ymd(2026, 1, 7)));
        assert!(calendar.celebrates("Γιάννης-Μάριος", ymd(2026, 8, 15)));
        assert!(!calendar.celebrates("Γιάννης-Μάριος", ymd(2026, 1, 8)));
        assert_eq!(
            calendar.feasts("Άννα Μαρία"),
            vec![Feast::Fixed(7, 25), Feast::Fixed(8, 15)]
        );
        assert_eq!(calendar.feasts("ΑΝΝΑ-ΜΑΡΙΑ"), calendar.feasts("Άννα Μαρία"));
        // Same feast twice is listed once; unknown parts are skipped.
        assert_eq!(calendar.feasts("Μαρία Δέσποινα"), vec![Feast::Fixed(8, 15)]);
        assert_eq!(calendar.feasts("Τζέσικα-Μαρία"), vec![Feast::Fixed(8, 15)]);
        assert!(calendar.feasts("Τζέσικα").is_empty());
        assert!(calendar.feasts("").is_empty());
        assert!(calendar.feasts(" - ").is_empty());
    }

    #[test]
    fn may_21_2027_constantine_and_helen() {
        let calendar = Calendar::builtin();
        let day = ymd(2027, 5, 21);
        for name in [
            "Κωνσταντίνος",
            "Κώστας",
            "Ντίνα",
            "Ελένη",
            "Λένα",
            "ΚΩΣΤΗΣ",
            "Έλενα",
        ] {
            assert!(calendar.celebrates(name, day), "{name}");
        }
        for name in ["Γιώργος", "Μαρία", "Νίκος"] {
            assert!(!calendar.celebrates(name, day), "{name}");
        }
    }

    #[test]
    fn builtin_names_and_documented_choices() {
        let calendar = Calendar::builtin();
        assert!(calendar.len() >= 150, "{}", calendar.len());
        assert!(!calendar.is_empty());
        let year = 2026;
        let cases = [
            ("Γιάννης", ymd(year, 1, 7)),
            ("Ζαν", ymd(year, 1, 7)),
            ("Βάσω", ymd(year, 1, 1)),
            ("Φώτης", ymd(year, 1, 6)),
            ("Φωτεινή", ymd(year, 2, 26)),
            ("Αθανασία", ymd(year, 1, 18)),
            ("Τόνια", ymd(year, 1, 17)),
            ("Χάρης", ymd(year, 2, 10)),
            ("Λίτσα", ymd(year, 3, 25)),
            ("Ειρήνη", ymd(year, 5, 5)),
            ("Πωλίνα", ymd(year, 6, 29)),
            ("Αποστόλης", ymd(year, 6, 30)),
            ("Λιάς", ymd(year, 7, 20)),
            ("Χριστίνα", ymd(year, 7, 24)),
            ("Άννα", ymd(year, 7, 25)),
            ("Τριανταφυλλιά", ymd(year, 8, 8)),
            ("Μαράκι", ymd(year, 8, 15)),
            ("Πάνος", ymd(year, 8, 15)),
            ("Σταμάτης", ymd(year, 8, 16)),
            ("Αλεξία", ymd(year, 8, 30)),
            ("Σοφία", ymd(year, 9, 17)),
            ("Στάθης", ymd(year, 9, 20)),
            ("Μιμή", ymd(year, 10, 26)),
            ("Ταξιάρχης", ymd(year, 11, 8)),
            ("Κατίνα", ymd(year, 11, 25)),
            ("Στέλλα", ymd(year, 11, 26)),
            ("Νικόλ", ymd(year, 12, 6)),
            ("Σπυριδούλα", ymd(year, 12, 12)),
            ("Λευτέρης", ymd(year, 12, 15)),
            ("Τασούλα", ymd(year, 12, 22)),
            ("Τάσος", orthodox_easter(year)),
            ("Χρήστος", ymd(year, 12, 25)),
            ("Μανώλης", ymd(year, 12, 25)),
            ("Στεφανία", ymd(year, 12, 27)),
        ];
        for (name, date) in cases {
            assert!(calendar.celebrates(name, date), "{name} {date}");
        }
    }

    #[test]
    fn every_variant_belongs_to_exactly_one_group() {
        let mut seen: HashMap<String, (usize, Feast)> = HashMap::new();
        let mut variants = 0;
        for (group, &(feast, names)) in NAME_DAYS.iter().enumerate() {
            assert!(!names.trim().is_empty(), "row {group} is empty");
            for name in names.split_whitespace() {
                variants += 1;
                let key = key_of(name);
                assert!(
                    !key.is_empty() && !key.contains('-'),
                    "{name:?} is not a single name"
                );
                if let Some((other, other_feast)) = seen.insert(key, (group, feast)) {
                    panic!(
                        "{name} is listed twice: rows {other} ({other_feast:?}) and \
                         {group} ({feast:?})"
                    );
                }
            }
        }
        let calendar = Calendar::builtin();
        assert_eq!(calendar.len(), NAME_DAYS.len());
        assert_eq!(calendar.entries.len(), variants);
        for (key, (group, feast)) in &seen {
            assert_eq!(calendar.feasts(key), vec![*feast], "{key}");
            let canonical = NAME_DAYS[*group].1.split_whitespace().next();
            assert_eq!(calendar.canonical(key), canonical, "{key}");
        }
    }

    #[test]
    fn overrides_add_and_replace_names() {
        let mut calendar = Calendar::builtin();
        let before = calendar.len();
        let csv = "\u{feff}name,date\r\n\
                   # the owner's corrections\r\n\
                   \r\n\
                   Τζέσικα,05-10\r\n\
                   Αναστασία, easter+0\r\n\
                   Λίτσα,11-08\r\n\
                   \"Ευαγγελία\",03-26\r\n\
                   Μπέμπα,easter-2\r\n\
                   Μάριος,04-23/EASTER-MONDAY\r\n";
        assert_eq!(calendar.apply_overrides(csv), Ok(6));
        // New names count as new canonical names.
        assert_eq!(calendar.len(), before + 2);
        assert!(calendar.celebrates("ΤΖΕΣΙΚΑ", ymd(2026, 5, 10)));
        assert_eq!(calendar.canonical("τζεσικα"), Some("Τζέσικα"));
        assert_eq!(calendar.feasts("Μπέμπα"), vec![Feast::Easter(-2)]);
        // A canonical name moves its whole group…
        assert!(calendar.celebrates("Τασούλα", ymd(2026, 4, 12)));
        assert!(!calendar.celebrates("Αναστασία", ymd(2026, 12, 22)));
        // …but not a spelling with its own override.
        assert!(calendar.celebrates("Λίτσα", ymd(2026, 11, 8)));
        assert!(calendar.celebrates("Βαγγελιώ", ymd(2026, 3, 26)));
        assert!(!calendar.celebrates("Λίτσα", ymd(2026, 3, 26)));
        // A variant moves alone.
        assert!(calendar.celebrates("Μάριος", ymd(2027, 5, 3)));
        assert!(calendar.celebrates("Μαρία", ymd(2027, 8, 15)));
    }

    #[test]
    fn an_override_for_a_compound_name_wins_over_its_parts() {
        let mut calendar = Calendar::builtin();
        calendar.set("Άννα-Μαρία", Feast::Fixed(12, 9));
        assert_eq!(calendar.feasts("ΑΝΝΑ ΜΑΡΙΑ"), vec![Feast::Fixed(12, 9)]);
        assert_eq!(calendar.feasts("Άννα"), vec![Feast::Fixed(7, 25)]);
        calendar.set("  ", Feast::Fixed(1, 1));
        assert!(calendar.feasts("").is_empty());
    }

    #[test]
    fn override_errors_name_line_and_column() {
        let mut calendar = Calendar::builtin();
        let bad_date = "name,date\nΓιώργος,04-23\nΜαρία,13-45\n";
        assert_eq!(
            calendar.apply_overrides(bad_date),
            Err("line 3, column 2: \"13-45\" is not a date \
                 (MM-DD, easter+N or MM-DD/easter-monday)"
                .to_string())
        );
        let cases = [
            (
                "Νίκος\n",
                "line 1, column 2: missing date (expected name,date)",
            ),
            (
                "# header-less\n\n ,12-06\n",
                "line 3, column 1: \"\" is not a name",
            ),
            (
                "name,date\n12-06,Νίκος\n",
                "line 2, column 1: \"12-06\" is not a name",
            ),
            (
                "Νίκος,easter+\n",
                "line 1, column 2: \"easter+\" is not a date",
            ),
            (
                "Νίκος,easter+400\n",
                "line 1, column 2: \"easter+400\" is not a date",
            ),
            (
                "Νίκος,easter\n",
                "line 1, column 2: \"easter\" is not a date",
            ),
            ("Νίκος,02-30\n", "line 1, column 2: \"02-30\" is not a date"),
            ("Νίκος,6/12\n", "line 1, column 2: \"6/12\" is not a date"),
            (
                "Νίκος,04-23/easter\n",
                "line 1, column 2: \"04-23/easter\" is not a date",
            ),
            ("Νίκος,\n", "line 1, column 2: \"\" is not a date"),
        ];
        for (csv, expected) in cases {
            let error = calendar.apply_overrides(csv).unwrap_err();
            assert!(error.starts_with(expected), "{csv:?}: {error}");
        }
        // Nothing from a rejected file was applied.
        assert!(calendar.celebrates("Γιώργος", ymd(2027, 5, 3)));
        assert_eq!(calendar.feasts("Νίκος"), vec![Feast::Fixed(12, 6)]);
    }

    #[test]
    fn override_dates_parse() {
        let cases = [
            ("01-07", Feast::Fixed(1, 7)),
            ("1-7", Feast::Fixed(1, 7)),
            ("02-29", Feast::Fixed(2, 29)),
            ("easter+50", Feast::Easter(50)),
            ("Easter-8", Feast::Easter(-8)),
            ("easter+0", Feast::Easter(0)),
            ("04-25/easter-monday", Feast::FixedUnlessBeforeEaster(4, 25)),
            (
                " 04-25 / Easter-Monday ",
                Feast::FixedUnlessBeforeEaster(4, 25),
            ),
        ];
        for (text, feast) in cases {
            assert_eq!(parse_feast(text), Some(feast), "{text}");
        }
        assert_eq!(Calendar::builtin().apply_overrides(""), Ok(0));
        assert_eq!(Calendar::builtin().apply_overrides("name,date\n"), Ok(0));
    }
}
