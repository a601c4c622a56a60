//! Pure language rules: vocative case, salutations, "N years", month names.
//!
//! Everything here is a function of its arguments — no config, no I/O — and
//! is tested as tables. The language is the *template's* language (after
//! fallback), so a French customer greeted from the English template gets
//! "Dear", not a French word in an English sentence.
pub mod el;

use chrono::{Datelike, NaiveDate};

use crate::customer::Gender;

/// Text direction of a language, for `dir=` in HTML.
pub fn direction(lang: &str) -> &'static str {
    match lang {
        "he" | "ar" | "fa" | "ur" | "yi" => "rtl",
        _ => "ltr",
    }
}

/// The first name in the vocative case, where the language has one.
/// Names in another script are returned unchanged.
pub fn vocative(name: &str, gender: Gender) -> String {
    el::vocative(name, gender)
}

/// The opening words of a greeting: "Αγαπητέ Σταμάτη", "שרה היקרה", "Dear Anna".
pub fn salutation(lang: &str, name: &str, gender: Gender) -> String {
    match lang {
        "el" => match gender {
            Gender::Male => format!("Αγαπητέ {}", vocative(name, gender)),
            Gender::Female => format!("Αγαπητή {}", vocative(name, gender)),
            Gender::Unknown => format!("Γεια σου {}", vocative(name, gender)),
        },
        "he" => match gender {
            Gender::Male => format!("{name} היקר"),
            Gender::Female => format!("{name} היקרה"),
            Gender::Unknown => format!("שלום {name}"),
        },
        "hy" => format!("Սիրելի {name}"),
        _ => format!("Dear {name}"),
    }
}

/// "N years" as a person writes it: ένα χρόνο / 5 χρόνια, שנה / שנתיים / 5 שנים.
pub fn plural_years(lang: &str, n: i64) -> String {
    match lang {
        "el" => match n {
            1 => "ένα χρόνο".into(),
            _ => format!("{n} χρόνια"),
        },
        "he" => match n {
            1 => "שנה".into(),
            2 => "שנתיים".into(),
            _ => format!("{n} שנים"),
        },
        "hy" => format!("{n} տարի"),
        _ => match n {
            1 => "1 year".into(),
            _ => format!("{n} years"),
        },
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
    let (d, m) = (date.day(), month_in_date(lang, date.month()));
    match style {
        DateStyle::DayMonth => format!("{d} {m}"),
        DateStyle::Long => format!("{d} {m} {}", date.year()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salutations_follow_language_and_gender() {
        assert_eq!(
            salutation("el", "Σταμάτης", Gender::Male),
            "Αγαπητέ Σταμάτη"
        );
        assert_eq!(salutation("el", "Μαρία", Gender::Female), "Αγαπητή Μαρία");
        assert_eq!(salutation("he", "דוד", Gender::Male), "דוד היקר");
        assert_eq!(salutation("he", "שרה", Gender::Female), "שרה היקרה");
        assert_eq!(salutation("he", "נועם", Gender::Unknown), "שלום נועם");
        assert_eq!(salutation("hy", "Արամ", Gender::Male), "Սիրելի Արամ");
        assert_eq!(salutation("en", "Stamatis", Gender::Male), "Dear Stamatis");
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
        assert_eq!(format_date("hy", d, DateStyle::Long), "14 մարտի 2026");
        assert_eq!(format_date("en", d, DateStyle::Long), "14 March 2026");
        assert_eq!(direction("he"), "rtl");
        assert_eq!(direction("hy"), "ltr");
    }
}
