//! Customer lists as spreadsheets really write them: one fixture per quirk
//! (tests/fixtures/customers/, made byte-exactly by make.py there), each read
//! by the real binary.
use crate::support::{REPO, Run, Shop, birthday_parts, customer_rows, due_names};

fn shop_with(fixture: &str) -> Shop {
    let bytes = std::fs::read(format!("{REPO}/tests/fixtures/customers/{fixture}")).unwrap();
    let shop = Shop::samples();
    std::fs::write(shop.path("customers.csv"), bytes).unwrap();
    shop
}

/// `preview birthday --date 2026-03-14 --format json`, which must succeed.
fn preview_14_march(shop: &Shop) -> Run {
    shop.preview_run("birthday", "2026-03-14").expect(0)
}

fn due_on_14_march(shop: &Shop) -> (Vec<String>, String) {
    let run = preview_14_march(shop);
    (due_names(&run.json()), run.stderr())
}

fn set_encoding(shop: &Shop, encoding: &str) {
    shop.edit(
        "greet.toml",
        "date_order = \"dmy\"",
        &format!("date_order = \"dmy\"\nencoding = \"{encoding}\""),
    );
}

#[test]
fn utf8_with_bom_and_loose_headers_is_read() {
    let (names, _) = due_on_14_march(&shop_with("utf8_bom.csv"));
    assert_eq!(names, ["Άννα"]);
}

#[test]
fn excel_unicode_text_utf16le_tab_separated_is_read() {
    let (names, _) = due_on_14_march(&shop_with("utf16le_bom_tab.csv"));
    assert_eq!(names, ["Άννα", "שרה"]);
}

#[test]
fn utf16be_with_bom_is_read() {
    let (names, _) = due_on_14_march(&shop_with("utf16be_bom.csv"));
    assert_eq!(names, ["Արամ"]);
}

#[test]
fn windows_1253_without_config_is_refused_naming_the_fix() {
    let shop = shop_with("windows1253.csv");
    let err = shop
        .run(&["preview", "birthday", "--date", "2026-03-14"])
        .expect(2)
        .stderr();
    assert!(
        err.contains("customers.csv:2:2: bytes that are not UTF-8"),
        "{err}"
    );
    assert!(err.contains("encoding = \"windows-1253\""), "{err}");
    assert!(err.contains("greet.toml"), "{err}");
    let out = shop.run(&["check"]).expect(2).stdout();
    assert!(
        out.contains("customers.csv:2:2: bytes that are not UTF-8"),
        "{out}"
    );
}

#[test]
fn windows_1253_with_config_keeps_the_accented_alpha() {
    let shop = shop_with("windows1253.csv");
    set_encoding(&shop, "windows-1253");
    let (names, _) = due_on_14_march(&shop);
    assert_eq!(names, ["Άννα", "Νίκος"], "Ά must not become ’");
}

#[test]
fn windows_1255_hebrew_with_config_is_read() {
    let shop = shop_with("windows1255.csv");
    set_encoding(&shop, "windows-1255");
    let (names, _) = due_on_14_march(&shop);
    assert_eq!(names, ["שרה", "דוד"]);
}

#[test]
fn an_unknown_encoding_name_is_a_config_error() {
    let shop = shop_with("windows1253.csv");
    set_encoding(&shop, "greek-please");
    let err = shop.run(&["preview", "birthday"]).expect(2).stderr();
    assert!(
        err.contains("encoding \"greek-please\" is not one greet knows"),
        "{err}"
    );
}

#[test]
fn mixed_encodings_are_refused_at_the_line_of_the_first_bad_byte() {
    let shop = shop_with("mixed_encodings.csv");
    let run = shop.preview_run("birthday", "2026-03-14");
    let run = run.expect(2);
    assert!(
        run.stderr()
            .contains("customers.csv:4:2: bytes that are not UTF-8"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        run.stdout(),
        "",
        "nothing is previewed from a file that cannot be trusted"
    );
}

#[test]
fn semicolon_lists_keep_commas_inside_names() {
    let shop = shop_with("semicolon_commas_in_names.csv");
    let run = preview_14_march(&shop);
    let lines = run.json();
    assert_eq!(lines[0]["full_name"], "Άννα Παππά, το γένος Νικολάου");
    assert_eq!(lines[1]["full_name"], "John Smith, Jr.");
}

#[test]
fn a_delimiter_greet_cannot_read_lists_the_single_column_found() {
    let shop = shop_with("pipe_delimited.csv");
    let out = shop.run(&["check"]).expect(2).stdout();
    assert!(
        out.contains("no email column; the columns found are \"email|first_name|last_name|gender|language|birthday\""),
        "{out}"
    );
}

#[test]
fn crlf_line_ends_leave_no_carriage_return_in_the_data() {
    let shop = shop_with("windows1255.csv");
    set_encoding(&shop, "windows-1255");
    let run = preview_14_march(&shop);
    for l in run.json() {
        assert!(!l["full_name"].as_str().unwrap().contains('\r'));
        assert!(!l["customer"].as_str().unwrap().contains('\r'));
    }
}

#[test]
fn a_line_break_inside_a_name_is_collapsed_with_a_warning() {
    let (names, err) = due_on_14_march(&shop_with("quoted_newline.csv"));
    assert_eq!(names, ["Μαρία Ελένη", "Νίκος"]);
    assert!(
        err.contains(
            "customers.csv:2:2: warning: a line break inside the cell was replaced by a space"
        ),
        "{err}"
    );
}

#[test]
fn an_unclosed_quote_refuses_the_file_at_its_line() {
    let shop = shop_with("unclosed_quote.csv");
    let err = shop
        .run(&["preview", "birthday", "--date", "2026-03-14"])
        .expect(2)
        .stderr();
    assert!(
        err.contains("customers.csv:3:2: a quote opened in this cell is never closed"),
        "{err}"
    );
}

#[test]
fn blank_rows_delimiter_only_rows_and_a_totals_row_are_skipped() {
    let (names, err) = due_on_14_march(&shop_with("blank_rows_and_totals.csv"));
    assert_eq!(names, ["Άννα", "Νίκος"]);
    assert!(
        err.contains("customers.csv:7: warning: skipped a row that looks like a totals row"),
        "{err}"
    );
    assert!(!err.contains("not greeted"), "{err}");
}

#[test]
fn a_missing_email_column_lists_the_columns_found() {
    let out = shop_with("missing_email_column.csv")
        .run(&["check"])
        .expect(2)
        .stdout();
    assert!(
        out.contains(
            "customers.csv:1: no email column; the columns found are \"first_name\", \"last_name\""
        ),
        "{out}"
    );
}

#[test]
fn control_characters_make_the_row_an_error() {
    let (names, err) = due_on_14_march(&shop_with("control_characters.csv"));
    assert_eq!(names, ["Άννα", "Νίκος"]);
    assert!(
        err.contains("customers.csv:3:2: control character U+0000 in the cell"),
        "{err}"
    );
}

#[test]
fn a_list_with_mostly_invalid_rows_is_refused_whole() {
    let shop = shop_with("most_rows_invalid.csv");
    let err = shop
        .run(&["preview", "birthday", "--date", "2026-03-14"])
        .expect(2)
        .stderr();
    assert!(err.contains("4 of 5 rows have problems"), "{err}");
    assert!(err.contains("date_order"), "{err}");
    // With the right date order, the same list reads cleanly.
    shop.edit("greet.toml", "date_order = \"dmy\"", "date_order = \"mdy\"");
    shop.run(&["check"]).expect(0);
}

#[test]
fn greek_headers_are_mapped_in_the_config() {
    let shop = shop_with("greek_headers.csv");
    shop.edit(
        "greet.toml",
        "date_order = \"dmy\"",
        "date_order = \"dmy\"\n[customers.columns]\nfirst_name = \"Όνομα\"\nlast_name = \"Επώνυμο\"\ngender = \"Φύλο\"\nlanguage = \"Γλώσσα\"\nbirthday = \"Γενέθλια\"",
    );
    let run = preview_14_march(&shop);
    let lines = run.json();
    assert_eq!(lines[0]["full_name"], "Άννα Παππά");
    assert!(
        lines[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Αγαπητή Άννα"),
        "gender read from Φύλο"
    );
}

#[test]
fn two_headers_meaning_the_same_column_are_an_error() {
    let out = shop_with("duplicate_headers.csv")
        .run(&["check"])
        .expect(2)
        .stdout();
    assert!(
        out.contains("customers.csv:1:2: columns 1 and 2 both mean email"),
        "{out}"
    );
}

#[test]
fn addresses_are_trimmed_case_folded_and_refused_with_a_precise_reason() {
    let shop = shop_with("addresses.csv");
    let out = shop.run(&["check"]).expect(2).stdout();
    for expected in [
        "customers.csv:3: customer \"maria@example.gr\" appears again on line 4",
        "customers.csv:4: customer \"maria@example.gr\" appears again on line 3",
        "customers.csv:5:1: email \"broken@\" has no domain after the @",
        "customers.csv:6:1: email \"a@@b.gr\" has more than one @",
        "customers.csv:7:1: email \"a@b..gr\": domain \"b..gr\" has an empty part (..)",
        "customers.csv:8:1: email \"xxxx",
        "the part before @ is longer than 64 bytes",
        "customers.csv:9:1: email \"Eleni <eleni@example.gr>\" has a display name or <>",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    assert!(
        !out.contains("customers.csv:2:"),
        "spaces and NBSP are trimmed: {out}"
    );
    assert!(
        !out.contains("customers.csv:10:"),
        "IDN domains are valid: {out}"
    );
    let (names, _) = due_on_14_march(&shop);
    assert!(names.contains(&"Άννα".to_string()));
    assert!(
        !names.contains(&"Μαρία".to_string()),
        "neither duplicate is greeted"
    );
    // Exactly the rows check found no error on are greeted, in list order.
    let errors = problems_by_line(&out, "error");
    let clean: Vec<String> = customer_rows(&shop.read("customers.csv"))
        .iter()
        .zip(2u64..)
        .filter(|(_, line)| !errors.contains_key(line))
        .map(|(row, _)| row["first_name"].clone())
        .collect();
    assert_eq!(names, clean, "{out}");
}

#[test]
fn an_idn_domain_is_kept_for_display() {
    let shop = shop_with("addresses.csv");
    let run = preview_14_march(&shop);
    let to_eleni = run
        .json()
        .into_iter()
        .filter(|l| l["to"] == "eleni@παράδειγμα.ελ")
        .count();
    assert_eq!(to_eleni, 1, "{}", run.stdout());
}

#[test]
fn dates_in_every_spreadsheet_form_are_read_and_impossible_ones_refused() {
    let shop = shop_with("dates.csv");
    let run = preview_14_march(&shop);
    let lines = run.json();
    assert_eq!(
        due_names(&lines),
        ["Άννα", "Γιώργος", "Δήμητρα", "Ελένη", "Φώτης", "Γεωργία"]
    );
    let err = run.stderr();
    assert!(
        err.contains("customers.csv:9:6: birthday \"31/02/1990\" is not a date that exists"),
        "{err}"
    );
    assert!(
        err.contains("customers.csv:10:6: birthday \"29/02/2023\" is not a date that exists"),
        "{err}"
    );
    let march4 = shop
        .run(&[
            "preview",
            "birthday",
            "--date",
            "2026-03-04",
            "--format",
            "json",
        ])
        .expect(0);
    assert_eq!(due_names(&march4.json()), ["Βασίλης"]);
}

// ---- One person is one mailbox: invisible characters, compatibility forms,
// ---- one mailbox under two ids, names lost in an export, impossible dates.

use greet::customer::invisible::{is_bidi_control, is_invisible};

/// Every character of the invisible/format class (see src/customer/invisible.rs).
fn invisible_class() -> Vec<char> {
    (0..=0x10FFFFu32)
        .filter_map(char::from_u32)
        .filter(|c| is_invisible(*c))
        .collect()
}

/// The line numbers of `check`'s problems of one kind (`error` or `warning`),
/// with the messages, from its stdout.
fn problems_by_line(out: &str, severity: &str) -> std::collections::BTreeMap<u64, Vec<String>> {
    let mut by_line: std::collections::BTreeMap<u64, Vec<String>> = Default::default();
    for l in out.lines() {
        let Some(rest) = l.strip_prefix("customers.csv:") else {
            continue;
        };
        let Some((line, rest)) = rest.split_once(':') else {
            continue;
        };
        let Ok(line) = line.parse::<u64>() else {
            continue;
        };
        let warning = rest.contains(": warning: ") || rest.starts_with(" warning: ");
        if warning == (severity == "warning") {
            by_line.entry(line).or_default().push(l.to_string());
        }
    }
    by_line
}

/// A greeting's parsed .eml files from `preview --format eml --out DIR`.
fn eml_messages(shop: &Shop, dir: &str) -> Vec<Vec<u8>> {
    shop.eml_files(dir)
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// The headers a customer's data reaches, decoded: To (name and address) and Subject.
fn data_headers(bytes: &[u8]) -> Vec<String> {
    let msg = mail_parser::MessageParser::default().parse(bytes).unwrap();
    let to = msg.to().unwrap().first().unwrap();
    vec![
        to.name().unwrap_or_default().to_string(),
        to.address().unwrap_or_default().to_string(),
        msg.subject().unwrap_or_default().to_string(),
    ]
}

fn bodies(bytes: &[u8]) -> Vec<String> {
    let msg = mail_parser::MessageParser::default().parse(bytes).unwrap();
    let mut out = vec![msg.body_text(0).unwrap().to_string()];
    out.extend(msg.body_html(0).map(|h| h.to_string()));
    out
}

/// Bidi controls that only the data could have brought: greet itself adds
/// FSI…PDI (U+2068/U+2069) around names of the other direction, nothing else.
fn foreign_bidi(text: &str) -> Option<char> {
    text.chars()
        .find(|c| is_bidi_control(*c) && !matches!(c, '\u{2068}' | '\u{2069}'))
}

#[test]
fn invisible_characters_in_an_address_never_make_a_second_customer() {
    let shop = shop_with("invisible_characters.csv");
    let out = shop.run(&["check"]).expect(2).stdout();
    for expected in [
        "customers.csv:2: customer \"maria@example.gr\" appears again on line 3, 4; neither row is greeted",
        "customers.csv:3: customer \"maria@example.gr\" appears again on line 2, 4; neither row is greeted",
        "customers.csv:4: customer \"maria@example.gr\" appears again on line 2, 3; neither row is greeted",
        "customers.csv:3:1: warning: address \"maria@example.gr\" held invisible characters (U+200B ZERO WIDTH SPACE); they were removed",
        "customers.csv:4:1: warning: address \"Maria@Example.GR\" held invisible characters (U+FEFF ZERO WIDTH NO-BREAK SPACE (BOM))",
        "customers.csv:5:1: warning: address \"nikos@example.gr\" held invisible characters (U+00AD SOFT HYPHEN)",
        "customers.csv:6:1: warning: address \"sarah@example.co.il\" held invisible characters (U+200F RIGHT-TO-LEFT MARK)",
        "customers.csv:9:1: warning: address \"eleni@example.gr\" held invisible characters (U+2066 LEFT-TO-RIGHT ISOLATE, U+2069 POP DIRECTIONAL ISOLATE)",
        "customers.csv:10:1: warning: address \"stelios@example.gr\" held invisible characters (U+200C ZERO WIDTH NON-JOINER, U+200D ZERO WIDTH JOINER)",
        "customers.csv:5:4: warning: gender inferred as m from the name Νίκος",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    let run = preview_14_march(&shop);
    let lines = run.json();
    assert_eq!(
        due_names(&lines),
        ["Νίκος", "שרה", "Άννα", "דוד", "Ελένη", "Στέλιος"]
    );
    let maria: Vec<_> = lines.iter().filter(|l| l["name"] == "Μαρία").collect();
    assert_eq!(maria.len(), 3);
    assert!(maria.iter().all(|l| l["status"] == "invalid"), "{maria:?}");
    for l in &lines {
        let to = l["to"].as_str().unwrap();
        assert!(!to.chars().any(is_invisible), "{to:?}");
    }
    // A leading zero-width space defeats neither gender inference nor the vocative.
    let nikos = lines.iter().find(|l| l["name"] == "Νίκος").unwrap();
    assert!(
        nikos["text"].as_str().unwrap().starts_with("Αγαπητέ Νίκο,"),
        "{nikos}"
    );
}

#[test]
fn every_invisible_character_at_the_start_middle_or_end_of_an_address_is_the_same_customer() {
    // For each character of the class, one address written clean and three
    // times with the character in it: at the start (no id: the same key), in
    // the middle and at the end (with ids of their own: the same mailbox).
    let class = invisible_class();
    assert!(class.len() > 4000, "{}", class.len());
    let mut csv = String::from("id,email,first_name,last_name,gender,language,birthday\n");
    for (i, c) in class.iter().enumerate() {
        csv.push_str(&format!(",a{i}@example.gr,Μαρία,Κ,f,el,14/03/1990\n"));
        csv.push_str(&format!(",{c}a{i}@example.gr,Μαρία,Κ,f,el,14/03/1990\n"));
        csv.push_str(&format!(
            "M{i},a{c}{i}@example.gr,Μαρία,Κ,f,el,14/03/1990\n"
        ));
        csv.push_str(&format!(
            "E{i},a{i}@example.gr{c},Μαρία,Κ,f,el,14/03/1990\n"
        ));
    }
    let shop = Shop::with_customers(&csv);
    let out = shop.run(&["check"]).expect(2).stdout();
    let errors = problems_by_line(&out, "error");
    let warnings = problems_by_line(&out, "warning");
    for (i, c) in class.iter().enumerate() {
        let first = 2 + 4 * i as u64;
        let code = format!("U+{:04X}", *c as u32);
        for line in first..first + 4 {
            let errs = errors.get(&line).cloned().unwrap_or_default();
            assert!(
                errs.iter().any(|e| e.contains("neither row is greeted")),
                "line {line} ({code}) is not reported as the same customer: {errs:?}"
            );
        }
        // The same key (line 2 and the address with the character at its start)…
        assert!(
            errors[&first].iter().any(|e| e.contains(&format!(
                "customer \"a{i}@example.gr\" appears again on line {}",
                first + 1
            ))),
            "{:?}",
            errors[&first]
        );
        // …and the same mailbox under another id, both lines named.
        assert!(
            errors[&(first + 2)].iter().any(|e| e.starts_with(&format!(
                "customers.csv:{}:2: customer \"M{i}\" has the same mailbox \"a{i}@example.gr\" as line {first}",
                first + 2
            )) && e.contains(&format!("line {} (customer \"E{i}\")", first + 3))),
            "{:?}",
            errors[&(first + 2)]
        );
        for line in first + 1..first + 4 {
            let warns = warnings.get(&line).cloned().unwrap_or_default();
            assert!(
                warns.iter().any(|w| w.contains(&format!(
                    ":2: warning: address \"a{i}@example.gr\" held invisible characters ({code}"
                ))),
                "line {line}: {warns:?}"
            );
        }
    }
    let lines = shop.preview_json("birthday", "2026-03-14");
    assert_eq!(lines.len(), 4 * class.len());
    assert_eq!(
        due_names(&lines),
        Vec::<String>::new(),
        "never greeted twice, nor once"
    );
    assert!(lines.iter().all(|l| l["status"] == "invalid"));
}

#[test]
fn fullwidth_addresses_are_read_in_their_normal_form_with_a_warning() {
    let shop = shop_with("fullwidth_addresses.csv");
    let out = shop.run(&["check"]).expect(2).stdout();
    for expected in [
        "customers.csv:2:1: warning: address \"ｍａｒｉａ@example.gr\" written in compatibility (fullwidth) characters; read as maria@example.gr",
        "customers.csv:3:1: warning: address \"ｎｉｋｏｓ＠ｅｘａｍｐｌｅ．ｇｒ\" written in compatibility (fullwidth) characters; read as nikos@example.gr",
        "customers.csv:6:1: warning: address \"ﬁlippos@example.gr\" written in compatibility characters; read as filippos@example.gr",
        "customers.csv:4: customer \"anna@example.gr\" appears again on line 5; neither row is greeted",
        "customers.csv:5: customer \"anna@example.gr\" appears again on line 4; neither row is greeted",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    let lines = preview_14_march(&shop).json();
    assert_eq!(due_names(&lines), ["Μαρία", "Νίκος", "Φίλιππος"]);
    let to: Vec<&str> = lines
        .iter()
        .filter(|l| l["status"] == "due")
        .map(|l| l["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        to,
        [
            "maria@example.gr",
            "nikos@example.gr",
            "filippos@example.gr"
        ]
    );
    // The message itself goes to the normalised address.
    shop.preview_batch("birthday", "2026-03-14", "batch")
        .expect(0);
    let addresses: Vec<String> = eml_messages(&shop, "batch")
        .iter()
        .map(|m| data_headers(m)[1].clone())
        .collect();
    assert_eq!(
        addresses,
        [
            "maria@example.gr",
            "nikos@example.gr",
            "filippos@example.gr"
        ]
    );
}

#[test]
fn one_mailbox_under_two_ids_is_reported_on_both_lines_and_neither_is_greeted() {
    let shop = shop_with("same_mailbox_two_ids.csv");
    let out = shop.run(&["check"]).expect(2).stdout();
    for expected in [
        "customers.csv:2:2: customer \"C001\" has the same mailbox \"maria@example.gr\" as line 4 (customer \"C003\"); one mailbox is one person — neither row is greeted until one is removed",
        "customers.csv:4:2: customer \"C003\" has the same mailbox \"maria@example.gr\" as line 2 (customer \"C001\")",
        "customers.csv:5:2: customer \"C004\" has the same mailbox \"nikos@example.gr\" as line 6",
        "customers.csv:6:2: customer \"nikos@example.gr\" has the same mailbox \"nikos@example.gr\" as line 5 (customer \"C004\")",
        "customers.csv:7:2: customer \"C006\" has the same mailbox \"eleni@παράδειγμα.ελ\" as line 8 (customer \"C007\")",
        "customers.csv:8:2: customer \"C007\" has the same mailbox \"eleni@παράδειγμα.ελ\" as line 7 (customer \"C006\")",
        "customers.csv: 8 rows read, 2 usable",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    let lines = preview_14_march(&shop).json();
    assert_eq!(due_names(&lines), ["Άννα", "Σοφία"]);
    let invalid: Vec<&str> = lines
        .iter()
        .filter(|l| l["status"] == "invalid")
        .map(|l| l["customer"].as_str().unwrap())
        .collect();
    assert_eq!(
        invalid,
        ["C001", "C003", "C004", "nikos@example.gr", "C006", "C007"]
    );
}

#[test]
fn names_lost_in_an_export_are_row_errors_at_their_cell() {
    let shop = shop_with("lost_names.csv");
    let out = shop.run(&["check"]).expect(2).stdout();
    for expected in [
        "customers.csv:3:2: first_name \"????\" has no letters, only placeholders — the export lost them",
        "customers.csv:4:3: last_name \"???\" has no letters, only placeholders",
        "customers.csv:5:2: first_name \"Μα\u{FFFD}ία\" has a replacement character U+FFFD where a letter was lost",
        "customers.csv:9:2: first_name \"\u{FFFD}\u{FFFD}\" has no letters, only placeholders",
        "customers.csv:7:2: warning: first_name \"Nar?k\" has \"?\" among its letters; an export may have lost a letter there",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    assert!(
        !out.contains("customers.csv:8:"),
        "\"-\" is no last name: {out}"
    );
    let lines = preview_14_march(&shop).json();
    assert_eq!(
        due_names(&lines),
        ["Άννα", "Νίκος", "Nar?k", "Ελένη", "Σοφία", "Πέτρος"]
    );
    for l in &lines {
        let text = l["text"].as_str().unwrap_or_default();
        assert!(!text.contains("??") && !text.contains('\u{FFFD}'), "{text}");
    }
}

#[test]
fn a_name_of_placeholders_is_refused_in_every_spelling() {
    let lost = [
        "?",
        "??",
        "????",
        "? ?",
        "?.?",
        "(?)",
        "\u{FFFD}",
        "\u{FFFD}\u{FFFD}\u{FFFD}",
        "？？",
        "\u{200B}???",
        "?-?",
        "Μα\u{FFFD}ία",
        "\u{FFFD}nna",
    ];
    let mut csv = String::from("email,first_name,last_name,gender,language,birthday\n");
    for i in 0..lost.len() * 2 {
        csv.push_str(&format!("ok{i}@example.gr,Άννα,Π,f,el,14/03/1990\n"));
    }
    for (i, name) in lost.iter().enumerate() {
        csv.push_str(&format!("f{i}@example.gr,{name},Π,f,el,14/03/1990\n"));
        csv.push_str(&format!("l{i}@example.gr,Άννα,{name},f,el,14/03/1990\n"));
    }
    let shop = Shop::with_customers(&csv);
    let out = shop.run(&["check"]).expect(2).stdout();
    let errors = problems_by_line(&out, "error");
    let first = 2 + 2 * lost.len() as u64;
    for (i, name) in lost.iter().enumerate() {
        let line = first + 2 * i as u64;
        assert!(
            errors[&line][0].starts_with(&format!("customers.csv:{line}:2: first_name")),
            "{name:?}: {:?}",
            errors.get(&line)
        );
        assert!(
            errors[&(line + 1)][0].starts_with(&format!("customers.csv:{}:3: last_name", line + 1)),
            "{name:?}: {:?}",
            errors.get(&(line + 1))
        );
    }
    assert_eq!(errors.len(), 2 * lost.len(), "{out}");
    let lines = preview_14_march(&shop).json();
    assert_eq!(due_names(&lines).len(), 2 * lost.len());
}

#[test]
fn birthdays_before_1900_or_in_the_future_and_a_future_customer_since_are_row_errors() {
    let shop = shop_with("impossible_years.csv");
    let out = shop.run(&["check"]).expect(2).stdout();
    for expected in [
        "customers.csv:3:6: birthday \"14/03/1850\" is before 1900 — check the year; this customer is not greeted until it is fixed",
        "customers.csv:4:6: birthday \"14/03/2202\" is in the future (today is 2026-12-20); this customer is not greeted",
        "customers.csv:5:6: birthday \"21/12/2026\" is in the future (today is 2026-12-20)",
        "customers.csv:6:7: customer_since \"2027-01-01\" is in the future (today is 2026-12-20)",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    for fine in ["customers.csv:7:", "customers.csv:9:"] {
        assert!(!out.contains(fine), "today and 1900 are possible: {out}");
    }
    let lines = preview_14_march(&shop).json();
    assert_eq!(
        due_names(&lines),
        ["Άννα", "Νίκος", "Μαρία", "Πέτρος", "Όλγα"]
    );
    // Each is as old as 14 March 2026 makes the year on their row (126 at
    // most, for the one born in 1900), as the templates' `age` says.
    let template = shop.read("templates/birthday.el.txt");
    shop.write(
        "templates/birthday.el.txt",
        &format!("{template}\nage: {{{{ age }}}}\n"),
    );
    let rows = customer_rows(&shop.read("customers.csv"));
    let aged = preview_14_march(&shop).json();
    assert_eq!(due_names(&aged), due_names(&lines));
    for l in aged.iter().filter(|l| l["status"] == "due") {
        let row = rows.iter().find(|r| l["to"] == r["email"]).unwrap();
        let (year, ..) = birthday_parts(&row["birthday"]).unwrap();
        let text = l["text"].as_str().unwrap();
        let age = text.lines().find_map(|t| t.strip_prefix("age: "));
        assert_eq!(
            age,
            Some((2026 - year.unwrap()).to_string().as_str()),
            "{text}"
        );
    }
}

#[test]
fn the_business_today_decides_what_is_in_the_future() {
    // The same list a day later: yesterday's "tomorrow" is today.
    let mut shop = shop_with("impossible_years.csv");
    shop.now = "2026-12-21T09:00:00+02:00".into();
    let out = shop.run(&["check"]).expect(2).stdout();
    assert!(!out.contains("customers.csv:5:"), "{out}");
    assert!(out.contains("customers.csv:4:6:"), "{out}");
    // 23:30 on the 20th in Athens is already the 21st: the business's day counts.
    shop.now = "2026-12-20T22:30:00Z".into();
    let out = shop.run(&["check"]).expect(2).stdout();
    assert!(!out.contains("customers.csv:5:"), "{out}");
}

#[test]
fn headers_carry_no_invisible_character_and_bodies_no_bidi_control_from_the_data() {
    // Names and addresses with the characters at the start, middle
    // and end; every greeting is checked in its .eml form.
    let chars = [
        '\u{200B}',
        '\u{200C}',
        '\u{200D}',
        '\u{2060}',
        '\u{FEFF}',
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
        '\u{FFF9}',
        '\u{E0001}',
        '\u{E0041}',
        '\u{FE0F}',
    ];
    let mut csv = String::from("email,first_name,last_name,gender,language,birthday\n");
    for (i, c) in chars.iter().enumerate() {
        csv.push_str(&format!(
            "s{i}@example.gr{c},{c}Σταμάτης,Παπα{c}δόπουλος{c},,el,14/03/1979\n"
        ));
        csv.push_str(&format!(
            "{c}g{i}@example.gr,Γιώρ{c}γος{c},{c}Κ,,el,14/03/1985\n"
        ));
        csv.push_str(&format!(
            "d{i}@exa{c}mple.co.il,{c}דוד{c},לוי,m,el,14/03/1970\n"
        ));
        csv.push_str(&format!(
            "h{i}@example.co.il,שרה{c},{c}כהן,f,he,14/03/1986\n"
        ));
    }
    let shop = Shop::with_customers(&csv);
    shop.preview_batch("birthday", "2026-03-14", "batch")
        .expect(0);
    let messages = eml_messages(&shop, "batch");
    assert_eq!(messages.len(), 4 * chars.len());
    for (n, bytes) in messages.iter().enumerate() {
        let c = chars[n / 4];
        let code = format!("U+{:04X}", c as u32);
        for h in data_headers(bytes) {
            assert!(!h.chars().any(is_invisible), "{code}: header {h:?}");
        }
        for body in bodies(bytes) {
            assert_eq!(foreign_bidi(&body), None, "{code}: {body}");
            match n % 4 {
                // Gender inferred and the vocative made, whatever surrounds the name.
                0 => assert!(body.contains("Αγαπητέ Σταμάτη"), "{code}: {body}"),
                1 => assert!(body.contains("Αγαπητέ Γιώργο"), "{code}: {body}"),
                // greet's own isolation of a Hebrew name in a Greek greeting still stands.
                2 => assert!(
                    body.contains("Αγαπητέ \u{2068}דוד\u{2069}"),
                    "{code}: {body}"
                ),
                _ => assert!(body.contains("שרה היקרה"), "{code}: {body}"),
            }
        }
    }
}

#[test]
fn sending_greets_each_mailbox_exactly_once() {
    // Clean and dirty spellings of the same mailboxes, among customers who are fine.
    let mut csv = String::from("id,email,first_name,last_name,gender,language,birthday\n");
    let dirty = ['\u{200B}', '\u{FEFF}', '\u{2060}', '\u{202E}', '\u{00AD}'];
    for (i, c) in dirty.iter().enumerate() {
        csv.push_str(&format!(",dup{i}@example.gr,Μαρία,Κ,f,el,14/03/1991\n"));
        csv.push_str(&format!(",{c}dup{i}@example.gr,Μαρία,Κ,f,el,14/03/1991\n"));
        csv.push_str(&format!(
            "X{i},DUP{i}@example.gr{c},Μαρία,Κ,f,el,14/03/1991\n"
        ));
        csv.push_str(&format!(
            "W{i},ｆｕｌｌ{i}@example.gr,Νίκος,Α,m,el,14/03/1985\n"
        ));
        csv.push_str(&format!(",ok{i}@exam{c}ple.gr,Άννα,Π,f,el,14/03/1990\n"));
    }
    let shop = Shop::with_customers(&csv);
    // With problems in the list nothing is sent…
    let refused = shop
        .run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(2);
    assert!(
        refused.stderr().contains("nothing sent"),
        "{}",
        refused.stderr()
    );
    assert!(
        !shop.path("outbox").exists(),
        "a refused run leaves nothing behind"
    );
    // …and when told to greet the valid rows, each mailbox gets one greeting.
    shop.run(&[
        "send",
        "birthday",
        "--date",
        "2026-03-14",
        "--yes",
        "--skip-invalid",
    ])
    .expect(0);
    let mut to: Vec<String> = eml_messages(&shop, "outbox")
        .iter()
        .map(|m| data_headers(m)[1].to_lowercase())
        .collect();
    to.sort();
    let mut expected: Vec<String> = (0..dirty.len())
        .flat_map(|i| [format!("full{i}@example.gr"), format!("ok{i}@example.gr")])
        .collect();
    expected.sort();
    assert_eq!(to, expected);
}
