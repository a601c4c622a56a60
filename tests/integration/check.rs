//! `greet check`: every problem, located; exit 2 if any is an error.
use crate::support::{HEADER, Shop, customer_rows};

#[test]
fn the_samples_check_clean() {
    let shop = Shop::samples();
    let out = shop.run(&["check"]).expect(0);
    let text = out.stdout();
    // Every row read and usable; no error, and as many warnings as it lists.
    let rows = customer_rows(&shop.read("customers.csv")).len();
    let read = format!("customers.csv: {rows} rows read, {rows} usable");
    assert!(text.lines().any(|l| l == read), "{text}");
    let warnings = text.lines().filter(|l| l.contains(": warning: ")).count();
    let plural = if warnings == 1 { "" } else { "s" };
    let last = text.lines().last().unwrap();
    assert!(
        last.ends_with(&format!("; 0 errors, {warnings} warning{plural}")),
        "{text}"
    );
}

#[test]
fn check_reports_a_language_that_falls_back() {
    let shop = Shop::samples();
    let out = shop.run(&["check"]).expect(0);
    let text = out.stdout();
    assert!(text.contains("warning: no \"fr\" template for"), "{text}");
}

#[test]
fn check_lists_every_problem_with_its_location() {
    let shop = Shop::with_customers(&format!(
        "{HEADER}1,maria@example.gr,Μαρία,Κ,f,el,1985-03-14,2015-01-01,,\n\
         2,a@@b.gr,Γιώργος,Π,m,el,1985-03-14,2015-01-01,,\n\
         3,eleni@example.gr,Ελένη,Μ,f,el,1985-03-14,someday,,\n"
    ));
    let path = "templates/birthday.el.txt";
    let text = shop.read(path);
    shop.write(
        path,
        &text.replacen("{{ salutation }}", "{{ salutation | shout }}", 1),
    );
    let out = shop.run(&["check"]).expect(2);
    let text = out.stdout();
    assert!(
        text.contains("customers.csv:3:2: email \"a@@b.gr\" has more than one @"),
        "{text}"
    );
    assert!(
        text.contains("customers.csv:4:8: customer_since \"someday\" is not a date"),
        "{text}"
    );
    assert!(text.contains("templates/birthday.el.txt:"), "{text}");
    assert!(text.contains("shout"), "{text}");
}

#[test]
fn a_config_typo_is_refused_with_its_location() {
    let shop = Shop::samples();
    shop.edit("greet.toml", "leap_day =", "leapday =");
    let out = shop.run(&["check"]).expect(2);
    let line = shop
        .read("greet.toml")
        .lines()
        .position(|l| l.starts_with("leapday"))
        .unwrap()
        + 1;
    assert!(
        out.stdout()
            .contains(&format!("greet.toml:{line}:1: unknown field `leapday`")),
        "{}",
        out.stdout()
    );
    // preview refuses the same way, on stderr
    let out = shop.run(&["preview", "christmas"]).expect(2);
    assert!(
        out.stderr().contains(&format!("greet.toml:{line}:1:")),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_missing_config_names_the_fix() {
    let shop = Shop::samples();
    let out = shop.run(&["--config", "nope.toml", "check"]).expect(2);
    assert!(out.stdout().contains("greet init"), "{}", out.stdout());
}

#[test]
fn a_list_without_an_email_column_lists_the_columns_found() {
    let shop =
        Shop::with_customers("name;mail address;birthday\nΜαρία;maria@example.gr;1985-03-14\n");
    let out = shop.run(&["check"]).expect(2);
    assert!(
        out.stdout().contains(
            "no email column; the columns found are \"name\", \"mail address\", \"birthday\""
        ),
        "{}",
        out.stdout()
    );
}

#[test]
fn a_blank_gender_is_inferred_from_a_greek_name_and_reported() {
    let shop = Shop::with_customers(&format!(
        "{HEADER}1,giorgos@example.gr,Γιώργος,Π,,el,1985-03-14,2015-01-01,,\n\
         2,despoina@example.gr,Δέσποινα,Κ,,el,1985-03-14,2015-01-01,,\n\
         3,alex@example.gr,Alex,M,,el,1985-03-14,2015-01-01,,\n"
    ));
    let out = shop.run(&["check"]).expect(0);
    let text = out.stdout();
    assert!(
        text.contains("customers.csv:2:5: warning: gender inferred as m from the name Γιώργος"),
        "{text}"
    );
    assert!(
        text.contains("customers.csv:3:5: warning: gender inferred as f from the name Δέσποινα"),
        "{text}"
    );
    assert!(!text.contains("from the name Alex"), "{text}");
    let preview = shop
        .run(&["preview", "birthday", "--date", "2026-03-14"])
        .expect(0)
        .stdout();
    assert!(preview.contains("Αγαπητέ Γιώργο,"), "{preview}");
    assert!(preview.contains("Αγαπητή Δέσποινα,"), "{preview}");
    // Not a Greek name, no gender: the neutral salutation.
    assert!(preview.contains("Γεια σου Alex,"), "{preview}");
}

#[test]
fn check_lists_every_trust_problem_of_a_list_and_none_of_them_is_ever_due_or_sent() {
    // One row per class of problem, each on 14 March, beside two good rows.
    // (line, what check must say about it)
    let rows = [
        (
            "G1,good@example.gr,Άννα,Α,f,el,1990-03-14,2015-01-01,,",
            None,
        ),
        (
            "B1,\u{200b}maria@example.gr,Μαρία,Β,f,el,1990-03-14,2015-01-01,,",
            Some("same mailbox"),
        ),
        (
            "B2,maria@example.gr\u{2060},Μαρία,Β,f,el,1990-03-14,2015-01-01,,",
            Some("same mailbox"),
        ),
        (
            "B3,ｎｉｋｏｓ@example.gr,Νίκος,Γ,m,el,1990-03-14,2015-01-01,,",
            Some("fullwidth"),
        ),
        (
            "B4,eleni@example.gr,????,Δ,f,el,1990-03-14,2015-01-01,,",
            Some("placeholders"),
        ),
        (
            "B5,anna@example.gr,\u{fffd}\u{fffd}\u{fffd},Ε,f,el,1990-03-14,2015-01-01,,",
            Some("first_name"),
        ),
        (
            "B6,old@example.gr,Γιάννης,Ζ,m,el,1850-03-14,2015-01-01,,",
            Some("1900"),
        ),
        (
            "B7,future@example.gr,Πέτρος,Η,m,el,2030-03-14,2015-01-01,,",
            Some("in the future"),
        ),
        (
            "B8,since@example.gr,Ελένη,Θ,f,el,1990-03-14,2030-01-01,,",
            Some("in the future"),
        ),
        (
            "G2,good2@example.gr,\u{2067}Γιώργος\u{2069},Ι,,el,1990-03-14,2015-01-01,,",
            None,
        ),
    ];
    let mut csv = HEADER.to_string();
    for (row, _) in &rows {
        csv.push_str(row);
        csv.push('\n');
    }
    let mut shop = Shop::with_customers(&csv);
    shop.now = "2026-03-14T09:00:00+02:00".into();
    let out = shop.run(&["check"]).expect(2);
    let text = out.stdout();
    for (i, (row, says)) in rows.iter().enumerate() {
        let line = i + 2;
        if let Some(says) = says {
            assert!(
                text.lines()
                    .any(|l| l.contains(&format!("customers.csv:{line}:")) && l.contains(says)),
                "line {line} ({row}) should say {says:?}:\n{text}"
            );
        }
    }
    // Nothing wrong is previewed as due: only the good rows and the
    // fullwidth one (read, with a warning, as nikos@example.gr).
    let due: Vec<String> = shop
        .preview_json("birthday", "2026-03-14")
        .iter()
        .filter(|l| l["status"] == "due")
        .map(|l| l["to"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        due,
        ["good@example.gr", "nikos@example.gr", "good2@example.gr"],
        "{text}"
    );
    // The salutation of the name wrapped in bidi isolates is still the
    // vocative with the inferred gender.
    let greeting = shop.preview_json("birthday", "2026-03-14");
    let g2 = greeting.iter().find(|l| l["customer"] == "G2").unwrap();
    assert!(
        g2["text"].as_str().unwrap().contains("Αγαπητέ Γιώργο"),
        "{}",
        g2["text"]
    );
    // Nor sent: send refuses the list, and with --skip-invalid sends only those.
    shop.run(&["send", "birthday", "--yes"]).expect(2);
    assert!(!shop.path("outbox").exists());
    let sent = shop
        .run(&["send", "birthday", "--yes", "--skip-invalid"])
        .expect(0);
    assert_eq!(sent.sent(), due.len(), "{}", sent.stderr());
    let outbox = std::fs::read_dir(shop.path("outbox")).unwrap().count();
    assert_eq!(outbox, due.len());
}

/// The sample shop with this `[transport]` table instead of its own.
fn with_transport(table: &str) -> Shop {
    let shop = Shop::samples();
    let text = shop.read("greet.toml");
    let start = text.find("[transport]").unwrap();
    shop.write(
        "greet.toml",
        &format!("{}[transport]\n{table}\n", &text[..start]),
    );
    shop
}

/// The lines of check's "transport settings:" block, unindented.
fn shown_settings(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| *l != "transport settings:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn check_shows_the_transport_with_every_default_resolved_and_explicit_keys_winning() {
    // (the [transport] table, exactly the settings check must show)
    let cases: &[(&str, &[&str])] = &[
        (
            "",
            &[
                "kind: file (default)",
                "dir: outbox (default, beside the ledger)",
                "rate: 30/minute (default)",
                "max_per_run: no cap (default)",
                "daily_limit: no limit (default)",
            ],
        ),
        (
            "kind = \"file\"\ndir = \"sent-mail\"\nrate = \"500/h\"\nmax_per_run = 40",
            &[
                "kind: file",
                "dir: sent-mail",
                "rate: 500/hour",
                "max_per_run: 40",
                "daily_limit: no limit (default)",
            ],
        ),
        (
            "kind = \"smtp\"\nhost = \"mail.example.gr\"",
            &[
                "kind: smtp",
                "host: mail.example.gr",
                "port: 587 (default for starttls)",
                "security: starttls (default)",
                "timeout: 30s (default)",
                "password: none (no login)",
                "rate: 30/minute (default)",
                "max_per_run: no cap (default)",
                "daily_limit: no limit (default)",
            ],
        ),
        (
            "kind = \"smtp\"\nhost = \"mail.example.gr\"\nsecurity = \"tls\"",
            &[
                "kind: smtp",
                "host: mail.example.gr",
                "port: 465 (default for tls)",
                "security: tls",
                "timeout: 30s (default)",
                "password: none (no login)",
                "rate: 30/minute (default)",
                "max_per_run: no cap (default)",
                "daily_limit: no limit (default)",
            ],
        ),
        (
            "kind = \"smtp\"\nhost = \"localhost\"\nsecurity = \"none\"",
            &[
                "kind: smtp",
                "host: localhost",
                "port: 25 (default for none)",
                "security: none",
                "timeout: 30s (default)",
                "password: none (no login)",
                "rate: 30/minute (default)",
                "max_per_run: no cap (default)",
                "daily_limit: no limit (default)",
            ],
        ),
        (
            "kind = \"smtp\"\nhost = \"mail.example.gr\"\nport = 2525\nsecurity = \"tls\"\ntimeout = 9\nrate = \"2/second\"\nmax_per_run = 1",
            &[
                "kind: smtp",
                "host: mail.example.gr",
                "port: 2525",
                "security: tls",
                "timeout: 9s",
                "password: none (no login)",
                "rate: 2/second",
                "max_per_run: 1",
                "daily_limit: no limit (default)",
            ],
        ),
        (
            "kind = \"sendmail\"\ncommand = \"/bin/sh\"",
            &[
                "kind: sendmail",
                "command: /bin/sh",
                "rate: 30/minute (default)",
                "max_per_run: no cap (default)",
                "daily_limit: no limit (default)",
            ],
        ),
        (
            "provider = \"microsoft365\"\nusername = \"shop@example.gr\"\npassword_env = \"GREET_TEST_PW\"",
            &[
                "provider: microsoft365",
                "kind: smtp (the provider's)",
                "host: smtp.office365.com (provider microsoft365)",
                "port: 587 (provider microsoft365)",
                "security: starttls (provider microsoft365)",
                "timeout: 30s (default)",
                "username: shop@example.gr",
                "password: from the environment variable GREET_TEST_PW",
                "rate: 30/minute (provider microsoft365)",
                "max_per_run: no cap (default)",
                "daily_limit: 10000 in 24 hours (provider microsoft365)",
            ],
        ),
        (
            "provider = \"gmail\"\nusername = \"shop@example.gr\"\npassword_env = \"GREET_TEST_PW\"\nport = 465\nsecurity = \"tls\"\nrate = \"5/minute\"\ndaily_limit = 100",
            &[
                "provider: gmail",
                "kind: smtp (the provider's)",
                "host: smtp.gmail.com (provider gmail)",
                "port: 465",
                "security: tls",
                "timeout: 30s (default)",
                "username: shop@example.gr",
                "password: from the environment variable GREET_TEST_PW",
                "rate: 5/minute",
                "max_per_run: no cap (default)",
                "daily_limit: 100 in 24 hours",
            ],
        ),
    ];
    for (table, expected) in cases {
        let shop = with_transport(table);
        let out = crate::support::Run(
            shop.command(&["check"])
                .env("GREET_TEST_PW", "not shown")
                .output()
                .unwrap(),
        )
        .expect(0);
        assert_eq!(
            shown_settings(&out.stdout()),
            *expected,
            "{table}\n{}",
            out.stdout()
        );
        // --quiet keeps to the problems.
        let quiet = crate::support::Run(
            shop.command(&["--quiet", "check"])
                .env("GREET_TEST_PW", "not shown")
                .output()
                .unwrap(),
        )
        .expect(0);
        assert!(
            !quiet.stdout().contains("transport settings"),
            "{}",
            quiet.stdout()
        );
    }
    // The default sendmail is named, whether or not this machine has it.
    let out = with_transport("kind = \"sendmail\"").run(&["check"]);
    assert!(
        shown_settings(&out.stdout()).contains(&"command: /usr/sbin/sendmail (default)".into()),
        "{}",
        out.stdout()
    );
}

#[test]
fn check_says_where_the_smtp_password_comes_from_and_never_shows_it() {
    const SECRET: &str = "s3cret-Μαρίνα-123";
    let login = "kind = \"smtp\"\nhost = \"mail.example.gr\"\nusername = \"shop@example.gr\"";
    let shop = with_transport(&format!("{login}\npassword_file = \"smtp-password\""));
    shop.write("smtp-password", &format!("{SECRET}\n"));
    let mut perms = std::fs::metadata(shop.path("smtp-password"))
        .unwrap()
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
    std::fs::set_permissions(shop.path("smtp-password"), perms).unwrap();
    let out = shop.run(&["check"]).expect(0).stdout();
    let shown = shown_settings(&out);
    assert!(shown.contains(&"username: shop@example.gr".into()), "{out}");
    assert!(
        shown.contains(&"password: from the file smtp-password".into()),
        "{out}"
    );
    assert!(!out.contains(SECRET), "{out}");

    let shop = with_transport(&format!("{login}\npassword_env = \"GREET_TEST_PW\""));
    let out = crate::support::Run(
        shop.command(&["check"])
            .env("GREET_TEST_PW", SECRET)
            .output()
            .unwrap(),
    )
    .expect(0)
    .stdout();
    assert!(
        shown_settings(&out)
            .contains(&"password: from the environment variable GREET_TEST_PW".into()),
        "{out}"
    );
    assert!(!out.contains(SECRET), "{out}");
}
