//! Stage 1: the customer list (CSV bytes) → [`Customer`]s and [`Problem`]s.
//!
//! The list is streamed row by row, never held whole. A bad row is a
//! [`Problem`] beside the good ones, with `file:line:column`; only file-level
//! faults (unreadable file, missing required column) stop the reader.
pub mod dates;
pub mod decode;
pub mod email;
pub mod invisible;
pub mod name;
mod read;

use std::collections::BTreeMap;

use chrono::NaiveDate;

pub use dates::Birthday;
pub use read::{
    CustomerReader, Hint, Keep, Kept, Quick, RawRow, RawRows, Roster, RowParser, key_digest, reads,
    scan, scan_keeping,
};

/// Grammatical gender, as far as the list says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gender {
    Male,
    Female,
    #[default]
    Unknown,
}

impl Gender {
    /// `m`, `f` or `` — what templates compare against.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "m",
            Gender::Female => "f",
            Gender::Unknown => "",
        }
    }

    /// Read a gender cell: m/f, male/female, and the words in Greek, Hebrew and Armenian.
    pub fn parse(cell: &str) -> Option<Gender> {
        // The usual cells first, without lowercasing a copy.
        match cell.trim() {
            "" => return Some(Gender::Unknown),
            "m" | "M" => return Some(Gender::Male),
            "f" | "F" => return Some(Gender::Female),
            _ => {}
        }
        let v = cell.trim().to_lowercase();
        let v = v.trim_end_matches('.');
        Some(match v {
            "" | "-" | "?" | "x" | "u" | "unknown" => Gender::Unknown,
            "m" | "male" | "man" | "mr" | "α" | "α." | "άνδρας" | "άντρας" | "αρσενικό"
            | "ανδρας" | "αντρας" | "ז" | "זכר" | "גבר" | "ա" | "արական" | "տղամարդ" => {
                Gender::Male
            }
            "f" | "w" | "female" | "woman" | "mrs" | "ms" | "γ" | "θ" | "γυναίκα" | "γυναικα"
            | "θηλυκό" | "θηλυκο" | "נ" | "נקבה" | "אישה" | "ի" | "իգական" | "կին" => {
                Gender::Female
            }
            _ => return None,
        })
    }
}

/// One customer, as read from one row of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// The stable key: the `id` column, or the case-folded email.
    pub key: String,
    /// The line of the row in the file (1-based).
    pub line: u64,
    /// The address as greeted (To header and envelope): without invisible
    /// characters, in NFKC ([`email::normalise`]); the case as written.
    pub email: String,
    /// Names without bidi controls or stray invisible characters ([`invisible::clean_name`]).
    pub first_name: String,
    pub last_name: String,
    pub gender: Gender,
    /// Lower-case primary language subtag; `None` means the config default.
    pub language: Option<String>,
    pub birthday: Option<Birthday>,
    pub customer_since: Option<NaiveDate>,
    pub opt_out: bool,
    /// The `tradition` cell, else the tradition of the customer's language
    /// (see [`crate::config::Config::tradition_of_language`]); `None`: no
    /// feast but New Year.
    pub tradition: Option<crate::feast::Tradition>,
    /// Every other column, by its normalised header name (`Favourite Product` → `favourite_product`).
    pub extra: BTreeMap<String, String>,
}

impl Customer {
    pub fn full_name(&self) -> String {
        if self.last_name.is_empty() {
            self.first_name.clone()
        } else {
            format!("{} {}", self.first_name, self.last_name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gender_words_in_four_languages() {
        for (cell, want) in [
            ("M", Gender::Male),
            ("female", Gender::Female),
            ("Άνδρας", Gender::Male),
            ("Γυναίκα", Gender::Female),
            ("זכר", Gender::Male),
            ("נקבה", Gender::Female),
            ("արական", Gender::Male),
            ("իգական", Gender::Female),
            ("", Gender::Unknown),
        ] {
            assert_eq!(Gender::parse(cell), Some(want), "{cell}");
        }
        assert_eq!(Gender::parse("banana"), None);
    }
}
