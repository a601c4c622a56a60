//! Greek: the vocative case of first names.
//!
//! Masculine names change their ending (Σταμάτης → Σταμάτη, Γιώργος → Γιώργο,
//! Αλέξανδρος → Αλέξανδρε); feminine names do not. The -ος rule depends on
//! where the stress falls, so the stress mark matters: names stressed on the
//! third syllable from the end take -ε, the others -ο. Formal names in -ιος
//! with four or more syllables (Γεώργιος, Δημήτριος) take -ιε.
//! Κωνσταντίνος → Κωνσταντίνε follows the traditional form the spec asks for.
use crate::customer::Gender;
use crate::customer::invisible;

/// Names whose vocative is not what the rules give.
const EXCEPTIONS: &[(&str, &str)] = &[("κωνσταντίνος", "κωνσταντίνε")];

/// Names in -ος stressed on the third syllable from the end, without their
/// accents: what an unaccented spelling (ΑΛΕΞΑΝΔΡΟΣ typed as Αλεξανδρος)
/// needs to still take -ε.
const ANTEPENULT_OS: &[&str] = &[
    "αλεξανδρος",
    "θεοδωρος",
    "αποστολος",
    "χριστοφορος",
    "προδρομος",
    "θεοφιλος",
    "ευσταθιος",
    "φιλιππος",
    "σταυρος",
    "ονουφριος",
    "παντελεημονας",
    "μενελαος",
    "νικοδημος",
    "θεμιστοκλης",
    "αριστοτελης",
    "ιεροθεος",
    "τιμοθεος",
    "δωροθεος",
    "θεοφραστος",
    "αγαθοκλης",
];

fn is_greek(c: char) -> bool {
    matches!(c, '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}')
}

fn is_vowel(c: char) -> bool {
    "αεηιουωάέήίόύώϊϋΐΰ".contains(c)
}

fn is_accented(c: char) -> bool {
    "άέήίόύώΐΰ".contains(c)
}

/// Syllables as vowel groups (αι, ει, ου, αυ, ευ and ι/υ before a vowel count once).
/// Returns (number of groups, index from the end of the accented group if any).
fn stress(word: &str) -> (usize, Option<usize>) {
    let chars: Vec<char> = word.chars().collect();
    let mut groups: Vec<bool> = Vec::new(); // accented?
    let mut i = 0;
    while i < chars.len() {
        if !is_vowel(chars[i]) {
            i += 1;
            continue;
        }
        let mut accented = is_accented(chars[i]);
        let mut j = i + 1;
        while j < chars.len() && is_vowel(chars[j]) {
            let pair: String = [chars[j - 1], chars[j]].iter().collect();
            let digraph = matches!(
                pair.as_str(),
                "αι" | "ει"
                    | "οι"
                    | "ου"
                    | "αυ"
                    | "ευ"
                    | "αί"
                    | "εί"
                    | "οί"
                    | "ού"
                    | "αύ"
                    | "εύ"
                    | "υι"
            );
            // ι before an accented vowel is a glide (Γιώργος: two syllables), but an accented ί is a syllable of its own.
            let glide = matches!(chars[j - 1], 'ι' | 'υ')
                && is_accented(chars[j])
                && !is_accented(chars[j - 1]);
            if digraph || glide {
                accented |= is_accented(chars[j]);
                j += 1;
            } else {
                break;
            }
        }
        groups.push(accented);
        i = j;
    }
    let from_end = groups.iter().rev().position(|a| *a);
    (groups.len(), from_end)
}

fn vocative_word(word: &str) -> String {
    let lower = word.to_lowercase();
    if !lower.chars().any(is_greek) {
        return word.to_string();
    }
    if let Some((_, v)) = EXCEPTIONS.iter().find(|(n, _)| *n == lower) {
        return recase(word, v);
    }
    let voc = if let Some(stem) = lower.strip_suffix('ς').or_else(|| lower.strip_suffix('σ')) {
        if stem.ends_with(['η', 'ή', 'α', 'ά', 'ε', 'έ']) {
            // Σταμάτης → Σταμάτη, Ηλίας → Ηλία, Γιωργής → Γιωργή
            stem.to_string()
        } else if let Some(base) = stem.strip_suffix('ο').or_else(|| stem.strip_suffix('ό')) {
            let (syllables, accent) = stress(&lower);
            if lower.ends_with("ιος") {
                // Γεώργιος → Γεώργιε, but Στέλιος → Στέλιο, Μάριος → Μάριο
                if syllables >= 4 {
                    format!("{base}ε")
                } else {
                    format!("{base}ο")
                }
            } else if accent == Some(2)
                || (accent.is_none() && ANTEPENULT_OS.contains(&lower.as_str()))
            {
                format!("{base}ε") // Αλέξανδρος → Αλέξανδρε
            } else if stem.ends_with('ό') {
                format!("{base}ό") // stress on the ending stays there
            } else {
                format!("{base}ο") // Γιώργος → Γιώργο
            }
        } else {
            lower.clone()
        }
    } else {
        lower.clone()
    };
    recase(word, &voc)
}

/// Give `new` the casing of `original`: ΣΤΑΜΑΤΗΣ → ΣΤΑΜΑΤΗ, Σταμάτης → Σταμάτη.
fn recase(original: &str, new: &str) -> String {
    let letters: Vec<char> = original.chars().filter(|c| c.is_alphabetic()).collect();
    let all_upper = letters.len() > 1 && letters.iter().all(|c| c.is_uppercase());
    if all_upper {
        // Capital Greek letters drop the stress mark.
        return new
            .chars()
            .map(strip_accent)
            .flat_map(char::to_uppercase)
            .collect();
    }
    let first_upper = original.chars().next().is_some_and(char::is_uppercase);
    let mut out = String::with_capacity(new.len());
    for (i, c) in new.chars().enumerate() {
        if i == 0 && first_upper {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn strip_accent(c: char) -> char {
    match c {
        'ά' => 'α',
        'έ' => 'ε',
        'ή' => 'η',
        'ί' => 'ι',
        'ό' => 'ο',
        'ύ' => 'υ',
        'ώ' => 'ω',
        'ΐ' => 'ϊ',
        'ΰ' => 'ϋ',
        other => other,
    }
}

/// Gender from a Greek first name's ending, for a row whose gender cell is
/// blank: -ος, -ης, -ας, -ων, -ής, -άς are masculine (Γιώργος, Σταμάτης,
/// Ηλίας, Πλάτων); -α, -η, -ω, -ού and -ις are feminine (Μαρία, Ελένη,
/// Φρόσω, Άρτεμις). Diminutives in -ι (Μαράκι) and names in other scripts
/// are not guessed. A compound name goes by its first part.
pub fn infer_gender(first_name: &str) -> Option<Gender> {
    // Invisible characters (a zero-width space pasted before the name) are not letters of it.
    let first: String = invisible::strip(first_name)
        .trim()
        .chars()
        .take_while(|c| c.is_alphabetic())
        .collect::<String>()
        .to_lowercase();
    if first.chars().count() < 2 || !first.chars().all(is_greek) {
        return None;
    }
    let plain: String = first.chars().map(strip_accent).collect();
    let plain = plain.replace('σ', "ς");
    if ["ος", "ης", "ας", "ων", "ους", "ες"]
        .iter()
        .any(|e| plain.ends_with(e))
    {
        return Some(Gender::Male);
    }
    if plain.ends_with("ις") || plain.ends_with(['α', 'η', 'ω']) || plain.ends_with("ου") {
        return Some(Gender::Female);
    }
    None
}

/// The vocative of a (possibly compound) first name. Feminine names and
/// names in other scripts are returned as written.
/// Invisible characters at the ends are dropped, and inside a Greek word
/// they neither split it nor stay in it (Σταμ\u{200B}άτης → Σταμάτη).
pub fn vocative(name: &str, gender: Gender) -> String {
    let name = invisible::clean_name(name);
    let mut out = String::with_capacity(name.len());
    // The letters of the current word, and the word as written (with any invisible characters).
    let mut word = String::new();
    let mut written = String::new();
    let flush = |out: &mut String, word: &mut String, written: &mut String| {
        if !word.chars().any(is_greek) {
            out.push_str(written);
        } else if gender == Gender::Female {
            out.push_str(word);
        } else {
            out.push_str(&vocative_word(word));
        }
        word.clear();
        written.clear();
    };
    for c in name.chars() {
        if c.is_alphabetic() {
            word.push(c);
            written.push(c);
        } else if !word.is_empty() && invisible::is_invisible(c) {
            written.push(c);
        } else {
            flush(&mut out, &mut word, &mut written);
            out.push(c);
        }
    }
    flush(&mut out, &mut word, &mut written);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masculine_names_take_the_vocative() {
        let table = [
            ("Σταμάτης", "Σταμάτη"),
            ("Δημήτρης", "Δημήτρη"),
            ("Ηλίας", "Ηλία"),
            ("Λουκάς", "Λουκά"),
            ("Κώστας", "Κώστα"),
            ("Γιώργος", "Γιώργο"),
            ("Νίκος", "Νίκο"),
            ("Στέλιος", "Στέλιο"),
            ("Αλέξανδρος", "Αλέξανδρε"),
            ("Θεόδωρος", "Θεόδωρε"),
            ("Απόστολος", "Απόστολε"),
            ("Γεώργιος", "Γεώργιε"),
            ("Κωνσταντίνος", "Κωνσταντίνε"),
            ("Παύλος", "Παύλο"),
            ("Γιωργής", "Γιωργή"),
            ("ΣΤΑΜΑΤΗΣ", "ΣΤΑΜΑΤΗ"),
            ("Γιάννης-Μάριος", "Γιάννη-Μάριο"),
            ("Γιάννης", "Γιάννη"),
            ("Μανώλης", "Μανώλη"),
            ("Μιχάλης", "Μιχάλη"),
            ("Βασίλης", "Βασίλη"),
            ("Θανάσης", "Θανάση"),
            ("Αντώνης", "Αντώνη"),
            ("Παναγιώτης", "Παναγιώτη"),
            ("Χρήστος", "Χρήστο"),
            ("Σπύρος", "Σπύρο"),
            ("Πέτρος", "Πέτρο"),
            ("Μάρκος", "Μάρκο"),
            ("Λάμπρος", "Λάμπρο"),
            ("Άγγελος", "Άγγελε"),
            ("Στέφανος", "Στέφανε"),
            ("Χριστόφορος", "Χριστόφορε"),
            ("Πρόδρομος", "Πρόδρομε"),
            ("Φίλιππος", "Φίλιππε"),
            ("Σταύρος", "Σταύρο"),
            ("Νικόλαος", "Νικόλαε"),
            ("Δημήτριος", "Δημήτριε"),
            ("Βασίλειος", "Βασίλειε"),
            ("Αναστάσιος", "Αναστάσιε"),
            ("Ευάγγελος", "Ευάγγελε"),
            ("Βαγγέλης", "Βαγγέλη"),
            ("Μάριος", "Μάριο"),
            ("Ανδρέας", "Ανδρέα"),
            ("Θωμάς", "Θωμά"),
            ("Νικόλας", "Νικόλα"),
            ("Τάσος", "Τάσο"),
            ("Πάνος", "Πάνο"),
            ("Άρης", "Άρη"),
            ("Χάρης", "Χάρη"),
            ("Λευτέρης", "Λευτέρη"),
            ("Θοδωρής", "Θοδωρή"),
            ("Μιλτιάδης", "Μιλτιάδη"),
            ("Περικλής", "Περικλή"),
            ("Σωκράτης", "Σωκράτη"),
            ("Αριστοτέλης", "Αριστοτέλη"),
            ("Ιάκωβος", "Ιάκωβε"),
            ("Γρηγόρης", "Γρηγόρη"),
            ("Γιώργος-Αλέξανδρος", "Γιώργο-Αλέξανδρε"),
            ("ΑΛΕΞΑΝΔΡΟΣ", "ΑΛΕΞΑΝΔΡΕ"),
            ("Αλεξανδρος", "Αλεξανδρε"),
            ("Θεοδωρος", "Θεοδωρε"),
            ("Σταματης", "Σταματη"),
            ("Γιωργος", "Γιωργο"),
            ("ΓΙΩΡΓΟΣ", "ΓΙΩΡΓΟ"),
            ("γιώργος", "γιώργο"),
        ];
        for (name, want) in table {
            assert_eq!(vocative(name, Gender::Male), want, "{name}");
        }
    }

    #[test]
    fn gender_is_inferred_from_greek_endings_only() {
        let table = [
            ("Γιώργος", Some(Gender::Male)),
            ("Σταμάτης", Some(Gender::Male)),
            ("Ηλίας", Some(Gender::Male)),
            ("Λουκάς", Some(Gender::Male)),
            ("Πλάτων", Some(Gender::Male)),
            ("ΚΩΣΤΑΣ", Some(Gender::Male)),
            ("Γιαννης", Some(Gender::Male)),
            ("Γιάννης-Μάριος", Some(Gender::Male)),
            ("Μαρία", Some(Gender::Female)),
            ("Ελένη", Some(Gender::Female)),
            ("Κατερίνα", Some(Gender::Female)),
            ("Φρόσω", Some(Gender::Female)),
            ("Γωγώ", Some(Gender::Female)),
            ("Άρτεμις", Some(Gender::Female)),
            ("ΔΕΣΠΟΙΝΑ", Some(Gender::Female)),
            ("Μαράκι", None),
            ("Stamatis", None),
            ("שרה", None),
            ("Արամ", None),
            ("", None),
        ];
        for (name, want) in table {
            assert_eq!(infer_gender(name), want, "{name}");
        }
    }

    #[test]
    fn feminine_and_foreign_names_are_unchanged() {
        for name in [
            "Μαρία",
            "Ελένη",
            "Κατερίνα",
            "Σοφία",
            "Δέσποινα",
            "Ευτυχία",
            "Φρόσω",
            "Άρτεμις",
        ] {
            assert_eq!(vocative(name, Gender::Female), name);
            assert_eq!(vocative(name, Gender::Unknown), name);
        }
        for name in ["Stamatis", "דוד", "Արամ", "Nicholas"] {
            assert_eq!(vocative(name, Gender::Male), name);
        }
    }

    #[test]
    fn invisible_characters_do_not_defeat_gender_or_the_vocative() {
        let members: Vec<char> = (0xA0..=0xE0FFFu32)
            .filter_map(char::from_u32)
            .filter(|c| invisible::is_invisible(*c))
            .collect();
        for c in members {
            for (name, gender, voc) in [
                ("Σταμάτης", Gender::Male, "Σταμάτη"),
                ("Γιώργος", Gender::Male, "Γιώργο"),
                ("Μαρία", Gender::Female, "Μαρία"),
            ] {
                let (head, tail) = name.split_at(name.char_indices().nth(3).unwrap().0);
                for dirty in [
                    format!("{c}{name}"),
                    format!("{name}{c}"),
                    format!("{head}{c}{tail}"),
                    format!("{c} {name} {c}"),
                ] {
                    let u = c as u32;
                    assert_eq!(infer_gender(&dirty), Some(gender), "U+{u:04X} {dirty:?}");
                    assert_eq!(vocative(&dirty, gender), voc, "U+{u:04X} {dirty:?}");
                }
            }
        }
    }
}
