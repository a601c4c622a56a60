//! Never a storm: `[spacing]` keeps a customer's greetings at least
//! `min_days_between` days apart, from the ledger, across runs, catch-up
//! days and batches; the one left out is "spaced out" in preview, history
//! and the review page.
use crate::support::{Run, Shop};

/// Κωνσταντίνος celebrates his name day on 21 May; `birthday` is his
/// birthday (DD/MM/YYYY). Ελένη (name day 21 May too) has her birthday in
/// October: her name day is never spaced.
fn shop_with_birthday(birthday: &str) -> Shop {
    Shop::with_customers(&format!(
        "id,email,first_name,last_name,gender,language,birthday,customer_since,opt_out,favourite\n\
         C001,kostas@example.gr,Κωνσταντίνος,Αθανασίου,m,el,{birthday},2020-01-09,,\n\
         C002,eleni@example.gr,Ελένη,Δήμου,f,el,10/10/1985,2020-02-01,,\n"
    ))
}

fn with_spacing(shop: &Shop, table: &str) {
    let text = shop.read("greet.toml");
    shop.write("greet.toml", &format!("{text}\n[spacing]\n{table}\n"));
}

fn send_due(shop: &Shop, date: &str, more: &[&str]) -> Run {
    let mut args = vec!["send", "--due", "--date", date, "--yes"];
    args.extend_from_slice(more);
    shop.run(&args).expect(0)
}

/// The recipients of the messages in the outbox, one per message, sorted.
fn outbox(shop: &Shop) -> Vec<String> {
    if !shop.path("outbox").exists() {
        return Vec::new();
    }
    let mut to: Vec<String> = shop
        .eml_files("outbox")
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap();
            let msg = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            msg.to()
                .unwrap()
                .first()
                .unwrap()
                .address()
                .unwrap()
                .to_string()
        })
        .collect();
    to.sort();
    to
}

/// The subject of the message to `to` in the outbox.
fn subject_to(shop: &Shop, to: &str) -> String {
    shop.eml_files("outbox")
        .iter()
        .find_map(|p| {
            let bytes = std::fs::read(p).unwrap();
            let msg = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            let addr = msg.to()?.first()?.address()?.to_string();
            (addr == to).then(|| msg.subject().unwrap_or_default().to_string())
        })
        .unwrap_or_else(|| panic!("no message to {to}"))
}

/// `greet history` lines of one state, e.g. "spaced".
fn history_lines(shop: &Shop, state: &str) -> Vec<String> {
    shop.run(&["history"])
        .expect(0)
        .stdout()
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(state))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_name_day_two_days_before_the_birthday_gives_way_to_it_and_says_so() {
    let shop = shop_with_birthday("23/05/1980");
    // Preview of the name day: his is spaced out (the birthday comes), hers is due.
    let lines = shop.preview_json("nameday", "2026-05-21");
    let kostas = lines
        .iter()
        .find(|l| l["to"] == "kostas@example.gr")
        .unwrap();
    assert_eq!(kostas["status"], "spaced", "{kostas}");
    assert_eq!(
        kostas["gave_way_to"], "birthday on 2026-05-23, to come",
        "{kostas}"
    );
    assert!(
        kostas["text"].is_null(),
        "a spaced greeting is not rendered"
    );
    let eleni = lines
        .iter()
        .find(|l| l["to"] == "eleni@example.gr")
        .unwrap();
    assert_eq!(eleni["status"], "due");
    // The text preview lists him as skipped, with why, and counts him.
    let text = shop
        .run(&["preview", "nameday", "--date", "2026-05-21"])
        .expect(0);
    assert!(
        text.stdout().contains(
            "skipped · Κωνσταντίνος Αθανασίου <kostas@example.gr> · spaced out: birthday on 2026-05-23, to come"
        ),
        "{}",
        text.stdout()
    );
    assert!(
        text.stderr()
            .contains("1 greeting for nameday on 2026-05-21 · 1 spaced out"),
        "{}",
        text.stderr()
    );
    // The review page shows him under "Spaced out".
    shop.run(&[
        "preview",
        "nameday",
        "--date",
        "2026-05-21",
        "--format",
        "html",
        "--out",
        "review.html",
    ])
    .expect(0);
    let page = shop.read("review.html");
    assert!(
        page.contains("Spaced out (1)"),
        "no spaced section in the page"
    );
    assert!(
        page.contains("&lt;kostas@example.gr&gt; — spaced out: birthday on 2026-05-23, to come"),
        "the page says why"
    );

    // The day's run sends hers only, and keeps his as spaced in the ledger.
    let out = send_due(&shop, "2026-05-21", &[]);
    assert_eq!(out.summary(), "sent 1 · spaced out 1");
    assert_eq!(outbox(&shop), ["eleni@example.gr"]);
    let spaced = history_lines(&shop, "spaced");
    assert_eq!(spaced.len(), 1, "{spaced:?}");
    assert!(
        spaced[0].contains("nameday 2026-05-21 → kostas@example.gr")
            && spaced[0].contains("birthday on 2026-05-23, to come"),
        "{}",
        spaced[0]
    );
    // Run again the same day: nothing more, the spaced greeting stays spaced.
    let again = send_due(&shop, "2026-05-21", &[]);
    assert_eq!(again.summary(), "sent 0 · already greeted 1 · spaced out 1");
    // Two days on, his birthday goes.
    let out = send_due(&shop, "2026-05-23", &[]);
    assert_eq!(out.sent(), 1);
    assert_eq!(outbox(&shop), ["eleni@example.gr", "kostas@example.gr"]);
    // And the preview of the name day now says it was spaced out.
    let lines = shop.preview_json("nameday", "2026-05-21");
    let kostas = lines
        .iter()
        .find(|l| l["to"] == "kostas@example.gr")
        .unwrap();
    assert_eq!(kostas["status"], "spaced");
}

#[test]
fn precedence_decides_which_of_two_the_same_day_goes() {
    let shop = shop_with_birthday("21/05/1980");
    with_spacing(&shop, "precedence = [\"nameday\", \"birthday\"]");
    let out = send_due(&shop, "2026-05-21", &[]);
    assert_eq!(out.summary(), "sent 2 · spaced out 1");
    let spaced = history_lines(&shop, "spaced");
    assert!(
        spaced.len() == 1 && spaced[0].contains("birthday 2026-05-21 → kostas@example.gr"),
        "{spaced:?}"
    );
}

#[test]
fn a_birthday_sent_on_one_run_spaces_out_the_name_day_of_a_later_run() {
    // Birthday on 19 May, name day on the 21st: the runs of each day.
    let shop = shop_with_birthday("19/05/1980");
    let first = send_due(&shop, "2026-05-19", &[]);
    assert_eq!(first.summary(), "sent 1");
    let second = send_due(&shop, "2026-05-21", &[]);
    assert_eq!(second.summary(), "sent 1 · spaced out 1");
    assert_eq!(outbox(&shop), ["eleni@example.gr", "kostas@example.gr"]);
    let spaced = history_lines(&shop, "spaced");
    assert!(
        spaced.len() == 1
            && spaced[0].contains("nameday 2026-05-21 → kostas@example.gr")
            && spaced[0].contains("birthday on 2026-05-19, sent"),
        "{spaced:?}"
    );
}

#[test]
fn a_greeting_that_went_out_wins_whatever_its_precedence() {
    // The birthday went out while spacing was off; then the owner puts the
    // name day first. It cannot unsend the birthday: the name day gives way.
    let shop = shop_with_birthday("19/05/1980");
    with_spacing(&shop, "min_days_between = 0");
    assert_eq!(send_due(&shop, "2026-05-19", &[]).sent(), 1);
    shop.edit(
        "greet.toml",
        "min_days_between = 0",
        "min_days_between = 7\nprecedence = [\"nameday\"]",
    );
    let out = send_due(&shop, "2026-05-21", &[]);
    assert_eq!(out.summary(), "sent 1 · spaced out 1");
    assert_eq!(history_lines(&shop, "spaced").len(), 1);
}

#[test]
fn catch_up_days_are_spaced_like_a_run_of_each_day() {
    // The first run on 17 May; then none until the 22nd, which catches up
    // the birthday (19th) and the name day (21st): only the birthday goes.
    let shop = shop_with_birthday("19/05/1980");
    assert_eq!(send_due(&shop, "2026-05-17", &[]).sent(), 0);
    let out = send_due(&shop, "2026-05-22", &["--catch-up", "5"]);
    assert_eq!(out.summary(), "sent 2 · spaced out 1");
    assert_eq!(outbox(&shop), ["eleni@example.gr", "kostas@example.gr"]);
    let sent = history_lines(&shop, "sent");
    assert!(
        sent.iter()
            .any(|l| l.contains("birthday 2026-05-19 → kostas@example.gr")),
        "{sent:?}"
    );
    assert_eq!(history_lines(&shop, "spaced").len(), 1);
}

#[test]
fn a_reviewed_batch_leaves_out_a_greeting_spaced_by_one_sent_since() {
    // The name day's batch is reviewed with spacing off, the birthday goes
    // on the 19th, then the batch of the 21st is sent: his name day is
    // left out, from the ledger.
    let shop = shop_with_birthday("19/05/1980");
    with_spacing(&shop, "min_days_between = 0");
    shop.preview_batch("nameday", "2026-05-21", "batch")
        .expect(0);
    shop.edit("greet.toml", "min_days_between = 0", "min_days_between = 7");
    assert_eq!(send_due(&shop, "2026-05-19", &[]).sent(), 1);
    let mut cmd = shop.command(&["send", "--batch", "batch", "--yes"]);
    cmd.env("GREET_NOW", "2026-05-21T09:00:00+03:00");
    let out = Run(cmd.output().unwrap()).expect(0);
    assert_eq!(out.summary(), "sent 1 · spaced out 1");
    assert_eq!(history_lines(&shop, "spaced").len(), 1);
}

#[test]
fn min_days_between_zero_sends_every_greeting() {
    let shop = shop_with_birthday("21/05/1980");
    with_spacing(&shop, "min_days_between = 0");
    let out = send_due(&shop, "2026-05-21", &[]);
    assert_eq!(out.summary(), "sent 3");
    assert_eq!(
        outbox(&shop),
        ["eleni@example.gr", "kostas@example.gr", "kostas@example.gr"]
    );
}

#[test]
fn greetings_min_days_between_apart_both_go() {
    // Birthday on the 18th, name day on the 21st, three days apart.
    let shop = shop_with_birthday("18/05/1980");
    with_spacing(&shop, "min_days_between = 3");
    assert_eq!(send_due(&shop, "2026-05-18", &[]).sent(), 1);
    assert_eq!(send_due(&shop, "2026-05-21", &[]).sent(), 2);
    assert!(history_lines(&shop, "spaced").is_empty());
}

#[test]
fn a_spacing_mistake_is_located_in_greet_toml() {
    for (table, key, words) in [
        (
            "precedence = [\"birthday\", \"namday\"]",
            "precedence",
            "precedence names \"namday\", which is not an occasion of this config",
        ),
        (
            "precedence = [\"christmas\"]",
            "precedence",
            "a campaign: campaigns are sent when you run them and are never spaced",
        ),
        (
            "min_days_between = 400",
            "min_days_between",
            "min_days_between = 400 is more than a year",
        ),
        ("min_days_between = -1", "min_days_between", ""),
        ("min_days = 3", "min_days", "unknown field"),
    ] {
        let shop = shop_with_birthday("21/05/1980");
        with_spacing(&shop, table);
        let line = shop
            .read("greet.toml")
            .lines()
            .position(|l| l.starts_with(key))
            .unwrap()
            + 1;
        let out = shop.run(&["check"]).expect(2);
        let said = format!("{}{}", out.stdout(), out.stderr());
        assert!(
            said.contains(&format!("greet.toml:{line}:")) && said.contains(words),
            "{table}: {said}"
        );
        shop.run(&["send", "--due", "--date", "2026-05-21", "--yes"])
            .expect(2);
        assert!(!shop.path("greet-ledger.sqlite").exists());
    }
}

#[test]
fn the_same_day_a_combined_template_sends_one_greeting_for_both() {
    // The shipped birthday+nameday.el.txt: one greeting, keyed as the
    // birthday, and the name day kept as combined into it.
    let shop = shop_with_birthday("21/05/1980");
    let lines = shop.preview_json("birthday", "2026-05-21");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["status"], "due");
    assert_eq!(lines[0]["combined"], "birthday+nameday");
    insta::assert_snapshot!(
        "birthday+nameday-el",
        format!(
            "Subject: {}\n\n{}",
            lines[0]["subject"].as_str().unwrap(),
            lines[0]["text"].as_str().unwrap()
        )
    );
    let text = shop
        .run(&["preview", "birthday", "--date", "2026-05-21"])
        .expect(0);
    assert!(
        text.stdout()
            .contains("Κωνσταντίνος Αθανασίου <kostas@example.gr> · el · birthday+nameday\n"),
        "{}",
        text.stdout()
    );
    let names = shop.preview_json("nameday", "2026-05-21");
    let kostas = names
        .iter()
        .find(|l| l["to"] == "kostas@example.gr")
        .unwrap();
    assert_eq!(kostas["status"], "spaced");
    let out = send_due(&shop, "2026-05-21", &[]);
    assert_eq!(out.summary(), "sent 2 · spaced out 1");
    assert_eq!(outbox(&shop), ["eleni@example.gr", "kostas@example.gr"]);
    let sent = history_lines(&shop, "sent");
    assert!(
        sent.iter()
            .any(|l| l.contains("birthday 2026-05-21 → kostas@example.gr")),
        "{sent:?}"
    );
    let spaced = history_lines(&shop, "spaced");
    assert!(
        spaced.len() == 1
            && spaced[0].contains("nameday 2026-05-21 → kostas@example.gr")
            && spaced[0].contains("sent with birthday on 2026-05-21 (birthday+nameday)"),
        "{spaced:?}"
    );
    // The message is the combined one.
    assert_eq!(
        subject_to(&shop, "kostas@example.gr"),
        lines[0]["subject"].as_str().unwrap()
    );
    // A later catch-up over the same day sends neither again.
    let again = send_due(&shop, "2026-05-22", &["--catch-up", "1"]);
    assert_eq!(again.summary(), "sent 0 · already greeted 2 · spaced out 1");
}

#[test]
fn the_same_day_without_a_combined_template_precedence_decides() {
    let shop = shop_with_birthday("21/05/1980");
    std::fs::remove_file(shop.path("templates/birthday+nameday.el.txt")).unwrap();
    let lines = shop.preview_json("birthday", "2026-05-21");
    assert_eq!(lines[0]["status"], "due");
    assert!(lines[0]["combined"].is_null());
    assert!(
        lines[0]["subject"]
            .as_str()
            .unwrap()
            .starts_with("Χρόνια πολλά, "),
        "the birthday's own template: {}",
        lines[0]["subject"]
    );
    let out = send_due(&shop, "2026-05-21", &[]);
    assert_eq!(out.summary(), "sent 2 · spaced out 1");
    let spaced = history_lines(&shop, "spaced");
    assert!(
        spaced.len() == 1
            && spaced[0].contains("nameday 2026-05-21 → kostas@example.gr")
            && spaced[0].contains("birthday on 2026-05-21"),
        "{spaced:?}"
    );
}

#[test]
fn a_name_day_sent_alone_first_leaves_the_birthday_of_its_day_to_be_sent_combined() {
    // The owner sends the name day by name, then the birthday, the same day:
    // the name day is kept as combined into the birthday, and the birthday
    // is then written from the combined template.
    let shop = shop_with_birthday("21/05/1980");
    let out = shop
        .run(&["send", "nameday", "--date", "2026-05-21", "--yes"])
        .expect(0);
    assert_eq!(out.summary(), "sent 1 · spaced out 1");
    let spaced = history_lines(&shop, "spaced");
    assert!(
        spaced.len() == 1
            && spaced[0].contains("sent with birthday on 2026-05-21 (birthday+nameday)"),
        "{spaced:?}"
    );
    let lines = shop.preview_json("birthday", "2026-05-21");
    assert_eq!(lines[0]["combined"], "birthday+nameday", "{}", lines[0]);
    let out = shop
        .run(&["send", "birthday", "--date", "2026-05-21", "--yes"])
        .expect(0);
    assert_eq!(out.summary(), "sent 1");
    assert_eq!(
        subject_to(&shop, "kostas@example.gr"),
        lines[0]["subject"].as_str().unwrap()
    );
    assert!(
        subject_to(&shop, "kostas@example.gr").contains("γιορτή και τα γενέθλιά σου"),
        "the combined subject"
    );
}
