//! Invisible and formatting characters: the one definition greet uses.
//!
//! Spreadsheets and copy-paste leave characters behind that draw nothing —
//! a zero-width space after a pasted address, a BOM in the middle of a cell,
//! a right-to-left override from a chat app. They never change who a
//! customer is, and they must never reach a header.
//!
//! **The class** ([`is_invisible`]) is Unicode's Default_Ignorable_Code_Point
//! property together with general category Cf (format), as of Unicode 16:
//!
//! - U+00AD soft hyphen, U+034F combining grapheme joiner, U+061C Arabic
//!   letter mark, U+115F/U+1160, U+3164 and U+FFA0 Hangul fillers, U+17B4/U+17B5
//!   Khmer inherent vowels, U+180B–U+180F Mongolian selectors and vowel separator;
//! - U+200B–U+200F zero-width space, non-joiner, joiner, LRM, RLM;
//! - U+202A–U+202E bidi embeddings and overrides, U+2060–U+206F word joiner,
//!   invisible operators, bidi isolates and the deprecated format characters;
//! - U+FE00–U+FE0F and U+E0100–U+E01EF variation selectors, U+FEFF BOM /
//!   zero-width no-break space, U+FFF0–U+FFFB interlinear annotation (and
//!   the reserved ignorables around them);
//! - U+13430–U+1343F Egyptian hieroglyph format controls, U+1BCA0–U+1BCA3
//!   shorthand format controls, U+1D173–U+1D17A musical symbol format
//!   controls, U+E0000–U+E0FFF tag characters and reserved ignorables.
//!
//! Left out, deliberately: the Cf characters that *draw* a sign (the
//! prepended concatenation marks U+0600–U+0605, U+06DD, U+070F,
//! U+0890–U+0891, U+08E2, U+110BD, U+110CD) — they are visible, so they are
//! not silently removed (an address holding one is refused as invalid).
//!
//! **Where each rule applies**
//!
//! - Addresses, ids and code-like cells (gender, language, dates, opt_out):
//!   the whole class is removed everywhere ([`strip`]). Variation selectors
//!   and joiners mean nothing in an address.
//! - Names ([`clean_name`]): bidi controls ([`is_bidi_control`]) are removed
//!   everywhere (the renderer adds its own isolation, see
//!   [`crate::i18n::isolate`]); the characters that shape emoji and some
//!   scripts ([`is_shaping`]: ZWJ, ZWNJ, variation selectors, tags) may stay
//!   inside a name, since 👩‍👧 and ❤️ need them; every other invisible
//!   character is removed; and the ends are trimmed of the class (a
//!   variation selector or tag at the end still belongs to the emoji before it).
//! - Headers ([`crate::render::header_value`]): the whole class is removed,
//!   shaping characters included.
use std::borrow::Cow;

/// Default_Ignorable_Code_Point ∪ Cf, without the visible prepended
/// concatenation marks. Sorted, inclusive ranges.
const CLASS: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFFB}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// Is `c` invisible or a formatting character (see the module docs)?
pub fn is_invisible(c: char) -> bool {
    // Every member is at or above U+00AD: the common case returns at once.
    if c < '\u{00AD}' {
        return false;
    }
    CLASS
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// The bidi controls: ALM, LRM, RLM, embeddings, overrides, PDF and isolates.
/// Never kept in a name: they could reorder the text around it.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The invisible characters that shape what is around them: ZWNJ and ZWJ
/// (emoji sequences, Persian and Indic names), variation selectors (❤️) and
/// tag characters (subdivision flags). They may stay inside a name in a body.
pub fn is_shaping(c: char) -> bool {
    matches!(
        c,
        '\u{200C}'
            | '\u{200D}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{E0020}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// A selector or tag modifies the character before it, so one at the end of
/// a name still belongs to it; a joiner at the end joins nothing.
fn modifies_previous(c: char) -> bool {
    is_shaping(c) && !matches!(c, '\u{200C}' | '\u{200D}')
}

/// Whether `s` may hold a member of the class: whether it has a byte that
/// one starts with in UTF-8 (every member starts with one of these; a test
/// checks each). Most text — ASCII, Greek, Hebrew, Armenian — has none, and
/// is let through without being decoded.
pub fn may_hold(s: &str) -> bool {
    s.bytes()
        .any(|b| matches!(b, 0xC2 | 0xCD | 0xD8 | 0xE1..=0xE3 | 0xEF | 0xF0 | 0xF3))
}

/// `s` without any character of the class.
pub fn strip(s: &str) -> Cow<'_, str> {
    if !may_hold(s) || !s.chars().any(is_invisible) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().filter(|c| !is_invisible(*c)).collect())
}

/// The distinct characters of the class in `s`, in order of appearance.
pub fn found(s: &str) -> Vec<char> {
    let mut out: Vec<char> = Vec::new();
    if !may_hold(s) {
        return out;
    }
    for c in s.chars().filter(|c| is_invisible(*c)) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// `U+200B ZERO WIDTH SPACE`: how a message names an invisible character.
pub fn describe(c: char) -> String {
    let name = match c {
        '\u{00AD}' => "SOFT HYPHEN",
        '\u{034F}' => "COMBINING GRAPHEME JOINER",
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2060}' => "WORD JOINER",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE (BOM)",
        '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' => "VARIATION SELECTOR",
        '\u{E0000}'..='\u{E0FFF}' => "TAG",
        _ => "",
    };
    if name.is_empty() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} {name}", c as u32)
    }
}

/// A name as greet keeps it: bidi controls removed everywhere, other
/// invisible characters removed unless they shape an emoji or a script,
/// the ends trimmed of spaces and of the class.
pub fn clean_name(s: &str) -> Cow<'_, str> {
    let trimmed = s.trim();
    if !may_hold(trimmed) || !trimmed.chars().any(is_invisible) {
        return Cow::Borrowed(trimmed);
    }
    let kept: Vec<char> = trimmed
        .chars()
        .filter(|c| !is_invisible(*c) || is_shaping(*c))
        .collect();
    let is_edge = |c: &char| c.is_whitespace() || is_invisible(*c);
    let start = kept.iter().position(|c| !is_edge(c)).unwrap_or(kept.len());
    let mut end = kept.len();
    while end > start {
        let c = kept[end - 1];
        // A selector right after a symbol belongs to it (❤️); after a letter it means nothing.
        let symbol_before =
            end - 1 > start && !is_edge(&kept[end - 2]) && !kept[end - 2].is_alphanumeric();
        if !is_edge(&c) || (modifies_previous(c) && symbol_before) {
            break;
        }
        end -= 1;
    }
    Cow::Owned(kept[start..end].iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every character the module docs name, range by range.
    fn members() -> impl Iterator<Item = char> {
        CLASS
            .iter()
            .flat_map(|&(lo, hi)| (lo as u32..=hi as u32).filter_map(char::from_u32))
    }

    #[test]
    fn the_class_is_sorted_and_disjoint_so_the_search_finds_every_range() {
        for pair in CLASS.windows(2) {
            assert!(pair[0].1 < pair[1].0, "{pair:?}");
        }
        for &(lo, hi) in CLASS {
            assert!(lo <= hi);
        }
    }

    #[test]
    fn every_character_of_the_class_is_invisible_and_its_neighbours_are_not() {
        let mut n = 0;
        for c in members() {
            assert!(is_invisible(c), "U+{:04X}", c as u32);
            n += 1;
        }
        // Default_Ignorable_Code_Point ∪ Cf (Unicode 16), less the visible marks.
        assert_eq!(n, 4_193);
        for &(lo, hi) in CLASS {
            for outside in [lo as u32 - 1, hi as u32 + 1] {
                let c = char::from_u32(outside).unwrap();
                if !CLASS.iter().any(|&(l, h)| (l..=h).contains(&c)) {
                    assert!(!is_invisible(c), "U+{outside:04X}");
                }
            }
        }
    }

    #[test]
    fn the_issue_s_characters_are_all_in_the_class() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{FEFF}',
            '\u{2060}',
            '\u{00AD}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200E}',
            '\u{200F}',
            '\u{061C}',
            '\u{180E}',
            '\u{034F}',
            '\u{115F}',
            '\u{1160}',
            '\u{FFF9}',
            '\u{FFFA}',
            '\u{FFFB}',
            '\u{E0001}',
            '\u{E0020}',
            '\u{E007F}',
            '\u{FE0F}',
            '\u{E0100}',
        ] {
            assert!(is_invisible(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn letters_digits_spaces_and_visible_format_marks_are_not_invisible() {
        for c in
            "aZ09@.-_+ ΣταμάτηςשרהԱրամ🎂\u{a0}\u{0600}\u{06DD}\u{070F}\u{110BD}\u{FFFD}?".chars()
        {
            assert!(!is_invisible(c), "U+{:04X}", c as u32);
        }
        // The whole of ASCII and Latin-1 up to the soft hyphen.
        for cp in 0..0xAD {
            assert!(!is_invisible(char::from_u32(cp).unwrap()));
        }
    }

    #[test]
    fn every_member_of_the_class_starts_with_a_byte_the_quick_look_looks_for() {
        for c in members() {
            let alone = c.to_string();
            assert!(may_hold(&alone), "U+{:04X}", c as u32);
            for s in [
                format!("Σταμάτης{c}"),
                format!("{c}שרה"),
                format!("Ար{c}ամ"),
            ] {
                assert!(may_hold(&s), "U+{:04X}", c as u32);
                assert_eq!(found(&s), vec![c], "U+{:04X}", c as u32);
                assert!(!strip(&s).contains(c), "U+{:04X}", c as u32);
            }
        }
        // Letters of the four alphabets greet's customers write need no second look.
        for s in [
            "Σταμάτης Παπαδόπουλος",
            "שרה כהן",
            "Արամ Պետրոսյան",
            "Emily Carter",
        ] {
            assert!(!may_hold(s), "{s}");
        }
    }

    #[test]
    fn bidi_controls_and_shaping_characters_are_members_of_the_class() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            if is_bidi_control(c) || is_shaping(c) {
                assert!(is_invisible(c), "U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn strip_removes_every_member_at_the_start_middle_and_end() {
        for c in members() {
            for s in [
                format!("{c}maria@example.gr"),
                format!("maria{c}@example.gr"),
                format!("maria@example.gr{c}"),
                format!("{c}maria@exa{c}mple.gr{c}"),
            ] {
                assert_eq!(strip(&s), "maria@example.gr", "U+{:04X}", c as u32);
                assert_eq!(found(&s), vec![c]);
            }
        }
        assert!(matches!(strip("maria@example.gr"), Cow::Borrowed(_)));
    }

    #[test]
    fn names_lose_bidi_controls_everywhere_and_the_class_at_their_ends() {
        let table = [
            ("\u{200B}Σταμάτης", "Σταμάτης"),
            ("Σταμάτης\u{FEFF}", "Σταμάτης"),
            ("\u{202E}Σταμάτης\u{202C}", "Σταμάτης"),
            ("Στα\u{202E}μάτης", "Σταμάτης"),
            ("Μα\u{200B}ρία", "Μαρία"),
            ("Μα\u{00AD}ρία", "Μαρία"),
            ("\u{2067}שרה\u{2069}", "שרה"),
            ("\u{200F}שרה", "שרה"),
            (" \u{200B} Anna \u{2060} ", "Anna"),
            ("\u{200D}Anna\u{200D}", "Anna"),
            // Shaping characters inside an emoji stay; a selector at the end stays with its emoji.
            ("Anna 👩\u{200D}👧", "Anna 👩\u{200D}👧"),
            ("Anna ❤\u{FE0F}", "Anna ❤\u{FE0F}"),
            ("\u{FE0F}Anna", "Anna"),
            ("Anna\u{FE0F}", "Anna"),
            ("\u{200B}", ""),
            ("Anna", "Anna"),
        ];
        for (raw, want) in table {
            assert_eq!(clean_name(raw), want, "{raw:?}");
        }
    }

    proptest! {
        #[test]
        fn a_cleaned_name_has_no_bidi_control_and_no_invisible_edge(
            parts in prop::collection::vec(
                prop_oneof![
                    prop::sample::select(members().collect::<Vec<_>>()),
                    prop::sample::select("Σταμάτης שרה Արամ Anna 🎂👩".chars().collect::<Vec<_>>()),
                ],
                0..24,
            )
        ) {
            let raw: String = parts.into_iter().collect();
            let clean = clean_name(&raw);
            prop_assert!(!clean.chars().any(is_bidi_control), "{:?}", clean);
            prop_assert!(clean.chars().all(|c| !is_invisible(c) || is_shaping(c)), "{:?}", clean);
            prop_assert!(!clean.starts_with(|c: char| is_invisible(c) || c.is_whitespace()), "{:?}", clean);
            let twice = clean_name(&clean).into_owned();
            prop_assert_eq!(clean.as_ref(), twice.as_str(), "cleaning twice changes nothing");
            let visible: String = raw.chars().filter(|c| !is_invisible(*c)).collect();
            let kept = strip(&clean).into_owned();
            prop_assert_eq!(kept.trim(), visible.trim(), "only invisible characters go");
        }
    }
}
