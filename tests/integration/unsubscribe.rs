//! List-Unsubscribe (RFC 2369) and one-click unsubscribe (RFC 8058) on
//! every greeting, `{{ unsubscribe }}` in the templates, and `[unsubscribe]`
//! in greet.toml — proved on the messages greet writes, previews and sends.
use crate::send::shop_for;
use crate::smtp_server::SmtpServer;
use crate::support::{HEADER, REPO, Run, Shop};

const SENDER: &str = "hello@fournos-marinas.example.gr";
const DAY: &str = "2026-03-14";

/// One customer per language, all born on 14 March (one a customer since
/// 14 March 2015), and one with an internationalised domain.
const LIST: &str = "\
C1,eleni@example.gr,Ελένη,Παπαδάκη,f,el,14/03/1990,2015-03-14,,
C2,aram@example.am,Արամ,Պետրոսյան,m,hy,1985-03-14,,,
C3,sarah@example.co.il,שרה,כהן,f,he,--03-14,,,
C4,john@example.com,John,Smith,m,en,14/03/1970,,,
C5,maria@παράδειγμα.ελ,Μαρία,,f,el,14/03/1992,,,
";

fn shop(unsubscribe: &str) -> Shop {
    let mut shop = Shop::with_customers(&format!("{HEADER}{LIST}"));
    shop.now = format!("{DAY}T09:00:00+02:00");
    // Birthdays and anniversaries of the same day are both looked at here:
    // spacing, which would leave the anniversaries out, is off.
    let config = shop.read("greet.toml");
    shop.write(
        "greet.toml",
        &format!("{config}\n[spacing]\nmin_days_between = 0\n"),
    );
    if !unsubscribe.is_empty() {
        let config = shop.read("greet.toml");
        shop.write(
            "greet.toml",
            &format!("{config}\n[unsubscribe]\n{unsubscribe}\n"),
        );
    }
    shop
}

/// The messages of a reviewed batch of `occasion` on 14 March, in order.
fn batch(shop: &Shop, occasion: &str) -> Vec<Vec<u8>> {
    let dir = format!("batch-{occasion}");
    let _ = std::fs::remove_dir_all(shop.path(&dir));
    shop.preview_batch(occasion, DAY, &dir).expect(0);
    shop.eml_files(&dir)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// The header block of a message, as bytes on the wire.
fn head(bytes: &[u8]) -> String {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    text.split("\r\n\r\n").next().unwrap().to_string()
}

/// Every field called `name` in the header block: its raw lines, and its
/// value unfolded (RFC 5322 §2.2.3: a CRLF before white space removed).
fn fields(head: &str, name: &str) -> Vec<(Vec<String>, String)> {
    let mut out: Vec<(Vec<String>, String)> = Vec::new();
    let mut current: Option<usize> = None;
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(i) = current {
                out[i].0.push(line.to_string());
                out[i].1.push_str(line);
            }
            continue;
        }
        current = None;
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            out.push((
                vec![line.to_string()],
                v.strip_prefix(' ').unwrap_or(v).to_string(),
            ));
            current = Some(out.len() - 1);
        }
    }
    out
}

/// The greeting's token: its Message-ID's local part.
fn token(bytes: &[u8]) -> String {
    let msg = mail_parser::MessageParser::default().parse(bytes).unwrap();
    let id = msg.message_id().expect("a Message-ID");
    let (local, domain) = id.rsplit_once('@').unwrap();
    assert_eq!(domain, "fournos-marinas.example.gr");
    local.to_string()
}

/// The links mail-parser reads from List-Unsubscribe.
fn parsed_links(bytes: &[u8]) -> Vec<String> {
    let msg = mail_parser::MessageParser::default().parse(bytes).unwrap();
    match msg.list_unsubscribe().as_address() {
        Some(list) => list
            .iter()
            .map(|a| a.address().unwrap_or_default().to_string())
            .collect(),
        None => Vec::new(),
    }
}

fn mailto(address: &str, token: &str) -> String {
    format!("mailto:{address}?subject=unsubscribe%20{token}")
}

/// The message carries exactly these links, in this order, as RFC 2369
/// writes them (and mail-parser reads them), with One-Click exactly when
/// an https link is among them; every line within RFC 5322's limits.
fn assert_links(bytes: &[u8], want: &[String], case: &str) {
    let head = head(bytes);
    let value = want
        .iter()
        .map(|l| format!("<{l}>"))
        .collect::<Vec<_>>()
        .join(", ");
    let list = fields(&head, "List-Unsubscribe");
    assert_eq!(list.len(), 1, "{case}: one List-Unsubscribe\n{head}");
    let (lines, unfolded) = &list[0];
    assert_eq!(unfolded, &value, "{case}\n{head}");
    for line in lines {
        assert!(line.len() <= 998, "{case}: a line of {} bytes", line.len());
        // A line longer than 78 is one link alone: nothing to fold at.
        if line.len() > 78 {
            assert_eq!(
                line.trim_start()
                    .trim_start_matches("List-Unsubscribe: ")
                    .matches('<')
                    .count(),
                1,
                "{case}: a long line that could have been folded: {line}"
            );
        }
    }
    assert_eq!(parsed_links(bytes), want, "{case}");
    let post = fields(&head, "List-Unsubscribe-Post");
    if want.iter().any(|l| l.starts_with("https://")) {
        assert_eq!(post.len(), 1, "{case}\n{head}");
        assert_eq!(
            post[0].0,
            ["List-Unsubscribe-Post: List-Unsubscribe=One-Click"],
            "{case}"
        );
    } else {
        assert!(
            post.is_empty(),
            "{case}: One-Click without an https link\n{head}"
        );
    }
    assert!(head.is_ascii(), "{case}: 8-bit header\n{head}");
}

fn assert_no_links(bytes: &[u8], case: &str) {
    let head = head(bytes);
    assert!(
        fields(&head, "List-Unsubscribe").is_empty(),
        "{case}\n{head}"
    );
    assert!(
        fields(&head, "List-Unsubscribe-Post").is_empty(),
        "{case}\n{head}"
    );
}

#[test]
fn every_greeting_names_a_mailto_to_the_shop_with_its_own_message_id_as_token() {
    let shop = shop("");
    let mut tokens = std::collections::BTreeSet::new();
    for occasion in ["birthday", "anniversary", "christmas"] {
        let messages = batch(&shop, occasion);
        assert!(!messages.is_empty(), "{occasion}");
        for bytes in &messages {
            let token = token(bytes);
            assert!(
                token.ends_with(&format!(
                    ".{occasion}.{}",
                    if occasion == "christmas" { "2026" } else { DAY }
                )),
                "{token}"
            );
            assert_links(bytes, &[mailto(SENDER, &token)], occasion);
            assert!(tokens.insert(token), "a token used twice");
        }
    }
    // The same header in what `send` writes: the outbox holds the preview's bytes.
    let previewed = batch(&shop, "birthday");
    shop.run(&["send", "birthday", "--date", DAY, "--yes"])
        .expect(0);
    let sent: Vec<Vec<u8>> = shop
        .eml_files("outbox")
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(sent.len(), previewed.len());
    for bytes in &previewed {
        assert!(sent.contains(bytes), "the outbox differs from the preview");
    }
}

#[test]
fn with_an_https_url_it_comes_first_carries_the_token_and_announces_one_click() {
    type Want = fn(&str) -> String;
    let table: [(&str, Want); 5] = [
        ("https://fournos-marinas.example.gr/unsubscribe", |t| {
            format!("https://fournos-marinas.example.gr/unsubscribe?token={t}")
        }),
        ("https://fournos-marinas.example.gr/u/{token}", |t| {
            format!("https://fournos-marinas.example.gr/u/{t}")
        }),
        ("https://fournos-marinas.example.gr/u?list=greetings", |t| {
            format!("https://fournos-marinas.example.gr/u?list=greetings&token={t}")
        }),
        (
            "https://fournos-marinas.example.gr/u?t={token}&lang=el",
            |t| format!("https://fournos-marinas.example.gr/u?t={t}&lang=el"),
        ),
        (
            "https://fournos-marinas.example.gr/a/rather/long/path/to/the/page/where/customers/say/goodbye",
            |t| {
                format!(
                    "https://fournos-marinas.example.gr/a/rather/long/path/to/the/page/where/customers/say/goodbye?token={t}"
                )
            },
        ),
    ];
    for (url, want) in table {
        for mailto_key in ["", "mailto = \"bye@fournos-marinas.example.gr\"\n"] {
            let shop = shop(&format!("{mailto_key}url = \"{url}\""));
            let address = if mailto_key.is_empty() {
                SENDER
            } else {
                "bye@fournos-marinas.example.gr"
            };
            for occasion in ["birthday", "christmas"] {
                for bytes in batch(&shop, occasion) {
                    let t = token(&bytes);
                    assert_links(&bytes, &[want(&t), mailto(address, &t)], url);
                }
            }
        }
    }
}

#[test]
fn dated_occasions_may_go_without_the_links_but_campaigns_never_do() {
    let shop = shop("url = \"https://fournos-marinas.example.gr/u\"\ndated_occasions = false");
    for occasion in ["birthday", "anniversary"] {
        let messages = batch(&shop, occasion);
        assert!(!messages.is_empty());
        for bytes in &messages {
            assert_no_links(bytes, occasion);
        }
        for line in shop.preview_json(occasion, DAY) {
            assert!(line["list_unsubscribe"].is_null(), "{line}");
            let text = line["text"].as_str().unwrap();
            assert!(
                !text.contains("mailto:") && !text.contains("https://"),
                "{text}"
            );
            if let Some(html) = line["html"].as_str() {
                assert!(!html.contains("class=\"unsubscribe\""), "{html}");
            }
        }
    }
    for bytes in batch(&shop, "christmas") {
        let t = token(&bytes);
        assert_links(
            &bytes,
            &[
                format!("https://fournos-marinas.example.gr/u?token={t}"),
                mailto(SENDER, &t),
            ],
            "christmas",
        );
    }
}

#[test]
fn check_warns_that_dated_occasions_go_without_the_links() {
    let shop = shop("dated_occasions = false");
    let config = shop.read("greet.toml");
    let line = config
        .lines()
        .position(|l| l.starts_with("dated_occasions"))
        .unwrap()
        + 1;
    let col = "dated_occasions = ".chars().count() + 1;
    let out = shop.run(&["check", "--date", DAY]).expect(0);
    let warning =
        format!("greet.toml:{line}:{col}: warning: [unsubscribe] dated_occasions = false: ");
    let stdout = out.stdout();
    let said: Vec<&str> = stdout.lines().filter(|l| l.starts_with(&warning)).collect();
    assert_eq!(said.len(), 1, "{stdout}");
    for occasion in ["birthday", "anniversary", "nameday"] {
        assert!(said[0].contains(occasion), "{}", said[0]);
    }
    assert!(!said[0].contains("christmas"), "{}", said[0]);
    assert!(
        said[0].contains("campaigns still carry them"),
        "{}",
        said[0]
    );
    // On by default, and when said: no warning.
    for setting in ["", "dated_occasions = true"] {
        let out = shop_default_check(setting);
        assert!(
            !out.stdout().contains("dated_occasions"),
            "{}",
            out.stdout()
        );
    }
}

fn shop_default_check(setting: &str) -> Run {
    shop(setting).run(&["check", "--date", DAY]).expect(0)
}

#[test]
fn an_unsubscribe_url_that_is_not_https_or_a_mailto_that_is_not_an_address_is_refused_at_its_place()
{
    let refused = [
        ("url", "http://fournos-marinas.example.gr/u", "is http"),
        (
            "url",
            "ftp://fournos-marinas.example.gr/u",
            "uses the ftp: scheme",
        ),
        ("url", "javascript:alert(1)", "uses the javascript: scheme"),
        (
            "url",
            "fournos-marinas.example.gr/u",
            "is not a web address",
        ),
        ("url", "garbage", "is not a web address"),
        ("url", "https://", "is not a web address"),
        (
            "url",
            "https://fournos-marinas.example.gr/u#bye",
            "#fragment",
        ),
        (
            "url",
            "https://fournos-marinas.example.gr/{tokn}",
            "other than {token}",
        ),
        ("mailto", "not an address", "contains a space"),
        ("mailto", "bye@@fournos.gr", "more than one @"),
        ("mailto", "bye", "has no @"),
    ];
    for (key, value, why) in refused {
        let shop = shop(&format!("{key} = \"{value}\""));
        let config = shop.read("greet.toml");
        let line = config.lines().position(|l| l.starts_with(key)).unwrap() + 1;
        let col = format!("{key} = ").len() + 1;
        let at = format!("greet.toml:{line}:{col}: [unsubscribe] {key}");
        for args in [
            vec!["check"],
            vec!["preview", "christmas"],
            vec!["send", "christmas", "--yes"],
        ] {
            let out = shop.run(&args).expect(2);
            let said = format!("{}{}", out.stdout(), out.stderr());
            let problem = said
                .lines()
                .find(|l| l.contains(&at))
                .unwrap_or_else(|| panic!("{args:?} {value}: no {at:?} in\n{said}"));
            assert!(problem.contains(why), "{value}: {problem}");
            assert!(!problem.ends_with('.'), "{problem}");
        }
        assert!(!shop.path("outbox").exists(), "{value}: nothing sent");
    }
}

/// A CSV field, quoted.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[test]
fn hostile_names_never_reach_the_unsubscribe_headers() {
    let names = [
        "Maria\r\nBcc: evil@example.com",
        "Anna\nList-Unsubscribe: <mailto:evil@example.com>",
        "Σοφία\u{2028}List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "\u{202e}Nikos\u{202c}",
        "\u{2067}שרה\u{2069}\r\nX-Evil: 1",
        "<https://evil.example/x>, John",
        "Eve\u{0}\u{85}\u{2029}Reply-To: evil@example.com",
    ];
    let mut csv = String::from(HEADER);
    for (i, name) in names.iter().enumerate() {
        csv.push_str(&format!(
            "H{i},h{i}@example.gr,{},{},f,{},14/03/1990,,,\n",
            quoted(name),
            quoted(name),
            ["el", "en", "he", "hy"][i % 4]
        ));
    }
    let mut shop = Shop::with_customers(&csv);
    shop.now = format!("{DAY}T09:00:00+02:00");
    let config = shop.read("greet.toml");
    shop.write(
        "greet.toml",
        &format!(
            "{config}\n[unsubscribe]\nurl = \"https://fournos-marinas.example.gr/u/{{token}}\"\n"
        ),
    );
    shop.run(&["send", "christmas", "--yes", "--skip-invalid"])
        .expect(0);
    let sent = shop.eml_files("outbox");
    eprintln!("{} of {} hostile rows greeted", sent.len(), names.len());
    assert!(sent.len() >= names.len() - 1, "{} greeted", sent.len());
    for path in &sent {
        let bytes = std::fs::read(path).unwrap();
        let t = token(&bytes);
        assert_links(
            &bytes,
            &[
                format!("https://fournos-marinas.example.gr/u/{t}"),
                mailto(SENDER, &t),
            ],
            &path.display().to_string(),
        );
        // No field of the data's making: each field is one greet writes.
        let head = head(&bytes);
        for line in head.split("\r\n").filter(|l| !l.starts_with([' ', '\t'])) {
            let name = line.split(':').next().unwrap();
            assert!(
                [
                    "From",
                    "To",
                    "Subject",
                    "Message-ID",
                    "MIME-Version",
                    "Date",
                    "List-Unsubscribe",
                    "List-Unsubscribe-Post",
                    "Content-Type",
                    "Content-Transfer-Encoding"
                ]
                .contains(&name),
                "a field greet never writes: {line}\n{head}"
            );
        }
        for (_, value) in fields(&head, "List-Unsubscribe") {
            assert!(!value.contains("evil"), "{value}");
        }
    }
}

/// The line a default template ends with in `lang`, before the link:
/// read from the shipped templates (text: `_signature.LANG.txt`; HTML: the
/// `<p class="unsubscribe">` of `christmas.LANG.html`).
fn template_line(lang: &str) -> (String, String) {
    let text = std::fs::read_to_string(format!("{REPO}/templates/_signature.{lang}.txt")).unwrap();
    let after = text.split("{% if unsubscribe %}\n").nth(1).unwrap();
    let text_line = after
        .split("{{ unsubscribe }}")
        .next()
        .unwrap()
        .trim()
        .to_string();
    let html = std::fs::read_to_string(format!("{REPO}/templates/christmas.{lang}.html")).unwrap();
    let p = html.split("<p class=\"unsubscribe\"").nth(1).unwrap();
    let html_line = p[p.find('>').unwrap() + 1..]
        .split('<')
        .next()
        .unwrap()
        .trim()
        .to_string();
    assert!(!text_line.is_empty() && !html_line.is_empty(), "{lang}");
    (text_line, html_line)
}

#[test]
fn the_default_templates_end_with_the_unsubscribe_line_in_each_language() {
    for (setting, https) in [
        ("", false),
        (
            "url = \"https://fournos-marinas.example.gr/u?list=greetings\"",
            true,
        ),
    ] {
        let shop = shop(setting);
        let mut langs = std::collections::BTreeSet::new();
        for occasion in ["christmas", "birthday", "anniversary"] {
            for line in shop.preview_json(occasion, DAY) {
                let lang = line["language"].as_str().unwrap();
                langs.insert(lang.to_string());
                let header = line["list_unsubscribe"].as_str().unwrap();
                let link = header[1..header.find('>').unwrap()].to_string();
                assert_eq!(link.starts_with("https://"), https, "{header}");
                let (text_line, html_line) = template_line(lang);
                let text = line["text"].as_str().unwrap().trim_end();
                // The last line is the link; the kind words come just before it.
                let last = text.lines().last().unwrap();
                assert!(last.ends_with(&link), "{lang} {occasion}: {text}");
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len() - 2..].join("\n");
                assert!(tail.contains(&text_line), "{lang} {occasion}: {text}");
                if let Some(html) = line["html"].as_str() {
                    let escaped = link.replace('&', "&amp;");
                    let anchor = format!("<a href=\"{escaped}\"");
                    assert_eq!(html.matches(&anchor).count(), 1, "{lang}: {html}");
                    let p = html.split("<p class=\"unsubscribe\"").nth(1).unwrap();
                    assert!(p.contains(&html_line) && p.contains(&anchor), "{lang}: {p}");
                    if lang == "he" {
                        assert!(p.contains(&format!("<bdi dir=\"rtl\">{anchor}")), "{p}");
                    }
                    if https {
                        assert!(html.contains("&amp;token="), "{lang}: {html}");
                    }
                }
            }
        }
        assert_eq!(
            langs.into_iter().collect::<Vec<_>>(),
            ["el", "en", "he", "hy"],
            "every language rendered"
        );
    }
}

#[test]
fn a_reviewed_batch_carries_the_headers_and_sends_them_unchanged() {
    let server = SmtpServer::start();
    let mut shop = shop_for(&server);
    shop.write("customers.csv", &format!("{HEADER}{LIST}"));
    shop.now = format!("{DAY}T09:00:00+02:00");
    let config = shop.read("greet.toml");
    shop.write(
        "greet.toml",
        &format!("{config}\n[unsubscribe]\nurl = \"https://fournos-marinas.example.gr/u\"\n"),
    );
    let files = batch(&shop, "birthday");
    shop.run(&["send", "--batch", "batch-birthday", "--yes"])
        .expect(0);
    let got = server.received();
    assert_eq!(got.len(), files.len());
    for file in &files {
        let t = token(file);
        let want = [
            format!("https://fournos-marinas.example.gr/u?token={t}"),
            mailto(SENDER, &t),
        ];
        assert_links(file, &want, "batch file");
        let msg = got
            .iter()
            .find(|m| m.raw.ends_with(file))
            .unwrap_or_else(|| panic!("the reviewed bytes of {t} were not sent unchanged"));
        assert_links(&msg.raw, &want, "sent");
    }
}

#[test]
fn test_greetings_to_the_owner_carry_the_same_links() {
    let server = SmtpServer::start();
    let mut shop = shop_for(&server);
    shop.write("customers.csv", &format!("{HEADER}{LIST}"));
    shop.now = format!("{DAY}T09:00:00+02:00");
    shop.run(&[
        "send",
        "birthday",
        "--date",
        DAY,
        "--yes",
        "--test-to",
        SENDER,
        "--limit",
        "4",
    ])
    .expect(0);
    let got = server.received();
    assert_eq!(got.len(), 4);
    for m in &got {
        assert_links(&m.raw, &[mailto(SENDER, &token(&m.raw))], "test-to");
    }
}
