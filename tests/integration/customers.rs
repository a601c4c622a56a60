//! Customer lists as spreadsheets really write them: one fixture per quirk
//! (tests/fixtures/customers/, made byte-exactly by make.py there), each read
//! by the real binary.
use crate::support::{REPO, Run, Shop, due_names};

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
}

#[test]
fn an_idn_domain_is_kept_for_display() {
    let shop = shop_with("addresses.csv");
    let run = preview_14_march(&shop);
    assert!(run.json().iter().any(|l| l["to"] == "eleni@παράδειγμα.ελ"));
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
