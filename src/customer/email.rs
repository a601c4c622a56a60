//! Email addresses from a spreadsheet cell: trimmed, checked, keyed.
//!
//! The checks come first with a precise reason, so the owner learns *what*
//! is wrong with `a@@b.gr`; lettre's own parser is the final word.
//!
//! Before any check, [`normalise`] removes what never changes a mailbox:
//! invisible and formatting characters ([`super::invisible`]), and
//! compatibility forms (fullwidth `ｍａｒｉａ`), read through NFKC. The key, the
//! duplicate scan, the To header and the envelope all see the normalised
//! address.
use std::borrow::Cow;

use icu_normalizer::{ComposingNormalizer, ComposingNormalizerBorrowed};

use super::invisible;

/// Trim spaces and no-break spaces that spreadsheets leave around addresses.
pub fn clean(cell: &str) -> &str {
    cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{feff}')
}

/// An address cell after [`normalise`], with what was changed (for warnings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalised<'a> {
    pub address: Cow<'a, str>,
    /// The invisible characters removed, each once, in order of appearance.
    pub removed: Vec<char>,
    /// NFKC changed the address: how it was written (`compatibility (fullwidth)`).
    pub rewritten: Option<&'static str>,
}

const NFKC: ComposingNormalizerBorrowed<'static> = ComposingNormalizer::new_nfkc();
const NFC: ComposingNormalizerBorrowed<'static> = ComposingNormalizer::new_nfc();

/// The address a cell means: trimmed, without invisible characters, in NFKC.
pub fn normalise(cell: &str) -> Normalised<'_> {
    let trimmed = clean(cell);
    let removed = invisible::found(cell);
    if removed.is_empty() && trimmed.is_ascii() {
        return Normalised {
            address: Cow::Borrowed(trimmed),
            removed,
            rewritten: None,
        };
    }
    let visible = match invisible::strip(trimmed) {
        Cow::Borrowed(s) => Cow::Borrowed(s),
        Cow::Owned(s) => Cow::Owned(clean(&s).to_string()),
    };
    let (address, rewritten) = match NFKC.normalize(&visible) {
        Cow::Borrowed(_) => (visible, None),
        Cow::Owned(nfkc) => {
            let how = how_written(&visible, &nfkc);
            let nfkc = invisible::strip(clean(&nfkc)).into_owned();
            (Cow::Owned(nfkc), Some(how))
        }
    };
    Normalised {
        address,
        removed,
        rewritten,
    }
}

/// How an address NFKC changed was written, for the warning.
fn how_written(raw: &str, nfkc: &str) -> &'static str {
    if raw
        .chars()
        .any(|c| matches!(c, '\u{FF01}'..='\u{FF60}' | '\u{FFE0}'..='\u{FFE6}' | '\u{3000}'))
    {
        "in compatibility (fullwidth) characters"
    } else if raw
        .chars()
        .any(|c| matches!(c, '\u{FF61}'..='\u{FFDC}' | '\u{FFE8}'..='\u{FFEE}'))
    {
        "in compatibility (halfwidth) characters"
    } else if NFC.normalize(raw) == nfkc {
        "with accents as separate marks"
    } else {
        "in compatibility characters"
    }
}

/// Why `addr` cannot be used, or `None` if it can.
pub fn problem(addr: &str) -> Option<String> {
    if is_plain(addr) {
        return None;
    }
    problem_in_full(addr)
}

/// An ASCII address of the plainest form, which every check of
/// [`problem_in_full`] accepts: a local part of at most 64 bytes, made of
/// atoms (letters, digits and ``!#$%&'*+-/=?^_`{|}~``) joined by single
/// dots; one `@`; a domain of at most 254 bytes, made of two or more labels
/// of at most 63 letters, digits and hyphens, each starting and ending with
/// a letter or digit, joined by single dots. That is RFC 5322's dot-atom
/// (what lettre reads) narrowed to what its checks take without a second
/// look (no quotes, no IDNA, no IP literal), so most addresses skip the
/// checks, lettre's parser above all.
fn is_plain(addr: &str) -> bool {
    let bytes = addr.as_bytes();
    let Some(at) = bytes.iter().position(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&bytes[..at], &bytes[at + 1..]);
    let atext = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(b);
    let atom = |atom: &[u8]| !atom.is_empty() && atom.iter().all(atext);
    let label = |label: &[u8]| match label {
        [first, .., last] | [first @ last] => {
            label.len() <= 63
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && label
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        [] => false,
    };
    local.len() <= 64
        && local.split(|&b| b == b'.').all(atom)
        && domain.len() <= 254
        && domain.contains(&b'.')
        && domain.split(|&b| b == b'.').all(label)
}

/// [`problem`], every check in turn.
fn problem_in_full(addr: &str) -> Option<String> {
    if addr.is_empty() {
        return Some("email is empty".into());
    }
    if addr.contains('<') || addr.contains('>') {
        return Some(format!(
            "email \"{addr}\" has a display name or <>; put only the address in the cell"
        ));
    }
    if addr.chars().any(char::is_whitespace) {
        return Some(format!("email \"{addr}\" contains a space"));
    }
    let ats = addr.matches('@').count();
    if ats == 0 {
        return Some(format!("email \"{addr}\" has no @"));
    }
    if ats > 1 {
        return Some(format!("email \"{addr}\" has more than one @"));
    }
    let (local, domain) = addr.split_once('@')?;
    if local.is_empty() {
        return Some(format!("email \"{addr}\" has nothing before the @"));
    }
    if local.len() > 64 {
        return Some(format!(
            "email \"{addr}\": the part before @ is longer than 64 bytes"
        ));
    }
    if domain.is_empty() {
        return Some(format!("email \"{addr}\" has no domain after the @"));
    }
    if !domain.contains('.') {
        return Some(format!("email \"{addr}\": domain \"{domain}\" has no dot"));
    }
    if domain.split('.').any(str::is_empty) {
        return Some(format!(
            "email \"{addr}\": domain \"{domain}\" has an empty part (..)"
        ));
    }
    if addr.parse::<lettre::Address>().is_err() {
        return Some(format!("email \"{addr}\" is not a valid address"));
    }
    None
}

/// The default customer key: the address, normalised and case-folded, so
/// that `Maria@Example.GR` and `ｍａｒｉａ@example.gr` are one customer.
pub fn key(addr: &str) -> String {
    fold(&normalise(addr).address)
}

/// The key of an address that is already normalised (as the reader holds it).
pub fn fold(addr: &str) -> String {
    addr.to_lowercase()
}

/// The mailbox an address reaches, for finding two customers who share one:
/// the [`key`], with a domain written in punycode read back as Unicode
/// (`xn--hxajbheg2az3al.xn--qxam` and `παράδειγμα.ελ` are one domain).
pub fn mailbox(addr: &str) -> String {
    mailbox_of_normalised(&normalise(addr).address)
}

/// [`mailbox`] of an address that is already normalised (as the reader holds it).
pub fn mailbox_of_normalised(addr: &str) -> String {
    let key = fold(addr);
    match key.rsplit_once('@') {
        Some((local, domain)) if domain.contains("xn--") => match idna::domain_to_unicode(domain) {
            (unicode, Ok(())) => format!("{local}@{}", fold(&unicode)),
            (_, Err(_)) => key,
        },
        _ => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Pieces addresses are made of, right and wrong: atoms, dots, specials,
    /// quotes, spaces, brackets, case, punycode, non-ASCII letters, invisible
    /// and fullwidth characters.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-zA-Z0-9]{1,12}",
            1 => prop::sample::select(vec![
                ".", "..", "-", "_", "+", "'", "!#$%&*/=?^`{|}~", "\"", " ", "\t", "<", ">", "@",
                "[", "]", "(", ")", ",", ";", ":", "\\", "xn--", "XN--", "é", "Ω", "παράδειγμα",
                "\u{200b}", "\u{feff}", "\u{a0}", "ｍ", "＠", "．", "\u{301}", "\u{0}", "\u{7f}",
            ]).prop_map(String::from),
            1 => "[a-z]{60,70}".prop_map(String::from),
        ]
    }

    fn part() -> impl Strategy<Value = String> {
        prop::collection::vec(piece(), 0..5).prop_map(|p| p.concat())
    }

    /// An address: mostly `local@domain.tld` shapes, some of them broken.
    fn address() -> impl Strategy<Value = String> {
        let labels = prop::collection::vec(part(), 0..5).prop_map(|l| l.join("."));
        prop_oneof![
            3 => (part(), labels).prop_map(|(local, domain)| format!("{local}@{domain}")),
            1 => prop::collection::vec(piece(), 0..10).prop_map(|p| p.concat()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn the_quick_look_at_plain_addresses_says_what_every_check_says(addr in address()) {
            prop_assert_eq!(problem(&addr), problem_in_full(&addr), "{:?}", addr);
        }
    }

    #[test]
    fn plain_addresses_at_every_limit_are_judged_as_every_check_judges_them() {
        let label63 = "a".repeat(63);
        let domain254 = format!("{label63}.{label63}.{label63}.{}", "b".repeat(62));
        assert_eq!(domain254.len(), 254);
        let table = [
            // (address, takes the quick look)
            (format!("{}@example.gr", "a".repeat(64)), true),
            (format!("{}@example.gr", "a".repeat(65)), false),
            (format!("maria@{label63}.gr"), true),
            (format!("maria@{label63}a.gr"), false),
            (format!("m@{domain254}"), true),
            (format!("m@{domain254}b"), false),
            ("a@b.c".to_string(), true),
            ("1@2.3".to_string(), true),
            ("o'brien+news@mail-1.example.co.uk".to_string(), true),
            ("Maria.Papadopoulou@Example.GR".to_string(), true),
            ("maria@-example.gr".to_string(), false),
            ("maria@example-.gr".to_string(), false),
            ("maria@example".to_string(), false),
            ("maria@exa_mple.gr".to_string(), false),
            (".maria@example.gr".to_string(), false),
            ("maria.@example.gr".to_string(), false),
            ("ma..ria@example.gr".to_string(), false),
            ("\"maria\"@example.gr".to_string(), false),
            ("maria@[127.0.0.1]".to_string(), false),
            ("maria@xn--hxajbheg2az3al.xn--qxam".to_string(), true),
            ("eleni@παράδειγμα.ελ".to_string(), false),
            ("maria@@example.gr".to_string(), false),
            ("".to_string(), false),
        ];
        for (addr, quick) in table {
            assert_eq!(is_plain(&addr), quick, "{addr}");
            assert_eq!(problem(&addr), problem_in_full(&addr), "{addr}");
            if quick {
                assert_eq!(problem_in_full(&addr), None, "{addr}");
            }
        }
    }

    #[test]
    fn accepts_real_addresses() {
        for a in [
            "maria@example.gr",
            "o'brien@example.com",
            "eleni@παράδειγμα.ελ",
            "a.b+c@x.co.il",
        ] {
            assert_eq!(problem(a), None, "{a}");
        }
    }

    #[test]
    fn names_what_is_wrong() {
        let cases = [
            ("maria@", "no domain"),
            ("maria.example.gr", "no @"),
            ("a@@b.gr", "more than one @"),
            ("a@b..gr", "empty part"),
            ("Maria <maria@example.gr>", "display name"),
            ("", "empty"),
        ];
        for (addr, why) in cases {
            let p = problem(addr).unwrap_or_default();
            assert!(p.contains(why), "{addr}: {p}");
        }
        let long = format!("{}@example.gr", "a".repeat(65));
        assert!(problem(&long).unwrap().contains("64"));
    }

    #[test]
    fn trims_spaces_and_nbsp_and_folds_case_for_the_key() {
        assert_eq!(clean(" \u{a0}Maria@Example.GR\u{a0} "), "Maria@Example.GR");
        assert_eq!(key("Maria@Example.GR"), "maria@example.gr");
    }

    #[test]
    fn every_invisible_character_anywhere_in_an_address_is_removed_and_named() {
        let members: Vec<char> = (0xA0..=0xE0FFFu32)
            .filter_map(char::from_u32)
            .filter(|c| invisible::is_invisible(*c))
            .collect();
        for c in members {
            for cell in [
                format!("{c}maria@example.gr"),
                format!("mar{c}ia@example.gr"),
                format!("maria@{c}example.gr"),
                format!("maria@example.gr{c}"),
                format!(" {c} Maria@Example.GR {c} "),
            ] {
                let n = normalise(&cell);
                assert_eq!(n.address.to_lowercase(), "maria@example.gr", "{cell:?}");
                assert_eq!(n.removed, vec![c], "{cell:?}");
                assert_eq!(problem(&n.address), None, "{cell:?}");
                assert_eq!(key(&cell), "maria@example.gr");
                assert_eq!(mailbox(&cell), "maria@example.gr");
            }
        }
    }

    #[test]
    fn compatibility_forms_are_read_through_nfkc_and_say_how_they_were_written() {
        let table = [
            ("ｍａｒｉａ@example.gr", "maria@example.gr", "(fullwidth)"),
            (
                "maria＠ｅｘａｍｐｌｅ．ｇｒ",
                "maria@example.gr",
                "(fullwidth)",
            ),
            (
                "\u{FB01}lippos@example.gr",
                "filippos@example.gr",
                "in compatibility characters",
            ),
            (
                "maria\u{00B2}@example.gr",
                "maria2@example.gr",
                "in compatibility characters",
            ),
            ("ｶ@example.jp", "カ@example.jp", "(halfwidth)"),
            (
                "ele\u{0301}ni@example.gr",
                "eléni@example.gr",
                "accents as separate marks",
            ),
            (
                "ｍａｒ\u{200B}ｉａ@example.gr",
                "maria@example.gr",
                "(fullwidth)",
            ),
        ];
        for (cell, want, how) in table {
            let n = normalise(cell);
            assert_eq!(n.address, want, "{cell:?}");
            assert!(
                n.rewritten.unwrap_or("").contains(how),
                "{cell:?}: {:?}",
                n.rewritten
            );
        }
        for plain in [
            "maria@example.gr",
            "eleni@παράδειγμα.ελ",
            "Maria@Example.GR",
        ] {
            assert_eq!(normalise(plain).rewritten, None, "{plain}");
            assert!(
                matches!(normalise(plain).address, Cow::Borrowed(_)),
                "{plain}"
            );
        }
    }

    #[test]
    fn one_mailbox_whatever_the_case_width_or_domain_form() {
        let one = [
            "maria@example.gr",
            "MARIA@EXAMPLE.GR",
            "ｍａｒｉａ@example.gr",
            "maria\u{200B}@example.gr",
        ];
        for a in one {
            assert_eq!(mailbox(a), "maria@example.gr", "{a}");
        }
        assert_eq!(
            mailbox("eleni@παράδειγμα.ελ"),
            mailbox("eleni@xn--hxajbheg2az3al.xn--qxam")
        );
        assert_eq!(
            mailbox("ELENI@ΠΑΡΆΔΕΙΓΜΑ.ΕΛ"),
            mailbox("Eleni@XN--HXAJBHEG2AZ3AL.XN--QXAM")
        );
        assert_ne!(mailbox("maria@example.gr"), mailbox("maria2@example.gr"));
    }
}
