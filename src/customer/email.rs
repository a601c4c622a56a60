//! Email addresses from a spreadsheet cell: trimmed, checked, keyed.
//!
//! The checks come first with a precise reason, so the owner learns *what*
//! is wrong with `a@@b.gr`; lettre's own parser is the final word.

/// Trim spaces and no-break spaces that spreadsheets leave around addresses.
pub fn clean(cell: &str) -> &str {
    cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{feff}')
}

/// Why `addr` cannot be used, or `None` if it can.
pub fn problem(addr: &str) -> Option<String> {
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

/// The default customer key: the address, case-folded, so that
/// `Maria@Example.GR` and `maria@example.gr` are one customer.
pub fn key(addr: &str) -> String {
    addr.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
