//! Gift codes (issue 14, part 3): `{{ gift.code }}` in the greeting, recorded
//! in the ledger only when the greeting is sent, recognised and redeemed
//! once at the till with `greet gift CODE [--redeem]` — proved on the
//! messages greet sends and on the real ledger.
use std::collections::BTreeMap;

use crate::send::via_smtp;
use crate::smtp_server::SmtpServer;
use crate::support::{HEADER, Shop, chmod};

const DAY: &str = "2026-03-14";
/// 14 March plus `gift_days = 30`.
const LAST_DAY: &str = "2026-04-13";

/// One customer per language, all born on 14 March.
const LIST: &str = "\
C1,eleni@example.gr,Ελένη,Παπαδάκη,f,el,14/03/1990,2015-03-14,,
C2,aram@example.am,Արամ,Պետրոսյան,m,hy,1985-03-14,,,
C3,sarah@example.co.il,שרה,כהן,f,he,--03-14,,,
C4,john@example.com,John,Smith,m,en,14/03/1970,,,
";

const OFFERS: [(&str, &str); 4] = [
    ("el", "ένας καφές και ένα γλυκό, κερασμένα"),
    ("hy", "սուրճ և քաղցրավենիք՝ մեր հաշվին"),
    ("he", "קפה ועוגה על חשבוננו"),
    ("en", "a coffee and a cake on us"),
];

/// The words each language's greeting puts before the code.
const SHOW: [(&str, &str); 4] = [
    ("el", "Δείξε τον κωδικό"),
    ("hy", "Ցույց տուր"),
    ("he", "יש להציג את הקוד"),
    ("en", "Show the code"),
];

fn secret(shop: &Shop, mode: u32) {
    // Random bytes, as `head -c 32 /dev/urandom` makes: not text.
    std::fs::write(
        shop.path("gift-secret"),
        b"\xff\x00a secret of the shop\x80\x81, 32 bytes",
    )
    .unwrap();
    secret_mode(shop, mode);
}

/// The birthday greeting gives a gift valid 30 days; the secret is 0600.
fn shop() -> Shop {
    let mut shop = Shop::with_customers(&format!("{HEADER}{LIST}"));
    shop.now = format!("{DAY}T09:00:00+02:00");
    let offers = OFFERS
        .iter()
        .map(|(l, o)| format!("{l} = \"{o}\""))
        .collect::<Vec<_>>()
        .join(", ");
    shop.edit(
        "greet.toml",
        "[occasions.birthday]\nkind = \"birthday\"\n",
        &format!(
            "[occasions.birthday]\nkind = \"birthday\"\ngift_days = 30\ngift = {{ {offers} }}\n"
        ),
    );
    let config = shop.read("greet.toml");
    shop.write(
        "greet.toml",
        &format!("{config}\n[gifts]\nsecret_file = \"gift-secret\"\n"),
    );
    secret(&shop, 0o600);
    shop
}

/// The gift codes in a text (`XXXX-XXXX-XXX` in the code alphabet).
fn codes_in(text: &str) -> Vec<String> {
    const ALPHABET: &str = "23456789ABCDEFGHJKMNPQRTVWXYZ";
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    for start in 0..chars.len().saturating_sub(12) {
        let w: String = chars[start..start + 13].iter().collect();
        let ok = w.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 9 {
                c == '-'
            } else {
                ALPHABET.contains(c)
            }
        });
        let bounded = |i: Option<&char>| i.is_none_or(|c| !c.is_ascii_alphanumeric());
        if ok
            && bounded(start.checked_sub(1).and_then(|i| chars.get(i)))
            && bounded(chars.get(start + 13))
        {
            found.push(w);
        }
    }
    found
}

/// Recipient → (the message's text part, its HTML part if any).
fn bodies(messages: &[Vec<u8>]) -> BTreeMap<String, (String, Option<String>)> {
    messages
        .iter()
        .map(|bytes| {
            let msg = mail_parser::MessageParser::default().parse(bytes).unwrap();
            let to = msg
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap()
                .to_string();
            let text = msg.body_text(0).unwrap().to_string();
            let html = msg.body_html(0).map(|h| h.to_string());
            (to, (text, html))
        })
        .collect()
}

fn outbox(shop: &Shop) -> Vec<Vec<u8>> {
    shop.eml_files("outbox")
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// Recipient → the one code its greeting carries (text and HTML agree).
fn codes(messages: &[Vec<u8>]) -> BTreeMap<String, String> {
    bodies(messages)
        .into_iter()
        .map(|(to, (text, html))| {
            let in_text = codes_in(&text);
            assert_eq!(in_text.len(), 1, "{to}: one code in\n{text}");
            if let Some(html) = html {
                assert_eq!(codes_in(&html), in_text, "{to}: the HTML part's code");
            }
            (to, in_text[0].clone())
        })
        .collect()
}

fn gift(shop: &Shop, args: &[&str]) -> crate::support::Run {
    let mut all = vec!["gift"];
    all.extend_from_slice(args);
    shop.run(&all)
}

#[test]
fn each_greeting_carries_its_own_code_in_its_language_and_the_till_redeems_it_once() {
    let shop = shop();
    shop.run(&["send", "birthday", "--date", DAY, "--yes"])
        .expect(0);
    let messages = outbox(&shop);
    assert_eq!(messages.len(), 4);
    let codes = codes(&messages);
    let distinct: std::collections::BTreeSet<_> = codes.values().collect();
    assert_eq!(distinct.len(), 4, "{codes:?}");
    for (to, (text, _)) in bodies(&messages) {
        let lang = match to.as_str() {
            "eleni@example.gr" => "el",
            "aram@example.am" => "hy",
            "sarah@example.co.il" => "he",
            _ => "en",
        };
        let offer = OFFERS.iter().find(|(l, _)| *l == lang).unwrap().1;
        let show = SHOW.iter().find(|(l, _)| *l == lang).unwrap().1;
        assert!(text.contains(offer), "{to}: the {lang} offer\n{text}");
        assert!(text.contains(show), "{to}: the {lang} words\n{text}");
        if lang == "he" {
            // Latin letters in a right-to-left line: isolated (FSI … PDI).
            let code = &codes[&to];
            assert!(
                text.contains(&format!("\u{2068}{code}\u{2069}")),
                "{to}: the code isolated\n{text:?}"
            );
        }
    }
    for (to, code) in &codes {
        let shown = gift(&shop, &[code]).expect(0);
        let out = shown.stdout();
        assert!(out.contains(&format!("<{to}>")), "{out}");
        assert!(out.contains(&format!("birthday ({DAY})")), "{out}");
        assert!(out.contains(&format!("{LAST_DAY} (valid)")), "{out}");
        assert!(out.contains("not yet: it can be redeemed"), "{out}");
        // As a person types it: lower case, spaces instead of dashes.
        let typed = code.to_lowercase().replace('-', " ");
        let redeemed = gift(&shop, &[&typed, "--redeem"]).expect(0);
        assert!(
            redeemed.stdout().contains(&format!("{code}: redeemed now")),
            "{}",
            redeemed.stdout()
        );
        let again = gift(&shop, &[code, "--redeem"]).expect(1);
        let out = again.stdout();
        assert!(
            out.contains(&format!(
                "{code}: NOT redeemed again: it was redeemed on 20"
            )),
            "{out}"
        );
        let after = gift(&shop, &[code]).expect(1);
        assert!(
            after.stdout().contains("  redeemed:  20"),
            "{}",
            after.stdout()
        );
    }
    // history and the ledger keep the code with the greeting.
    let history = shop.run(&["history"]).expect(0).stdout();
    for (to, code) in &codes {
        let line = history
            .lines()
            .find(|l| l.contains(&format!("→ {to}")))
            .unwrap_or_else(|| panic!("{to}: {history}"));
        assert!(
            line.contains(&format!("  gift {code} (redeemed 20")),
            "{line}"
        );
    }
    let conn = rusqlite::Connection::open(shop.path("greet-ledger.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT recipient, gift_code, gift_valid_until, gift_redeemed_at IS NOT NULL FROM greetings WHERE state = 'sent'")
        .unwrap();
    let rows: Vec<(String, String, String, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 4);
    for (to, code, until, redeemed) in rows {
        assert_eq!(code, codes[&to].replace('-', ""));
        assert_eq!(until, LAST_DAY);
        assert!(redeemed);
    }
}

#[test]
fn a_previewed_greeting_shows_the_same_code_the_sent_one_carries_but_gives_nothing() {
    let shop = shop();
    shop.preview_batch("birthday", DAY, "review").expect(0);
    let previewed: Vec<Vec<u8>> = shop
        .eml_files("review")
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let shown = codes(&previewed);
    assert_eq!(shown.len(), 4);
    // Previewed, not sent: the till does not know it.
    for code in shown.values() {
        let out = gift(&shop, &[code]).expect(1);
        assert!(
            out.stdout().contains("no greeting carried this code"),
            "{}",
            out.stdout()
        );
        gift(&shop, &[code, "--redeem"]).expect(1);
    }
    // The reviewed batch sent: the same codes, now given, with the last day
    // the files say even if gift_days changed since the review.
    shop.edit("greet.toml", "gift_days = 30", "gift_days = 3");
    shop.run(&["send", "--batch", "review", "--yes"]).expect(0);
    assert_eq!(codes(&outbox(&shop)), shown);
    for code in shown.values() {
        let out = gift(&shop, &[code]).expect(0);
        assert!(
            out.stdout().contains(&format!("{LAST_DAY} (valid)")),
            "{}",
            out.stdout()
        );
    }
    // A manifest whose gift was edited is refused whole (its seal).
    shop.preview_batch("birthday", "2027-03-14", "next")
        .expect(0);
    let manifest = shop.read("next/manifest.json");
    assert!(
        codes_in(&manifest).is_empty(),
        "the manifest keeps codes compact, without dashes"
    );
    let compact: Vec<String> = shown.values().map(|c| c.replace('-', "")).collect();
    assert!(
        !compact.iter().any(|c| manifest.contains(c.as_str())),
        "next year's codes are new"
    );
    let edited = manifest.replacen(
        "\"gift_valid_until\": \"2027-03-17\"",
        "\"gift_valid_until\": \"2028-03-17\"",
        1,
    );
    assert_ne!(edited, manifest, "{manifest}");
    shop.write("next/manifest.json", &edited);
    let mut late = shop.command(&["send", "--batch", "next", "--yes"]);
    late.env("GREET_NOW", "2027-03-14T09:00:00+02:00");
    let refused = crate::support::Run(late.output().unwrap()).expect(2);
    assert!(
        refused.stderr().contains("manifest"),
        "{}",
        refused.stderr()
    );
    // A rerun sends nothing and changes no code.
    shop.run(&["send", "birthday", "--date", DAY, "--yes"])
        .expect(0);
    assert_eq!(codes(&outbox(&shop)), shown);
}

#[test]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs --features test-hooks (the README's test command)"
)]
fn a_refused_or_deferred_greeting_gives_no_gift_and_its_retry_carries_the_same_code() {
    let server = SmtpServer::start();
    let shop = shop();
    via_smtp(&shop, &server);
    // Every greeting's code, as a preview shows them before anything is sent.
    shop.preview_batch("birthday", DAY, "review").expect(0);
    let all = codes(
        &shop
            .eml_files("review")
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect::<Vec<_>>(),
    );
    assert_eq!(all.len(), 4);
    server.at_rcpt("aram@example.am", &["550 5.1.1 no such user"]);
    // Sarah's greeting is deferred by every try of this run.
    server.at_rcpt("sarah@example.co.il", &["451 4.3.0 try again later"; 3]);
    let mut first = shop.command(&["send", "birthday", "--date", DAY, "--yes"]);
    first.env("GREET_RETRY_DELAY_MS", "1");
    crate::support::Run(first.output().unwrap()).expect(3);
    let got: Vec<Vec<u8>> = server.received().iter().map(|r| r.raw.clone()).collect();
    let sent = codes(&got);
    assert_eq!(
        sent.keys().collect::<Vec<_>>(),
        ["eleni@example.gr", "john@example.com"]
    );
    for to in ["aram@example.am", "sarah@example.co.il"] {
        let out = gift(&shop, &[&all[to]]).expect(1);
        assert!(
            out.stdout().contains("never given"),
            "{to}: {}",
            out.stdout()
        );
        let refused = gift(&shop, &[&all[to], "--redeem"]).expect(1);
        assert!(
            refused
                .stdout()
                .contains("NOT redeemed: its greeting was never sent"),
            "{}",
            refused.stdout()
        );
    }
    // The next run sends the deferred greeting: with the same code, now given.
    crate::support::Run(
        shop.command(&["send", "birthday", "--date", DAY, "--yes"])
            .env("GREET_RETRY_DELAY_MS", "1")
            .output()
            .unwrap(),
    )
    .expect(0);
    let got: Vec<Vec<u8>> = server.received().iter().map(|r| r.raw.clone()).collect();
    let sent = codes(&got);
    assert_eq!(sent["sarah@example.co.il"], all["sarah@example.co.il"]);
    gift(&shop, &[&all["sarah@example.co.il"]]).expect(0);
    gift(&shop, &[&all["aram@example.am"]]).expect(1);
}

#[test]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs the crash hook: cargo test --features test-hooks"
)]
fn a_greeting_in_doubt_keeps_its_code_and_its_resend_carries_the_same_one() {
    let server = SmtpServer::start();
    let shop = shop();
    via_smtp(&shop, &server);
    let out = shop
        .command(&["send", "birthday", "--date", DAY, "--yes"])
        .env("GREET_TEST_KILL_AFTER_REPLY", "1")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(9), "killed by SIGKILL");
    let got: Vec<Vec<u8>> = server.received().iter().map(|r| r.raw.clone()).collect();
    let first = codes(&got);
    assert_eq!(first.len(), 1);
    let (to, code) = first.into_iter().next().unwrap();
    // The next run finds it uncertain: the code is genuine (it may have
    // reached the customer), so the till takes it.
    crate::support::Run(
        shop.command(&["send", "birthday", "--date", DAY, "--yes"])
            .env("GREET_RETRY_DELAY_MS", "1")
            .output()
            .unwrap(),
    )
    .expect(3);
    let shown = gift(&shop, &[&code]).expect(0);
    assert!(shown.stdout().contains("maybe sent"), "{}", shown.stdout());
    assert!(
        shown.stdout().contains(&format!("<{to}>")),
        "{}",
        shown.stdout()
    );
    // Resent on request: the same code again.
    shop.run(&[
        "send",
        "birthday",
        "--date",
        DAY,
        "--yes",
        "--retry-uncertain",
    ])
    .expect(0);
    let got: Vec<Vec<u8>> = server.received().iter().map(|r| r.raw.clone()).collect();
    let to_them: Vec<String> = bodies(&got)
        .into_iter()
        .filter(|(t, _)| *t == to)
        .map(|(_, (text, _))| text)
        .collect();
    assert!(!to_them.is_empty());
    let mut all_codes: Vec<String> = Vec::new();
    for r in server
        .received()
        .iter()
        .filter(|r| r.rcpt.iter().any(|x| x.contains(&to)))
    {
        let msg = mail_parser::MessageParser::default().parse(&r.raw).unwrap();
        all_codes.extend(codes_in(&msg.body_text(0).unwrap()));
    }
    assert_eq!(
        all_codes,
        [code.clone(), code.clone()],
        "sent twice, the same code"
    );
    gift(&shop, &[&code, "--redeem"]).expect(0);
    gift(&shop, &[&code, "--redeem"]).expect(1);
}

#[test]
fn an_expired_code_is_shown_but_not_redeemed() {
    let mut shop = shop();
    shop.run(&["send", "birthday", "--date", DAY, "--yes"])
        .expect(0);
    let code = codes(&outbox(&shop))["john@example.com"].clone();
    // The last day still counts, in the shop's time zone.
    shop.now = format!("{LAST_DAY}T23:30:00+03:00");
    gift(&shop, &[&code]).expect(0);
    shop.now = "2026-04-14T00:30:00+03:00".into();
    let shown = gift(&shop, &[&code]).expect(1);
    assert!(
        shown.stdout().contains(&format!("{LAST_DAY} (expired)")),
        "{}",
        shown.stdout()
    );
    let refused = gift(&shop, &[&code, "--redeem"]).expect(1);
    assert!(
        refused
            .stdout()
            .contains(&format!("NOT redeemed: it expired after {LAST_DAY}")),
        "{}",
        refused.stdout()
    );
}

#[test]
fn a_mistyped_code_is_caught_and_text_that_is_no_code_is_said_to_be_none() {
    let shop = shop();
    shop.run(&["send", "birthday", "--date", DAY, "--yes"])
        .expect(0);
    let code = codes(&outbox(&shop))["eleni@example.gr"].clone();
    let chars: Vec<char> = code.chars().collect();
    // Every single-character typo and every swap of neighbours: exit 2, and
    // nothing redeemed.
    let mut tried = 0;
    for i in (0..chars.len()).filter(|&i| chars[i] != '-') {
        for c in "23456789ABCDEFGHJKMNPQRTVWXYZ"
            .chars()
            .filter(|&c| c != chars[i])
            .step_by(7)
        {
            let mut typo = chars.clone();
            typo[i] = c;
            let typo: String = typo.into_iter().collect();
            let out = gift(&shop, &[&typo, "--redeem"]).expect(2);
            assert!(
                out.stderr().contains("mistyped"),
                "{typo}: {}",
                out.stderr()
            );
            tried += 1;
        }
    }
    assert!(tried >= 11 * 4, "{tried}");
    for typed in ["", "hello", "7KQM-2XHR", "0KQM-2XHR-9DT", "ΑΒΓΔ-2XHR-9DT"] {
        let out = gift(&shop, &[typed]).expect(2);
        assert!(
            out.stderr().contains("is not a gift code"),
            "{typed}: {}",
            out.stderr()
        );
    }
    // The real one still redeems.
    gift(&shop, &[&code, "--redeem"]).expect(0);
}

#[test]
fn two_tills_redeeming_one_code_at_once_redeem_it_once() {
    let shop = shop();
    shop.run(&["send", "birthday", "--date", DAY, "--yes"])
        .expect(0);
    let codes = codes(&outbox(&shop));
    for code in codes.values() {
        let children: Vec<_> = (0..6)
            .map(|_| {
                shop.command(&["gift", code, "--redeem"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let exits: Vec<i32> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap().status.code().unwrap())
            .collect();
        assert_eq!(
            exits.iter().filter(|&&c| c == 0).count(),
            1,
            "{code}: {exits:?}"
        );
        assert_eq!(
            exits.iter().filter(|&&c| c == 1).count(),
            5,
            "{code}: {exits:?}"
        );
    }
}

#[test]
fn gift_settings_that_cannot_work_are_refused_with_their_place() {
    // (edit to greet.toml, words the message must have)
    let table: [(&str, &str, &str); 7] = [
        (
            "gift_days = 30\n",
            "gift_days = 0\n",
            "gift_days must be at least 1",
        ),
        ("gift_days = 30\n", "", "gift needs gift_days = N"),
        ("gift = {", "# gift = {", "gift_days needs the offer too"),
        (
            "el = \"ένας",
            "fr = \"un café\", xx1 = \"x\", el = \"ένας",
            "not a language code",
        ),
        (
            "el = \"ένας καφές και ένα γλυκό, κερασμένα\"",
            "el = \"  \"",
            "the el gift offer is empty",
        ),
        (
            "el = \"ένας καφές και ένα γλυκό, κερασμένα\", ",
            "",
            "no offer in the default language (el)",
        ),
        (
            "[gifts]\nsecret_file = \"gift-secret\"\n",
            "",
            "add [gifts] with secret_file",
        ),
    ];
    for (from, to, words) in table {
        let shop = shop();
        shop.edit("greet.toml", from, to);
        let out = shop.run(&["check"]).expect(2);
        let err = format!("{}{}", out.stdout(), out.stderr());
        assert!(err.contains(words), "{from:?} → {to:?}: {err}");
        assert!(err.contains("greet.toml:"), "located: {err}");
        // Nothing was sent by a config that does not load.
        shop.run(&["send", "birthday", "--date", DAY, "--yes"])
            .expect(2);
        assert!(!shop.path("outbox").exists() || outbox(&shop).is_empty());
    }
    // The secret: readable by others, too short, missing.
    for (mode, content, words) in [
        (0o644, "a secret of the shop, 32 bytes!!", "chmod 600"),
        (0o640, "a secret of the shop, 32 bytes!!", "chmod 600"),
        (0o600, "short", "at least 16"),
    ] {
        let shop = shop();
        shop.write("gift-secret", content);
        secret_mode(&shop, mode);
        let out = shop.run(&["check"]).expect(2);
        let err = format!("{}{}", out.stdout(), out.stderr());
        assert!(err.contains(words), "{mode:o}: {err}");
        assert!(err.contains("[gifts] secret_file"), "{err}");
    }
    let shop = shop();
    std::fs::remove_file(shop.path("gift-secret")).unwrap();
    let out = shop.run(&["check"]).expect(2);
    let err = format!("{}{}", out.stdout(), out.stderr());
    assert!(err.contains("[gifts] secret_file"), "{err}");
}

fn secret_mode(shop: &Shop, mode: u32) {
    chmod(&shop.path("gift-secret"), mode);
}

#[test]
fn without_a_gift_the_greeting_has_no_gift_lines_and_another_secret_makes_other_codes() {
    let plain = Shop::with_customers(&format!("{HEADER}{LIST}"));
    let mut plain = plain;
    plain.now = format!("{DAY}T09:00:00+02:00");
    plain
        .run(&["send", "birthday", "--date", DAY, "--yes"])
        .expect(0);
    for (to, (text, html)) in bodies(&outbox(&plain)) {
        assert!(codes_in(&text).is_empty(), "{to}: {text}");
        for (_, words) in SHOW {
            assert!(!text.contains(words), "{to}: {text}");
            assert!(!html.as_deref().unwrap_or("").contains(words), "{to}");
        }
    }
    let a = shop();
    a.run(&["send", "birthday", "--date", DAY, "--yes"])
        .expect(0);
    let b = shop();
    b.write("gift-secret", "another secret of the shop, 32 b");
    secret_mode(&b, 0o600);
    b.run(&["send", "birthday", "--date", DAY, "--yes"])
        .expect(0);
    let (ca, cb) = (codes(&outbox(&a)), codes(&outbox(&b)));
    for to in ca.keys() {
        assert_ne!(ca[to], cb[to], "{to}");
    }
    // One shop's code means nothing to another shop's till.
    gift(&b, &[&ca["john@example.com"]]).expect(1);
}

#[test]
fn the_gift_lines_in_each_language_match_their_snapshot() {
    let shop = shop();
    let out = shop.run(&["preview", "birthday", "--date", DAY]).expect(0);
    let text = out.stdout();
    assert_eq!(codes_in(&text).len(), 4, "{text}");
    insta::assert_snapshot!("birthday-gift-2026-03-14", text);
}
