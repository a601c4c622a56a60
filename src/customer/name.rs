//! Names an export lost: `????` and `�` where letters were.
//!
//! A spreadsheet saved in an encoding that has no Armenian (or Greek, or
//! Hebrew) letters writes `?` for each of them, and a decoder that met bytes
//! it could not read writes U+FFFD `�`. Greeting "Սիրելի ????," is worse than
//! not greeting at all, so:
//!
//! - a name made only of placeholders (`?`, `？`, `¿`, `�`, `￼`, `□`, `▯`),
//!   punctuation, spaces and invisible characters — with at least one
//!   placeholder — is an error: the letters are gone;
//! - a replacement character (U+FFFD, U+FFFC) anywhere in a name is an error:
//!   some letter is gone, and nobody can tell which;
//! - a `?` (or another placeholder) among letters (`Mar?a`) is a warning: an
//!   export may have lost one letter, but `?` can also be typed on purpose,
//!   so the row is still greeted and the owner is told where to look.
//!
//! Punctuation alone (`-`, `.`) is not a lost name: spreadsheets use it for
//! "no last name".
use super::invisible;

/// Characters that stand where an export lost a letter.
fn is_placeholder(c: char) -> bool {
    matches!(
        c,
        '?' | '\u{FF1F}' | '¿' | '\u{FFFD}' | '\u{FFFC}' | '\u{25A1}' | '\u{25AF}'
    )
}

/// Whether `name` may hold a placeholder: every placeholder is `?` or starts
/// with byte 0xC2, 0xE2 or 0xEF in UTF-8, and most names (Greek, Armenian,
/// Hebrew, Latin letters) have none of these — they skip decoding.
fn may_have_placeholder(name: &str) -> bool {
    name.bytes().any(|b| matches!(b, b'?' | 0xC2 | 0xE2 | 0xEF))
}

/// Replacement characters: a decoder's mark for bytes it could not read.
fn is_replacement(c: char) -> bool {
    matches!(c, '\u{FFFD}' | '\u{FFFC}')
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c, '\u{00A1}'..='\u{00BF}' | '\u{2010}'..='\u{205E}' | '\u{3000}'..='\u{3003}' | '\u{055A}'..='\u{055F}' | '\u{05BE}' | '\u{05C0}' | '\u{05C3}' | '\u{05F3}' | '\u{05F4}' | '\u{0387}' | '\u{037E}')
}

/// Why the name cannot be used: its letters were lost in an export.
pub fn lost(name: &str) -> Option<String> {
    if !may_have_placeholder(name) || !name.chars().any(is_placeholder) {
        return None;
    }
    let only_placeholders = name.chars().all(|c| {
        is_placeholder(c) || c.is_whitespace() || invisible::is_invisible(c) || is_punctuation(c)
    });
    if only_placeholders {
        return Some(
            "has no letters, only placeholders — the export lost them; save the list as \"CSV UTF-8\" and retype the name".into(),
        );
    }
    if let Some(c) = name.chars().find(|c| is_replacement(*c)) {
        return Some(format!(
            "has a replacement character U+{:04X} where a letter was lost in an export; retype the name",
            c as u32
        ));
    }
    None
}

/// Why the name may have lost a letter, when it still has others: a warning.
pub fn doubtful(name: &str) -> Option<String> {
    if !may_have_placeholder(name) {
        return None;
    }
    let c = name.chars().find(|c| is_placeholder(*c))?;
    Some(format!(
        "has \"{c}\" among its letters; an export may have lost a letter there — check the name"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_starts_with_a_byte_the_quick_look_looks_for() {
        let placeholders: Vec<char> = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| is_placeholder(*c))
            .collect();
        assert_eq!(placeholders.len(), 7);
        for c in placeholders {
            let name = format!("Μαρ{c}α");
            assert!(may_have_placeholder(&name), "U+{:04X}", c as u32);
            assert!(doubtful(&name).is_some(), "U+{:04X}", c as u32);
            assert!(
                may_have_placeholder(c.encode_utf8(&mut [0; 4])),
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn names_made_only_of_placeholders_are_lost() {
        for name in [
            "?",
            "????",
            "? ?",
            "???? ???",
            "�",
            "��",
            "?.?",
            "(?)",
            "？？",
            "□□",
            "\u{200B}???",
            "¿?",
            "?-?",
            "???,",
            "«??»",
        ] {
            assert!(lost(name).is_some(), "{name:?}");
        }
    }

    #[test]
    fn a_replacement_character_among_letters_is_lost_too() {
        for name in ["Μα�ία", "�nna", "Anna�", "Ann\u{FFFC}"] {
            let why = lost(name).unwrap_or_default();
            assert!(why.contains("replacement character"), "{name:?}: {why}");
        }
    }

    #[test]
    fn a_question_mark_among_letters_is_only_doubtful() {
        for name in ["Mar?a", "Anna?", "?Anna", "Սի?ելի", "Μαρ?α"] {
            assert_eq!(lost(name), None, "{name:?}");
            assert!(doubtful(name).unwrap().contains('?'), "{name:?}");
        }
    }

    #[test]
    fn real_names_and_bare_punctuation_are_fine() {
        for name in [
            "Σταμάτης",
            "שרה",
            "Արամ",
            "O'Brien",
            "Jean-Luc",
            "-",
            ".",
            "🎂",
            "Anna 👩\u{200D}👧",
            "",
        ] {
            assert_eq!(lost(name), None, "{name:?}");
            assert_eq!(doubtful(name), None, "{name:?}");
        }
    }
}
