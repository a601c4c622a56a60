//! What a greeting looks like: per-language snapshots, standards-correct
//! .eml files, and customer data that stays data.
use crate::support::{HEADER, REPO, Shop, customer_rows};

/// The sample customer with this first name, previewed alone as text.
fn preview_of(shop: &Shop, occasion: &str, date: &str, email: &str) -> String {
    shop.run(&["preview", occasion, "--date", date, "--only", email])
        .expect(0)
        .stdout()
}

fn sample_email(shop: &Shop, first_name: &str) -> String {
    let csv = shop.read("customers.csv");
    csv.lines()
        .find(|l| l.split(',').nth(2) == Some(first_name))
        .and_then(|l| l.split(',').nth(1))
        .unwrap_or_else(|| panic!("no sample customer named {first_name}"))
        .to_string()
}

#[test]
fn greetings_in_each_language_and_gender_match_their_snapshots() {
    let shop = Shop::samples();
    let csv = shop.read("customers.csv");
    // One customer per (language, gender) present in the samples.
    let mut seen = std::collections::BTreeSet::new();
    let mut labels = std::collections::BTreeSet::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (email, lang, gender, opt) = (f[1], f[5], f[4], f[8]);
        if opt == "yes" || !seen.insert((lang.to_string(), gender.to_string())) {
            continue;
        }
        let label = format!(
            "{}-{}",
            if lang.is_empty() { "default" } else { lang },
            if gender.is_empty() { "unknown" } else { gender }
        );
        let christmas = preview_of(&shop, "christmas", "2026-12-20", email);
        insta::assert_snapshot!(format!("christmas-{label}"), christmas);
        labels.insert(label);
    }
    // Each (language, gender) pair of the samples has its snapshot, and no
    // snapshot is left for a pair the samples no longer have.
    let snapshots: std::collections::BTreeSet<String> =
        std::fs::read_dir(format!("{REPO}/tests/integration/snapshots"))
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                let label = name
                    .strip_prefix("integration__render__christmas-")?
                    .strip_suffix(".snap")?;
                (!label.starts_with("html-")).then(|| label.to_string())
            })
            .collect();
    assert_eq!(labels, snapshots);
}

#[test]
fn birthdays_and_anniversaries_on_14_march_match_their_snapshots() {
    let shop = Shop::samples();
    for occasion in ["birthday", "anniversary"] {
        let out = shop
            .run(&["preview", occasion, "--date", "2026-03-14"])
            .expect(0);
        insta::assert_snapshot!(format!("{occasion}-2026-03-14"), out.stdout());
    }
}

#[test]
fn a_belated_flag_and_a_year_without_birthday_year_render_naturally() {
    // Ελένη's birthday has no year (--07-02): no age, and the greeting still reads well.
    let shop = Shop::samples();
    let out = shop
        .run(&[
            "preview",
            "birthday",
            "--date",
            "2026-07-02",
            "--format",
            "json",
        ])
        .expect(0)
        .json();
    assert_eq!(crate::support::due_names(&out), ["Ελένη"]);
    let text = out[0]["text"].as_str().unwrap();
    assert!(text.starts_with("Αγαπητή Ελένη,"), "{text}");
}

#[test]
fn html_greetings_match_their_snapshots() {
    let shop = Shop::samples();
    for name in ["Σταμάτης", "שרה"] {
        let email = sample_email(&shop, name);
        let out = shop
            .run(&["preview", "christmas", "--only", &email, "--format", "json"])
            .expect(0)
            .json();
        let html = out[0]["html"].as_str().unwrap().to_string();
        let lang = out[0]["language"].as_str().unwrap().to_string();
        assert!(html.contains(&format!("lang=\"{lang}\"")), "{html}");
        insta::assert_snapshot!(format!("christmas-html-{lang}"), html);
    }
}

#[test]
fn eml_files_parse_back_with_correct_utf8_and_headers() {
    let shop = Shop::samples();
    let out = shop
        .run(&["preview", "christmas", "--format", "eml", "--out", "batch"])
        .expect(0);
    let files = shop.eml_files("batch");
    // One file per customer who has not opted out.
    let greeted = customer_rows(&shop.read("customers.csv"))
        .iter()
        .filter(|c| c["opt_out"].is_empty())
        .count();
    assert_eq!(files.len(), greeted, "{}", out.stderr());
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with("0001-christmas-") && name.ends_with(".eml"),
        "{name}"
    );
    let json = shop
        .run(&["preview", "christmas", "--format", "json"])
        .expect(0)
        .json();
    let due: Vec<_> = json.iter().filter(|l| l["status"] == "due").collect();
    assert_eq!(files.len(), due.len());
    for (file, expected) in files.iter().zip(due) {
        let bytes = std::fs::read(file).unwrap();
        let raw = String::from_utf8_lossy(&bytes);
        assert!(
            raw.contains("\r\nDate: Sun, 20 Dec 2026 09:00:00 +0200\r\n")
                || raw.starts_with("Date:"),
            "{raw}"
        );
        let msg = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        assert_eq!(
            msg.subject(),
            expected["subject"].as_str(),
            "{}",
            file.display()
        );
        // Mail bodies travel with CRLF line ends.
        let text = msg.body_text(0).unwrap().replace("\r\n", "\n");
        assert_eq!(
            text.trim_end(),
            expected["text"].as_str().unwrap().trim_end()
        );
        let html = msg.body_html(0).unwrap().replace("\r\n", "\n");
        assert_eq!(
            html.trim_end(),
            expected["html"].as_str().unwrap().trim_end()
        );
        // The To header has the domain as an A-label (xn--…), never raw 8-bit.
        let to = msg.to().unwrap().first().unwrap();
        assert_eq!(
            to.address().map(String::from),
            expected["to"].as_str().map(greet::message::ascii_address)
        );
        assert_eq!(
            msg.message_id().map(|m| format!("<{m}>")),
            expected["message_id"].as_str().map(String::from)
        );
        assert!(
            msg.from()
                .unwrap()
                .first()
                .unwrap()
                .name()
                .unwrap()
                .contains("Φούρνος")
        );
        assert!(raw.contains("charset=utf-8"), "{raw}");
    }
}

#[test]
fn a_name_with_line_breaks_or_encoded_words_cannot_add_a_header() {
    let shop = Shop::with_customers(&format!(
        "{HEADER}1,maria@example.gr,\"Maria\r\nBcc: x@evil.example\",\"=?utf-8?b?QmNjOiB4QGV2aWwuZXhhbXBsZQ==?=\",f,en,1985-03-14,2015-01-01,,\n"
    ));
    let out = shop
        .preview_batch("birthday", "2026-03-14", "batch")
        .expect(0);
    assert!(
        out.stderr().contains("line break inside the cell"),
        "{}",
        out.stderr()
    );
    let file = shop.eml_files("batch").remove(0);
    let bytes = std::fs::read(file).unwrap();
    let raw = String::from_utf8_lossy(&bytes);
    let head = raw.split("\r\n\r\n").next().unwrap();
    assert!(!head.to_ascii_lowercase().contains("\nbcc"), "{head}");
    let msg = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    assert!(msg.bcc().is_none());
    assert_eq!(msg.to().unwrap().iter().count(), 1);
    let to = msg.to().unwrap().first().unwrap();
    assert_eq!(to.address(), Some("maria@example.gr"));
    assert!(!to.name().unwrap_or_default().contains('\n'));
    // The encoded-word in the last name reaches no header as an encoded-word:
    // it is broken up before encoding, so a reader shows it as plain text.
    let name = to.name().unwrap_or_default();
    assert!(name.contains("Maria") && !name.contains("=?"), "{name}");
}

#[test]
fn customer_data_is_never_template_code_and_is_escaped_in_html() {
    let shop = Shop::with_customers(&format!(
        "{HEADER}1,mary@example.com,\"{{{{ 7*7 }}}} {{% raw %}}\",\"<b>Mary</b> & Co\",f,en,1985-12-01,2015-01-01,,\n"
    ));
    let lines = shop
        .run(&["preview", "christmas", "--format", "json"])
        .expect(0)
        .json();
    let text = lines[0]["text"].as_str().unwrap();
    assert!(text.contains("{{ 7*7 }} {% raw %}"), "{text}");
    assert!(!text.contains("49"), "{text}");
    let html = lines[0]["html"].as_str().unwrap();
    assert!(html.contains("{{ 7*7 }}"), "{html}");
    assert_eq!(
        lines[0]["full_name"],
        "{{ 7*7 }} {% raw %} <b>Mary</b> & Co"
    );
    assert!(!html.contains("<b>Mary</b>"), "HTML-escaped: {html}");
}

#[test]
fn a_broken_template_stops_preview_with_file_line_and_column() {
    let shop = Shop::samples();
    let path = "templates/christmas.en.txt";
    let text = shop.read(path);
    shop.write(
        path,
        &text.replacen(
            "{{ salutation }}",
            "{{ salutation }} {{ favourite_colour }}",
            1,
        ),
    );
    let out = shop
        .run(&["preview", "christmas", "--format", "json"])
        .expect(2);
    let err = out.stderr();
    let line = text
        .lines()
        .position(|l| l.contains("{{ salutation }}"))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("templates/christmas.en.txt:{line}:")),
        "{err}"
    );
    assert!(err.contains("favourite_colour"), "{err}");

    shop.write(path, &text.replacen("{{ salutation }}", "{% if %}", 1));
    let err = shop.run(&["preview", "christmas"]).expect(2).stderr();
    assert!(
        err.contains(&format!("templates/christmas.en.txt:{line}:")),
        "{err}"
    );
}

#[test]
fn a_campaign_segment_selects_customers_by_expression() {
    let shop = Shop::with_customers(&format!(
        "{HEADER}1,old@example.gr,Γιώργος,Π,m,el,1985-03-14,2010-01-01,,\n2,new@example.gr,Ελένη,Μ,f,el,1985-03-14,2025-01-01,,\n"
    ));
    let toml = shop.read("greet.toml");
    shop.write("greet.toml", &format!("{toml}\n[occasions.thanks]\nkind = \"campaign\"\ntemplate = \"christmas\"\nsegment = \"{{{{ tenure.years >= 5 }}}}\"\n"));
    let lines = shop
        .run(&["preview", "thanks", "--format", "json"])
        .expect(0)
        .json();
    assert_eq!(crate::support::due_names(&lines), ["Γιώργος"]);

    // A broken segment is located in greet.toml.
    let toml = shop.read("greet.toml");
    shop.write(
        "greet.toml",
        &toml.replace("tenure.years >= 5", "tenure.yeers >= 5"),
    );
    let err = shop.run(&["preview", "thanks"]).expect(2).stderr();
    let line = shop
        .read("greet.toml")
        .lines()
        .position(|l| l.contains("yeers"))
        .unwrap()
        + 1;
    assert!(err.contains(&format!("greet.toml:{line}:")), "{err}");
    assert!(err.contains("yeers"), "{err}");
}

#[test]
fn the_owner_overrides_a_vocative_and_the_words_of_a_salutation() {
    let shop = Shop::with_customers(&format!(
        "{HEADER}1,kostas@example.gr,Κωνσταντίνος,Π,m,el,1985-03-14,2015-01-01,,\n\
         2,maria@example.gr,Μαρία,Κ,f,el,1985-03-14,2015-01-01,,\n\
         3,noam@example.co.il,נועם,ל,,he,1985-03-14,2015-01-01,,\n"
    ));
    let toml = shop.read("greet.toml");
    shop.write(
        "greet.toml",
        &format!(
            "{toml}\n[vocative]\n\"Κωνσταντίνος\" = \"Κωνσταντίνο\"\n\n[salutations.el]\nfemale = \"Καλή μας {{name}}\"\n\n[salutations.he]\nunknown = \"{{name}} שלום וברכה\"\n"
        ),
    );
    let out = shop
        .run(&["preview", "birthday", "--date", "2026-03-14"])
        .expect(0)
        .stdout();
    assert!(out.contains("Αγαπητέ Κωνσταντίνο,"), "{out}");
    assert!(out.contains("Χρόνια πολλά, Κωνσταντίνο!"), "{out}");
    assert!(out.contains("Καλή μας Μαρία,"), "{out}");
    assert!(out.contains("נועם שלום וברכה,"), "{out}");
}

#[test]
fn a_name_in_the_other_direction_is_isolated_in_text_and_html() {
    // A Greek customer who reads Hebrew, and an Israeli customer who reads Greek.
    let shop = Shop::with_customers(&format!(
        "{HEADER}1,stamatis@example.gr,Σταμάτης,Π,m,he,1985-03-14,2015-01-01,,\n\
         2,sarah@example.co.il,שרה,כ,f,el,1985-03-14,2015-01-01,,\n"
    ));
    let lines = shop.preview_json("birthday", "2026-03-14");
    let he = &lines[0];
    let el = &lines[1];
    let text = he["text"].as_str().unwrap();
    assert!(text.contains("\u{2068}Σταμάτης\u{2069} היקר,"), "{text}");
    let html = he["html"].as_str().unwrap();
    assert!(html.contains("dir=\"rtl\""), "{html}");
    assert!(html.contains("\u{2068}Σταμάτης\u{2069} היקר,"), "{html}");
    let text = el["text"].as_str().unwrap();
    assert!(text.contains("Αγαπητή \u{2068}שרה\u{2069},"), "{text}");
    // Isolation marks never reach a header.
    assert!(!he["subject"].as_str().unwrap().contains('\u{2068}'));
    assert!(!el["subject"].as_str().unwrap().contains('\u{2068}'));
}

#[test]
fn a_full_birthday_and_anniversary_per_language_and_gender_match_their_snapshots() {
    // Three customers per language: a man, a woman, and one whose gender
    // neither the list nor the name tells.
    let rows = [
        ("el", "Γιώργος", "m"),
        ("el", "Ελένη", "f"),
        ("el", "Άλεξ", ""),
        ("he", "דוד", "m"),
        ("he", "שרה", "f"),
        ("he", "נועם", ""),
        ("hy", "Արամ", "m"),
        ("hy", "Անի", "f"),
        ("hy", "Սասուն", ""),
        ("en", "John", "m"),
        ("en", "Anna", "f"),
        ("en", "Sam", ""),
    ];
    let mut csv = String::from(HEADER);
    for (i, (lang, name, gender)) in rows.iter().enumerate() {
        csv.push_str(&format!(
            "{i},c{i}@example.gr,{name},Τ,{gender},{lang},1990-03-14,2021-03-14,,\n"
        ));
    }
    let shop = Shop::with_customers(&csv);
    // Birthday and anniversary fall on the same day: both rendered, so
    // spacing (which would leave the anniversary out) is off here.
    let config = shop.read("greet.toml");
    shop.write(
        "greet.toml",
        &format!("{config}\n[spacing]\nmin_days_between = 0\n"),
    );
    for lang in ["el", "he", "hy", "en"] {
        let mut all = String::new();
        for occasion in ["birthday", "anniversary"] {
            let lines = shop.preview_json(occasion, "2026-03-14");
            for l in lines.iter().filter(|l| l["language"] == lang) {
                all.push_str(&format!(
                    "━━ {occasion} · {} · {}\nSubject: {}\n\n{}\n",
                    l["name"].as_str().unwrap(),
                    l["to"].as_str().unwrap(),
                    l["subject"].as_str().unwrap(),
                    l["text"].as_str().unwrap()
                ));
                if let Some(html) = l["html"].as_str() {
                    all.push_str(&format!("── html\n{html}\n"));
                }
            }
        }
        insta::assert_snapshot!(format!("full-{lang}"), all);
    }
}

/// The README's first screen shows what its first command prints, exactly.
#[test]
fn the_readme_shows_the_real_output_of_its_first_command() {
    let readme = std::fs::read_to_string(format!("{REPO}/README.md")).unwrap();
    assert!(
        readme.contains("--config samples/greet.toml preview birthday --date 2026-03-14\n"),
        "the README's first command changed: update this test"
    );
    let shown = readme
        .split_once("```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("a text block after the commands");
    let out = Shop::samples()
        .run(&["preview", "birthday", "--date", "2026-03-14"])
        .expect(0);
    // The greetings on stdout, the summary on stderr, as a terminal shows them.
    assert_eq!(shown, format!("{}{}", out.stdout(), out.stderr()));
}
