//! Holidays by tradition: `kind = "holiday"` occasions send each customer
//! their own feast on their own day (the eve, for the Jewish feasts), once a
//! year; the `tradition` column and `[traditions]` decide whose is whose.
//!
//! The expected days are the published ones for 2027 (Easter tables, the
//! Hebrew calendar's feasts as hebcal.com lists them), written here.
use std::collections::BTreeSet;

use crate::support::{REPO, Shop};

/// Every feast family, each its own occasion.
const CONFIG: &str = r#"time_zone = "Europe/Athens"
default_language = "el"

[sender]
name = "Φούρνος της Μαρίνας"
email = "hello@fournos-marinas.example.gr"
signature = "Μαρίνα"

[customers]
path = "customers.csv"

[occasions.christmas]
kind = "holiday"
feast = "christmas"

[occasions.easter]
kind = "holiday"
feast = "easter"

[occasions.new-year]
kind = "holiday"
feast = "new_year"

[occasions.rosh-hashanah]
kind = "holiday"
feast = "rosh_hashanah"

[occasions.hanukkah]
kind = "holiday"
feast = "hanukkah"

[occasions.passover]
kind = "holiday"
feast = "passover"

[traditions]
ru = "orthodox"

# Off here, where each test looks at one feast at a time; the year's run
# below switches it back on (the default, 7 days).
[spacing]
min_days_between = 0

[transport]
kind = "file"
dir = "outbox"
rate = "1000/second"
"#;

/// All four traditions, from the language and from the column (which
/// wins), one through `[traditions]`, one with none, and one whose blank
/// language is the default's.
const CUSTOMERS: &str = "\
id,email,first_name,gender,language,tradition
EL,maria@example.gr,Μαρία,f,el,
HY,aram@example.am,Արամ,m,hy,
HE,sarah@example.co.il,שרה,f,he,
EN,emma@example.com,Emma,f,en,
ENJ,david@example.com,David,m,en,jewish
HEW,noa@example.co.il,נועה,f,he,Western
RU,olga@example.ru,Olga,f,ru,
FR,dominique@example.fr,Dominique,,fr,
DEF,eleni@example.gr,Ελένη,f,,
ARM,anna@example.gr,Άννα,f,el,armenian
";

fn shop() -> Shop {
    let shop = Shop::samples();
    shop.write("greet.toml", CONFIG);
    shop.write("customers.csv", CUSTOMERS);
    shop
}

/// Published days of 2027 each tradition is wished each feast on: Western
/// Easter 28 March, Orthodox Easter 2 May; Rosh Hashanah 5788 on 2 October,
/// Hanukkah on 25 December, Passover on 22 April (each wished the evening
/// before); Armenian Christmas 6 January; New Year 1 January for everyone.
fn expected_2027() -> BTreeSet<String> {
    let orthodox = [
        ("new-year", "2027-01-01"),
        ("easter", "2027-05-02"),
        ("christmas", "2027-12-25"),
    ];
    let armenian = [
        ("new-year", "2027-01-01"),
        ("christmas", "2027-01-06"),
        ("easter", "2027-03-28"),
    ];
    let western = [
        ("new-year", "2027-01-01"),
        ("easter", "2027-03-28"),
        ("christmas", "2027-12-25"),
    ];
    let jewish = [
        ("new-year", "2027-01-01"),
        ("passover", "2027-04-21"),
        ("rosh-hashanah", "2027-10-01"),
        ("hanukkah", "2027-12-24"),
    ];
    let none = [("new-year", "2027-01-01")];
    let who: [(&str, &[(&str, &str)]); 10] = [
        ("EL", &orthodox),
        ("HY", &armenian),
        ("HE", &jewish),
        ("EN", &western),
        ("ENJ", &jewish),
        ("HEW", &western),
        ("RU", &orthodox),
        ("FR", &none),
        ("DEF", &orthodox),
        ("ARM", &armenian),
    ];
    who.iter()
        .flat_map(|(key, days)| {
            days.iter()
                .map(move |(occ, day)| format!("{occ}-{day}-{key}.eml"))
        })
        .collect()
}

fn outbox(shop: &Shop) -> BTreeSet<String> {
    match std::fs::read_dir(shop.path("outbox")) {
        Err(_) => BTreeSet::new(),
        Ok(dir) => dir
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".eml"))
            .collect(),
    }
}

/// `send --due` as the daily timer runs it on `day`, at 09:00 in Athens.
fn send_due(shop: &Shop, day: chrono::NaiveDate, extra: &[&str]) -> crate::support::Run {
    let date = day.to_string();
    let mut args = vec!["send", "--due", "--yes", "--date", &date];
    args.extend_from_slice(extra);
    crate::support::Run(
        shop.command(&args)
            .env("GREET_NOW", format!("{date}T09:00:00+02:00"))
            .output()
            .unwrap(),
    )
}

/// The feasts of `expected_2027` that the spacing rule leaves out: per
/// customer, feasts taken in order of precedence (greet.toml's order of the
/// holiday occasions), each kept unless a kept one is fewer than `min`
/// days from it.
fn spaced_out(feasts: &BTreeSet<String>, min: i64) -> BTreeSet<String> {
    let order = [
        "christmas",
        "easter",
        "new-year",
        "rosh-hashanah",
        "hanukkah",
        "passover",
    ];
    let parse = |n: &str| {
        let at = n.find("-2027-").unwrap();
        let occasion = &n[..at];
        let day = chrono::NaiveDate::parse_from_str(&n[at + 1..at + 11], "%Y-%m-%d").unwrap();
        let customer = n[at + 12..].trim_end_matches(".eml").to_string();
        let rank = order.iter().position(|o| *o == occasion).unwrap();
        (customer, rank, day, n.to_string())
    };
    let mut all: Vec<_> = feasts.iter().map(|n| parse(n)).collect();
    all.sort_by_key(|(c, rank, day, _)| (c.clone(), *rank, *day));
    let mut kept: Vec<(String, chrono::NaiveDate)> = Vec::new();
    let mut out = BTreeSet::new();
    for (customer, _, day, name) in all {
        let close = kept
            .iter()
            .any(|(c, d)| *c == customer && (*d - day).num_days().abs() < min);
        if close {
            out.insert(name);
        } else {
            kept.push((customer, day));
        }
    }
    out
}

#[test]
fn a_year_of_daily_runs_greets_every_customer_on_their_own_feasts_once() {
    let shop = shop();
    // Spacing on, at its default: two greetings to one customer at least 7
    // days apart (the Armenians' New Year gives way to their Christmas on
    // 6 January).
    shop.edit("greet.toml", "[spacing]\nmin_days_between = 0\n", "");
    let spaced = spaced_out(&expected_2027(), 7);
    assert!(!spaced.is_empty(), "the year has feasts close together");
    let sent_2027: BTreeSet<String> = expected_2027().difference(&spaced).cloned().collect();
    let start = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    let mut sent = 0;
    for day in start.iter_days().take(365) {
        let before = outbox(&shop);
        let run = send_due(&shop, day, &[]).expect(0);
        let new: BTreeSet<String> = outbox(&shop).difference(&before).cloned().collect();
        assert_eq!(run.sent(), new.len(), "{day}: {}", run.stderr());
        // Every file written today is for today.
        for name in &new {
            assert!(name.contains(&format!("-{day}-")), "{day}: {name}");
        }
        sent += new.len();
    }
    let got = outbox(&shop);
    assert_eq!(got, sent_2027);
    assert_eq!(sent, got.len());
    // The rule held: no two greetings to one customer fewer than 7 days
    // apart, and every feast left out is in the ledger as spaced out.
    let day_of = |n: &str| {
        let at = n.find("-2027-").unwrap() + 1;
        chrono::NaiveDate::parse_from_str(&n[at..at + 10], "%Y-%m-%d").unwrap()
    };
    let customer_of = |n: &str| {
        n.rsplit('-')
            .next()
            .unwrap()
            .trim_end_matches(".eml")
            .to_string()
    };
    for a in &got {
        for b in got
            .iter()
            .filter(|b| *b != a && customer_of(b) == customer_of(a))
        {
            assert!(
                (day_of(a) - day_of(b)).num_days().abs() >= 7,
                "{a} and {b} are fewer than 7 days apart"
            );
        }
    }
    let conn = rusqlite::Connection::open(shop.path("greet-ledger.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT occasion, occurrence, customer FROM greetings WHERE state = 'spaced'")
        .unwrap();
    let in_ledger: BTreeSet<String> = stmt
        .query_map([], |r| {
            Ok(format!(
                "{}-{}-{}.eml",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(in_ledger, spaced);

    // Run again on every feast day: nothing more.
    let days: BTreeSet<String> = got
        .iter()
        .map(|n| {
            let at = n.find("-2027-").unwrap() + 1;
            n[at..at + 10].to_string()
        })
        .collect();
    for day in days {
        let day = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap();
        let again = send_due(&shop, day, &[]).expect(0);
        assert_eq!(again.sent(), 0, "{day}: {}", again.stderr());
    }
    assert_eq!(outbox(&shop), sent_2027);

    // The greeting speaks the customer's feast in their language: the
    // Jewish English speaker's Seder-eve wish, the Armenian's 6 January;
    // Olga writes Russian, which has no templates: greeted in the default (el).
    let subject = |name: &str| {
        let bytes = std::fs::read(shop.path("outbox").join(name)).unwrap();
        let msg = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        msg.subject().unwrap().to_string()
    };
    assert_eq!(
        subject("passover-2027-04-21-ENJ.eml"),
        "Chag Pesach Sameach, David!"
    );
    assert_eq!(
        subject("christmas-2027-01-06-HY.eml"),
        "Շնորհավոր Սուրբ Ծնունդ, Արամ!"
    );
    assert_eq!(
        subject("easter-2027-05-02-RU.eml"),
        "Καλό Πάσχα, Olga! Χριστός Ανέστη!"
    );
    assert_eq!(
        subject("rosh-hashanah-2027-10-01-HE.eml"),
        "שנה טובה ומתוקה, שרה!"
    );
}

#[test]
fn missed_feast_days_are_caught_up_as_belated_once() {
    let shop = shop();
    // The machine was off on Christmas Eve and Christmas Day 2027.
    let day = |m, d| chrono::NaiveDate::from_ymd_opt(2027, m, d).unwrap();
    send_due(&shop, day(12, 23), &[]).expect(0);
    let run = send_due(&shop, day(12, 26), &["--catch-up", "3"]).expect(0);
    let got = outbox(&shop);
    let want: BTreeSet<String> = expected_2027()
        .into_iter()
        .filter(|n| n.contains("-2027-12-2"))
        .collect();
    assert_eq!(got, want, "{}", run.stderr());
    assert_eq!(run.sent(), want.len());
    // Late, the Hanukkah wish no longer says "tonight".
    let bytes = std::fs::read(shop.path("outbox/hanukkah-2027-12-24-ENJ.eml")).unwrap();
    let msg = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    let late = msg.body_text(0).unwrap();
    assert!(
        late.contains("The Hanukkah candles are already burning"),
        "{late}"
    );
    assert!(!late.contains("Tonight"), "{late}");
    send_due(&shop, day(12, 27), &["--catch-up", "3"]).expect(0);
    assert_eq!(outbox(&shop), want);
}

#[test]
fn christmas_previews_orthodox_and_western_customers_on_25_december_and_armenians_on_6_january() {
    let shop = shop();
    let names = |date: &str| -> BTreeSet<String> {
        crate::support::due_names(&shop.preview_json("christmas", date))
            .into_iter()
            .collect()
    };
    let set = |v: &[&str]| -> BTreeSet<String> { v.iter().map(|s| s.to_string()).collect() };
    assert_eq!(
        names("2026-12-25"),
        set(&["Μαρία", "Emma", "נועה", "Olga", "Ελένη"])
    );
    assert_eq!(names("2027-01-06"), set(&["Արամ", "Άννα"]));
    assert!(names("2026-12-24").is_empty());
    // Each greeting's occurrence is its own day.
    let json = shop.preview_json("christmas", "2027-01-06");
    assert!(json.iter().all(|l| l["date"] == "2027-01-06"), "{json:?}");
    // Hanukkah 5787 begins on the evening of 4 December 2026.
    assert_eq!(
        crate::support::due_names(&shop.preview_json("hanukkah", "2026-12-04")),
        ["שרה", "David"]
    );
    assert!(shop.preview_json("hanukkah", "2026-12-05").is_empty());
}

#[test]
fn a_bad_tradition_cell_is_located_and_only_that_row_is_left_out() {
    let shop = shop();
    shop.write(
        "customers.csv",
        &CUSTOMERS.replace(
            "FR,dominique@example.fr,Dominique,,fr,",
            "FR,dominique@example.fr,Dominique,,fr,catholic",
        ),
    );
    let out = shop.run(&["check"]).expect(2);
    assert!(
        out.stdout().contains(
            "customers.csv:9:6: tradition \"catholic\" is not orthodox, armenian, jewish or western (blank: from the language)"
        ),
        "{}",
        out.stdout()
    );
    let json = shop
        .run(&[
            "preview",
            "new-year",
            "--date",
            "2027-01-01",
            "--format",
            "json",
        ])
        .expect(0)
        .json();
    let due = crate::support::due_names(&json);
    assert_eq!(due.len(), 9, "{json:?}");
    assert!(!due.contains(&"Dominique".to_string()));
}

#[test]
fn check_names_the_customers_whose_language_has_no_tradition() {
    let shop = shop();
    let out = shop.run(&["check"]).expect(0);
    let stdout = out.stdout();
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("no tradition"))
        .collect();
    assert_eq!(
        warnings,
        [
            "customers.csv:9: warning: no tradition for language \"fr\": not greeted for christmas, easter, hanukkah, passover, rosh-hashanah; fill in the tradition column, or add [traditions] fr = \"orthodox\" (armenian, jewish, western) to greet.toml"
        ]
    );
    // With a tradition for French, nothing to say.
    shop.edit(
        "greet.toml",
        "ru = \"orthodox\"",
        "ru = \"orthodox\"\nfr = \"western\"",
    );
    let out = shop.run(&["check"]).expect(0);
    assert!(!out.stdout().contains("no tradition"), "{}", out.stdout());
}

#[test]
fn bad_holiday_config_is_located() {
    let cases = [
        (
            "feast = \"christmas\"",
            "feast = \"xmas\"",
            "greet.toml:14:9: occasion \"christmas\": feast \"xmas\" is not one greet knows; use one of christmas, easter, new_year, rosh_hashanah, hanukkah, passover",
        ),
        (
            "kind = \"holiday\"\nfeast = \"easter\"",
            "kind = \"holiday\"",
            "greet.toml:16:1: occasion \"easter\": kind = \"holiday\" needs a feast, one of christmas, easter, new_year, rosh_hashanah, hanukkah, passover",
        ),
        (
            "kind = \"holiday\"\nfeast = \"passover\"",
            "kind = \"birthday\"\nfeast = \"passover\"",
            "greet.toml:34:9: occasion \"passover\": feast is only for kind = \"holiday\"",
        ),
        (
            "ru = \"orthodox\"",
            "ru = \"pagan\"",
            "greet.toml:37:6: [traditions] ru = \"pagan\" is not a tradition; use orthodox, armenian, jewish or western",
        ),
        (
            "ru = \"orthodox\"",
            "russian = \"orthodox\"",
            "greet.toml:37:11: [traditions] \"russian\" is not a language code such as el, hy, he or en",
        ),
    ];
    for (from, to, want) in cases {
        let shop = shop();
        shop.edit("greet.toml", from, to);
        let out = shop.run(&["check"]).expect(2);
        assert!(out.stdout().contains(want), "{to}:\n{}", out.stdout());
        // Nothing is sent either.
        let send = shop
            .run(&["send", "--due", "--yes", "--date", "2027-01-01"])
            .expect(2);
        assert!(send.stderr().contains(want), "{to}:\n{}", send.stderr());
        assert!(outbox(&shop).is_empty());
    }
}

#[test]
fn every_feast_has_a_template_in_every_language() {
    for feast in [
        "christmas",
        "easter",
        "new-year",
        "rosh-hashanah",
        "hanukkah",
        "passover",
    ] {
        for lang in ["el", "hy", "he", "en"] {
            let path = format!("{REPO}/templates/{feast}.{lang}.txt");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(text.starts_with("Subject: "), "{path}");
            assert!(
                text.trim_end()
                    .ends_with(&format!("{{% include \"_signature.{lang}.txt\" -%}}")),
                "{path} does not end with its signature (and unsubscribe line)"
            );
        }
    }
}

#[test]
fn every_feast_in_every_language_matches_its_snapshot() {
    let shop = shop();
    // A customer of each language for each tradition the feasts need.
    shop.write(
        "customers.csv",
        "id,email,first_name,last_name,gender,language,tradition,customer_since\n\
         C1,maria@example.gr,Μαρία,Νικολάου,f,el,,2015-03-01\n\
         C2,rebecca@example.gr,Ρεβέκκα,Κοέν,f,el,jewish,2024-05-01\n\
         C3,aram@example.am,Արամ,Պետրոսյան,m,hy,,2010-11-15\n\
         C4,sara@example.am,Սառա,Լևին,f,hy,jewish,2020-02-17\n\
         C5,david@example.co.il,דוד,לוי,m,he,,2015-07-30\n\
         C6,noa@example.co.il,נועה,ברק,,he,western,2022-05-16\n\
         C7,emma@example.com,Emma,O'Brien,f,en,,2013-08-08\n\
         C8,jacob@example.com,Jacob,Stern,m,en,jewish,2019-11-05\n",
    );
    let lang_of = |email: &str| match email.rsplit('.').next().unwrap() {
        "gr" => "el",
        "am" => "hy",
        "il" => "he",
        _ => "en",
    };
    // (occasion, day) pairs of 2027 on which each customer of these is due.
    let days = [
        ("christmas", "2027-12-25"),
        ("christmas", "2027-01-06"),
        ("easter", "2027-05-02"),
        ("easter", "2027-03-28"),
        ("new-year", "2027-01-01"),
        ("rosh-hashanah", "2027-10-01"),
        ("hanukkah", "2027-12-24"),
        ("passover", "2027-04-21"),
    ];
    let mut seen = BTreeSet::new();
    for (occasion, day) in days {
        for line in shop.preview_json(occasion, day) {
            let email = line["to"].as_str().unwrap().to_string();
            let email = email
                .rsplit('<')
                .next()
                .unwrap()
                .trim_end_matches('>')
                .to_string();
            let lang = lang_of(&email);
            // One snapshot per (feast, language): the first due customer's.
            if !seen.insert((occasion, lang)) {
                continue;
            }
            let text = shop
                .run(&["preview", occasion, "--date", day, "--only", &email])
                .expect(0)
                .stdout();
            insta::assert_snapshot!(format!("holiday-{occasion}-{lang}"), text);
        }
    }
    assert_eq!(seen.len(), 24, "{seen:?}");
}

/// The holiday shop with a birthday occasion and three birthdays: one on a
/// feast day, one on Armenian Christmas, one alone.
fn calendar_shop() -> Shop {
    let shop = shop();
    shop.write(
        "greet.toml",
        &CONFIG.replace(
            "[traditions]",
            "[occasions.birthday]\nkind = \"birthday\"\n\n[occasions.loyal-thanks]\nkind = \"campaign\"\n\n[traditions]",
        ),
    );
    let mut csv = String::new();
    for (i, line) in CUSTOMERS.lines().enumerate() {
        let birthday = match line.split(',').next().unwrap() {
            _ if i == 0 => "birthday",
            "EL" => "1990-12-25",
            "HY" => "--01-06",
            "FR" => "14/07/1985",
            _ => "",
        };
        csv.push_str(&format!("{line},{birthday}\n"));
    }
    shop.write("customers.csv", &csv);
    shop
}

/// (day, occasion) → how many, from the published feast days and the birthdays.
fn calendar_2027() -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>
{
    let mut days: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>> =
        Default::default();
    let births = [
        "birthday-2027-12-25-EL",
        "birthday-2027-01-06-HY",
        "birthday-2027-07-14-FR",
    ];
    for name in expected_2027()
        .iter()
        .map(|n| n.trim_end_matches(".eml").to_string())
        .chain(births.map(String::from))
    {
        let at = name.find("-2027-").unwrap();
        let (occasion, day) = (&name[..at], &name[at + 1..at + 11]);
        *days
            .entry(day.to_string())
            .or_default()
            .entry(occasion.to_string())
            .or_default() += 1;
    }
    days
}

#[test]
fn the_calendar_lists_each_day_of_the_year_with_what_is_due_and_how_many() {
    let shop = calendar_shop();
    let expected = calendar_2027();
    let mut want = String::new();
    let mut totals: std::collections::BTreeMap<&str, usize> = Default::default();
    for (day, occasions) in &expected {
        let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
        let total: usize = occasions.values().sum();
        let listing: Vec<String> = occasions.iter().map(|(o, n)| format!("{o} {n}")).collect();
        want.push_str(&format!(
            "{day}  {}  {total:>6}  {}\n",
            chrono::Datelike::weekday(&date),
            listing.join(" · ")
        ));
        for (o, n) in occasions {
            *totals.entry(o).or_default() += n;
        }
    }
    let total: usize = totals.values().sum();
    let listing: Vec<String> = totals.iter().map(|(o, n)| format!("{o} {n}")).collect();
    want.push_str(&format!(
        "2027-01-01 – 2027-12-31  {total:>6}  {}\n",
        listing.join(" · ")
    ));
    let out = shop.run(&["calendar", "--year", "2027"]).expect(0);
    assert_eq!(out.stdout(), want);
    assert!(out.stdout().starts_with(
        "2027-01-01  Fri      10  new-year 10\n2027-01-06  Wed       3  birthday 1 · christmas 2\n"
    ));

    // JSON: one object per day, the same counts.
    let json = shop
        .run(&["calendar", "--year", "2027", "--format", "json"])
        .expect(0)
        .json();
    assert_eq!(json.len(), expected.len());
    for (line, (day, occasions)) in json.iter().zip(&expected) {
        assert_eq!(line["date"], day.as_str());
        assert_eq!(line["total"], occasions.values().sum::<usize>());
        let got: std::collections::BTreeMap<String, usize> =
            serde_json::from_value(line["occasions"].clone()).unwrap();
        assert_eq!(&got, occasions);
    }

    // One customer's year: Aram's (Armenian) days.
    let aram = shop
        .run(&[
            "calendar",
            "--year",
            "2027",
            "--customer",
            "ARAM@example.am",
        ])
        .expect(0)
        .stdout();
    assert_eq!(
        aram,
        "2027-01-01  Fri       1  new-year 1\n\
         2027-01-06  Wed       2  birthday 1 · christmas 1\n\
         2027-03-28  Sun       1  easter 1\n\
         2027-01-01 – 2027-12-31       4  birthday 1 · christmas 1 · easter 1 · new-year 1\n"
    );
    let nobody = shop
        .run(&["calendar", "--customer", "nobody@example.gr"])
        .expect(2);
    assert!(
        nobody
            .stderr()
            .contains("customers.csv: no customer with the address nobody@example.gr"),
        "{}",
        nobody.stderr()
    );
}

#[test]
fn the_calendar_lists_the_good_rows_and_says_which_are_not() {
    let shop = calendar_shop();
    shop.edit("customers.csv", "fr,,14/07/1985", "fr,,31/02/1985");
    // Emma twice, under another id: neither row is greeted.
    let csv = shop.read("customers.csv");
    shop.write(
        "customers.csv",
        &format!("{csv}EN2,Emma@Example.com,Emma,f,en,,\n"),
    );
    let out = shop.run(&["calendar", "--year", "2027"]).expect(0);
    let err = out.stderr();
    assert!(err.contains("customers.csv:9:7: birthday"), "{err}");
    assert!(err.contains("customers.csv:5:"), "{err}");
    assert!(err.contains("customers.csv:12:"), "{err}");
    // Dominique's row and both of Emma's are left out: eight for New Year,
    // no birthday in July, Western Easter for Aram, Noa and Anna only.
    let text = out.stdout();
    assert!(
        text.starts_with("2027-01-01  Fri       8  new-year 8\n"),
        "{text}"
    );
    assert!(!text.contains("2027-07-14"), "{text}");
    assert!(
        text.contains("\n2027-03-28  Sun       3  easter 3\n"),
        "{text}"
    );
    let emma = shop
        .run(&["calendar", "--customer", "emma@example.com"])
        .expect(0);
    assert!(
        emma.stderr()
            .contains("emma@example.com shares its key or mailbox with another row"),
        "{}",
        emma.stderr()
    );
    assert_eq!(emma.stdout().lines().count(), 1, "{}", emma.stdout());
}
