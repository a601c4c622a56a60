//! Pure language rules: vocative case, salutations, "N years", month names.
//!
//! Everything here is a function of its arguments — no config, no I/O — and
//! is tested as tables. The language is the *template's* language (after
//! fallback), so a French customer greeted from the English template gets
//! "Dear", not a French word in an English sentence.
pub mod el;
pub mod nameday;

use chrono::{Datelike, NaiveDate};

use crate::customer::Gender;

/// Text direction of a language, for `dir=` in HTML.
pub fn direction(lang: &str) -> &'static str {
    match lang {
        "he" | "ar" | "fa" | "ur" | "yi" => "rtl",
        _ => "ltr",
    }
}

/// The English name of a language, for people reading a summary: "Greek"
/// for `el`. `None` for a code this table does not know (show the code).
/// The languages greet has templates for come first; the rest are the
/// languages a shop's customer list is likely to name.
pub fn language_name(lang: &str) -> Option<&'static str> {
    Some(match lang {
        "el" => "Greek",
        "he" => "Hebrew",
        "hy" => "Armenian",
        "en" => "English",
        "ar" => "Arabic",
        "bg" => "Bulgarian",
        "de" => "German",
        "es" => "Spanish",
        "fa" => "Persian",
        "fr" => "French",
        "it" => "Italian",
        "ka" => "Georgian",
        "nl" => "Dutch",
        "pt" => "Portuguese",
        "ro" => "Romanian",
        "ru" => "Russian",
        "sq" => "Albanian",
        "tr" => "Turkish",
        "uk" => "Ukrainian",
        "ur" => "Urdu",
        "yi" => "Yiddish",
        _ => return None,
    })
}

/// A language for a person to read: "Greek (el)", or the code itself when
/// [`language_name`] does not know it.
pub fn language_label(lang: &str) -> String {
    match language_name(lang) {
        Some(name) => format!("{name} ({lang})"),
        None => lang.to_string(),
    }
}

/// The first name in the vocative case, where the language has one.
/// Names in another script are returned unchanged.
pub fn vocative(name: &str, gender: Gender) -> String {
    el::vocative(name, gender)
}

/// The vocative with the owner's own forms first (`[vocative]` in greet.toml,
/// keyed by the lower-case name).
pub fn vocative_with(
    overrides: &std::collections::BTreeMap<String, String>,
    name: &str,
    gender: Gender,
) -> String {
    match overrides.get(
        &crate::customer::invisible::strip(name)
            .trim()
            .to_lowercase(),
    ) {
        Some(v) => v.clone(),
        None => vocative(name, gender),
    }
}

/// The opening words of a greeting: "Αγαπητέ Σταμάτη", "שרה היקרה", "Dear Anna".
/// `vocative` is the name as addressed (Greek: the vocative case).
pub fn salutation(lang: &str, name: &str, vocative: &str, gender: Gender) -> String {
    match lang {
        "el" => match gender {
            Gender::Male => format!("Αγαπητέ {vocative}"),
            Gender::Female => format!("Αγαπητή {vocative}"),
            Gender::Unknown => format!("Γεια σου {vocative}"),
        },
        "he" => match gender {
            Gender::Male => format!("{name} היקר"),
            Gender::Female => format!("{name} היקרה"),
            Gender::Unknown => format!("שלום {name}"),
        },
        // "Սիրելի" and "Dear" do not mark gender: they are already neutral.
        "hy" => format!("Սիրելի {name}"),
        _ => format!("Dear {name}"),
    }
}

/// The direction of a text by its first strong letter: "rtl" for Hebrew
/// and Arabic script, "ltr" for Latin, Greek, Armenian; `None` without letters.
pub fn text_direction(text: &str) -> Option<&'static str> {
    text.chars().find(|c| c.is_alphabetic()).map(|c| {
        if matches!(c, '\u{0590}'..='\u{08FF}' | '\u{FB1D}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
        {
            "rtl"
        } else {
            "ltr"
        }
    })
}

/// A name set into text of the other direction is isolated (U+2068 FIRST
/// STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE), so that "Σταμάτης" in a
/// Hebrew sentence, or "שרה" in a Greek one, keeps its place and does not
/// drag the punctuation next to it. Same-direction names are left alone.
///
/// Bidi controls the name itself carries (an override pasted with it) are
/// dropped first: the only isolation in a greeting is this one.
pub fn isolate(template_lang: &str, name: &str) -> String {
    use crate::customer::invisible::is_bidi_control;
    let own: String;
    let name = if name.chars().any(is_bidi_control) {
        own = name.chars().filter(|c| !is_bidi_control(*c)).collect();
        own.as_str()
    } else {
        name
    };
    match text_direction(name) {
        Some(d) if d != direction(template_lang) => format!("\u{2068}{name}\u{2069}"),
        _ => name.to_string(),
    }
}

/// The CLDR plural category of `n` in `lang` ("one", "two", "other", ...),
/// from ICU4X's compiled CLDR data. Unknown languages follow English.
pub fn plural_category(lang: &str, n: i64) -> &'static str {
    use icu_plurals::{PluralCategory, PluralRules};
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static RULES: RefCell<HashMap<String, Option<PluralRules>>> = RefCell::new(HashMap::new());
    }
    RULES.with(|rules| {
        let mut rules = rules.borrow_mut();
        let r = rules.entry(lang.to_string()).or_insert_with(|| {
            let locale = icu_locale_core::Locale::try_from_str(lang).ok()?;
            PluralRules::try_new(locale.into(), Default::default()).ok()
        });
        let category = match r {
            Some(r) => r.category_for(n),
            None => {
                if n == 1 {
                    PluralCategory::One
                } else {
                    PluralCategory::Other
                }
            }
        };
        match category {
            PluralCategory::Zero => "zero",
            PluralCategory::One => "one",
            PluralCategory::Two => "two",
            PluralCategory::Few => "few",
            PluralCategory::Many => "many",
            PluralCategory::Other => "other",
        }
    })
}

/// "N years" as a person writes it, chosen by the CLDR category:
/// ένα χρόνο / 5 χρόνια, שנה / שנתיים / 5 שנים, 1 տարի / 5 տարի, 1 year / 5 years.
pub fn plural_years(lang: &str, n: i64) -> String {
    let category = plural_category(lang, n);
    match (lang, category) {
        ("el", "one") => "ένα χρόνο".into(),
        ("el", _) => format!("{n} χρόνια"),
        ("he", "one") => "שנה".into(),
        ("he", "two") => "שנתיים".into(),
        ("he", _) => format!("{n} שנים"),
        ("hy", _) => format!("{n} տարի"),
        (_, "one") => format!("{n} year"),
        _ => format!("{n} years"),
    }
}

/// Month names as they stand inside a date ("14 Μαρτίου"): Greek and
/// Armenian use the genitive, Hebrew the prefixed form.
fn month_in_date(lang: &str, month: u32) -> &'static str {
    const EL: [&str; 12] = [
        "Ιανουαρίου",
        "Φεβρουαρίου",
        "Μαρτίου",
        "Απριλίου",
        "Μαΐου",
        "Ιουνίου",
        "Ιουλίου",
        "Αυγούστου",
        "Σεπτεμβρίου",
        "Οκτωβρίου",
        "Νοεμβρίου",
        "Δεκεμβρίου",
    ];
    const HE: [&str; 12] = [
        "בינואר",
        "בפברואר",
        "במרץ",
        "באפריל",
        "במאי",
        "ביוני",
        "ביולי",
        "באוגוסט",
        "בספטמבר",
        "באוקטובר",
        "בנובמבר",
        "בדצמבר",
    ];
    const HY: [&str; 12] = [
        "հունվարի",
        "փետրվարի",
        "մարտի",
        "ապրիլի",
        "մայիսի",
        "հունիսի",
        "հուլիսի",
        "օգոստոսի",
        "սեպտեմբերի",
        "հոկտեմբերի",
        "նոյեմբերի",
        "դեկտեմբերի",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let i = (month.clamp(1, 12) - 1) as usize;
    match lang {
        "el" => EL[i],
        "he" => HE[i],
        "hy" => HY[i],
        _ => EN[i],
    }
}

/// How much of a date to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// 14 Μαρτίου 2026
    Long,
    /// 14 Μαρτίου
    DayMonth,
}

/// A date in words, in the given language.
pub fn format_date(lang: &str, date: NaiveDate, style: DateStyle) -> String {
    let (d, m, y) = (date.day(), month_in_date(lang, date.month()), date.year());
    match (lang, style) {
        // Armenian puts the month first, and the year before it with "թ.".
        ("hy", DateStyle::DayMonth) => format!("{m} {d}"),
        ("hy", DateStyle::Long) => format!("{y} թ. {m} {d}"),
        (_, DateStyle::DayMonth) => format!("{d} {m}"),
        (_, DateStyle::Long) => format!("{d} {m} {y}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salutations_follow_language_and_gender() {
        assert_eq!(
            salutation("el", "Σταμάτης", "Σταμάτη", Gender::Male),
            "Αγαπητέ Σταμάτη"
        );
        assert_eq!(
            salutation("el", "Μαρία", "Μαρία", Gender::Female),
            "Αγαπητή Μαρία"
        );
        assert_eq!(salutation("he", "דוד", "דוד", Gender::Male), "דוד היקר");
        assert_eq!(salutation("he", "שרה", "שרה", Gender::Female), "שרה היקרה");
        assert_eq!(
            salutation("he", "נועם", "נועם", Gender::Unknown),
            "שלום נועם"
        );
        assert_eq!(
            salutation("hy", "Արամ", "Արամ", Gender::Male),
            "Սիրելի Արամ"
        );
        assert_eq!(
            salutation("en", "Stamatis", "Stamatis", Gender::Male),
            "Dear Stamatis"
        );
        assert_eq!(
            salutation("hy", "Արամ", "Արամ", Gender::Unknown),
            "Սիրելի Արամ"
        );
        assert_eq!(
            salutation("el", "Alex", "Alex", Gender::Unknown),
            "Γεια σου Alex"
        );
    }

    #[test]
    fn names_of_the_other_direction_are_isolated() {
        assert_eq!(isolate("he", "Σταμάτης"), "\u{2068}Σταμάτης\u{2069}");
        assert_eq!(isolate("el", "שרה"), "\u{2068}שרה\u{2069}");
        assert_eq!(isolate("en", "שרה"), "\u{2068}שרה\u{2069}");
        assert_eq!(isolate("he", "שרה"), "שרה");
        assert_eq!(isolate("el", "Σταμάτης"), "Σταμάτης");
        assert_eq!(isolate("hy", "Narek"), "Narek");
        assert_eq!(isolate("he", "123"), "123");
        // The name's own bidi controls are dropped: the only isolation is greet's.
        assert_eq!(
            isolate("he", "\u{202E}Σταμάτης\u{202C}"),
            "\u{2068}Σταμάτης\u{2069}"
        );
        assert_eq!(isolate("el", "\u{2067}שרה\u{2069}"), "\u{2068}שרה\u{2069}");
        assert_eq!(isolate("he", "\u{200F}שרה"), "שרה");
    }

    #[test]
    fn plural_categories_follow_cldr_from_0_to_25() {
        for n in 0..=25 {
            let el = if n == 1 { "one" } else { "other" };
            let en = el;
            // Hebrew: one, two, and other for everything else (CLDR 42 dropped "many").
            let he = match n {
                1 => "one",
                2 => "two",
                _ => "other",
            };
            // Armenian: 0 and 1 are "one".
            let hy = if n <= 1 { "one" } else { "other" };
            assert_eq!(plural_category("el", n), el, "el {n}");
            assert_eq!(plural_category("en", n), en, "en {n}");
            assert_eq!(plural_category("he", n), he, "he {n}");
            assert_eq!(plural_category("hy", n), hy, "hy {n}");
        }
    }

    #[test]
    fn years_from_0_to_25_read_naturally_in_each_language() {
        for n in 0..=25i64 {
            let (el, he, hy, en) = match n {
                1 => (
                    "ένα χρόνο".into(),
                    "שנה".into(),
                    "1 տարի".into(),
                    "1 year".into(),
                ),
                2 => (
                    "2 χρόνια".into(),
                    "שנתיים".into(),
                    "2 տարի".into(),
                    "2 years".into(),
                ),
                _ => (
                    format!("{n} χρόνια"),
                    format!("{n} שנים"),
                    format!("{n} տարի"),
                    format!("{n} years"),
                ),
            };
            assert_eq!(plural_years("el", n), el);
            assert_eq!(plural_years("he", n), he);
            assert_eq!(plural_years("hy", n), hy);
            assert_eq!(plural_years("en", n), en);
        }
    }

    #[test]
    fn languages_are_named_with_their_code_and_unknown_codes_stay_codes() {
        for (code, label) in [
            ("el", "Greek (el)"),
            ("he", "Hebrew (he)"),
            ("hy", "Armenian (hy)"),
            ("en", "English (en)"),
            ("fr", "French (fr)"),
            ("xx", "xx"),
            ("", ""),
            ("EL", "EL"),
        ] {
            assert_eq!(language_label(code), label, "{code:?}");
        }
        // Every language with a direction rule has a name.
        for code in ["he", "ar", "fa", "ur", "yi"] {
            assert!(language_name(code).is_some(), "{code}");
            assert_eq!(direction(code), "rtl");
        }
    }

    #[test]
    fn years_read_naturally() {
        assert_eq!(plural_years("el", 1), "ένα χρόνο");
        assert_eq!(plural_years("el", 5), "5 χρόνια");
        assert_eq!(plural_years("he", 1), "שנה");
        assert_eq!(plural_years("he", 2), "שנתיים");
        assert_eq!(plural_years("he", 5), "5 שנים");
        assert_eq!(plural_years("hy", 1), "1 տարի");
        assert_eq!(plural_years("en", 1), "1 year");
        assert_eq!(plural_years("en", 5), "5 years");
    }

    #[test]
    fn dates_use_the_form_a_month_takes_inside_a_date() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 14).unwrap();
        assert_eq!(format_date("el", d, DateStyle::DayMonth), "14 Μαρτίου");
        assert_eq!(format_date("he", d, DateStyle::DayMonth), "14 במרץ");
        assert_eq!(format_date("hy", d, DateStyle::Long), "2026 թ. մարտի 14");
        assert_eq!(format_date("hy", d, DateStyle::DayMonth), "մարտի 14");
        assert_eq!(format_date("el", d, DateStyle::Long), "14 Μαρτίου 2026");
        assert_eq!(format_date("he", d, DateStyle::Long), "14 במרץ 2026");
        let may = NaiveDate::from_ymd_opt(2008, 5, 20).unwrap();
        assert_eq!(format_date("el", may, DateStyle::DayMonth), "20 Μαΐου");
        assert_eq!(format_date("he", may, DateStyle::DayMonth), "20 במאי");
        assert_eq!(format_date("en", may, DateStyle::DayMonth), "20 May");
        assert_eq!(format_date("en", d, DateStyle::Long), "14 March 2026");
        assert_eq!(direction("he"), "rtl");
        assert_eq!(direction("hy"), "ltr");
    }
}
