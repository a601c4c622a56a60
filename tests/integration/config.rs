//! Every configuration mistake is exit 2, found by `check` with
//! file:line:column, before anything is touched (no ledger, no connection);
//! dates on the command line read like dates in the list.
use crate::send::shop_for;
use crate::smtp_server::SmtpServer;
use crate::support::{Run, Shop, birthday_parts, customer_rows, due_names};

/// The `[transport]` table of a shop sending to `server`, with `extra` keys.
fn smtp_with(server: &SmtpServer, extra: &str) -> Shop {
    let shop = shop_for(server);
    shop.edit(
        "greet.toml",
        "timeout = 5",
        &format!("timeout = 5\n{extra}"),
    );
    shop
}

fn line_of(shop: &Shop, key: &str) -> usize {
    shop.read("greet.toml")
        .lines()
        .position(|l| l.trim_start().starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in greet.toml"))
        + 1
}

/// `send` exits 2 before the ledger or the server is touched; `check` names
/// the key's line and column and exits 2.
fn assert_config_mistake(shop: &Shop, server: &SmtpServer, key: &str, why: &str, case: &str) {
    let line = line_of(shop, key);
    let send = shop.run(&["send", "birthday", "--date", "2026-03-14", "--yes"]);
    assert_eq!(send.code(), 2, "{case}: {}", send.stderr());
    assert!(send.stderr().contains(why), "{case}: {}", send.stderr());
    assert!(
        send.stderr().contains(&format!("greet.toml:{line}:")),
        "{case}: located at line {line}: {}",
        send.stderr()
    );
    assert!(
        !shop.path("greet-ledger.sqlite").exists(),
        "{case}: the ledger was touched"
    );
    assert_eq!(server.connections(), 0, "{case}");
    let check = shop.run(&["check"]);
    assert_eq!(check.code(), 2, "{case}: {}", check.stdout());
    assert!(
        check.stdout().contains(&format!("greet.toml:{line}:")) && check.stdout().contains(why),
        "{case}: {}",
        check.stdout()
    );
}

#[test]
fn every_transport_mistake_is_exit_2_found_by_check_before_anything_is_touched() {
    let server = SmtpServer::start();
    let shop = smtp_with(
        &server,
        "username = \"shop\"\npassword_env = \"GREET_TEST_PW\"",
    );
    assert_config_mistake(
        &shop,
        &server,
        "username",
        "never sends a password without TLS",
        "none + username",
    );

    let shop = shop_for(&server);
    shop.edit(
        "greet.toml",
        "security = \"none\"",
        "security = \"starttls\"\nusername = \"shop\"\npassword_env = \"GREET_UNSET_PASSWORD\"",
    );
    assert_config_mistake(
        &shop,
        &server,
        "password_env",
        "GREET_UNSET_PASSWORD, which is not set",
        "unset variable",
    );

    let shop = shop_for(&server);
    shop.edit(
        "greet.toml",
        "security = \"none\"",
        "security = \"starttls\"\nusername = \"shop\"\npassword_file = \"missing-password\"",
    );
    assert_config_mistake(
        &shop,
        &server,
        "password_file",
        "cannot read",
        "missing password file",
    );

    let shop = shop_for(&server);
    shop.edit(
        "greet.toml",
        "security = \"none\"",
        "security = \"starttls\"\nusername = \"shop\"\npassword_file = \"password\"",
    );
    shop.write("password", "secret-password-123\n");
    let mut perms = std::fs::metadata(shop.path("password"))
        .unwrap()
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    std::fs::set_permissions(shop.path("password"), perms).unwrap();
    assert_config_mistake(
        &shop,
        &server,
        "password_file",
        "can be read by other users",
        "0644 password file",
    );
    // The secret itself is never printed.
    let check = shop.run(&["check"]);
    assert!(!check.stdout().contains("secret-password-123"));

    let shop = shop_for(&server);
    shop.edit(
        "greet.toml",
        "security = \"none\"",
        "security = \"starttls\"\nca_file = \"no-such-ca.pem\"",
    );
    assert_config_mistake(&shop, &server, "ca_file", "cannot read", "missing CA file");

    let shop = shop_for(&server);
    shop.edit(
        "greet.toml",
        "security = \"none\"",
        "security = \"starttls\"\nca_file = \"ca.pem\"",
    );
    shop.write("ca.pem", "not a certificate\n");
    assert_config_mistake(
        &shop,
        &server,
        "ca_file",
        "not a PEM certificate",
        "CA file not PEM",
    );

    let shop = shop_for(&server);
    shop.edit(
        "greet.toml",
        "host = \"127.0.0.1\"",
        "host = \"mail.example.gr\"",
    );
    assert_config_mistake(
        &shop,
        &server,
        "security",
        "unencrypted across the network",
        "none to a remote host",
    );

    let shop = smtp_with(&server, "provider = \"gmail\"");
    assert_config_mistake(
        &shop,
        &server,
        "provider",
        "takes mail only from a signed-in account",
        "a provider without a login",
    );

    let shop = smtp_with(&server, "daily_limit = 0");
    assert_config_mistake(
        &shop,
        &server,
        "daily_limit",
        "daily_limit = 0 would never send anything",
        "a daily limit of 0",
    );
}

#[test]
fn numbers_that_cannot_work_and_a_missing_sendmail_are_config_mistakes_too() {
    let server = SmtpServer::start();
    for (key, to, why) in [
        ("timeout", "timeout = 0", "timeout = 0"),
        (
            "max_per_run",
            "timeout = 5\nmax_per_run = 0",
            "max_per_run = 0",
        ),
    ] {
        let shop = shop_for(&server);
        shop.edit("greet.toml", "timeout = 5", to);
        assert_config_mistake(&shop, &server, key, why, key);
    }
    let shop = shop_for(&server);
    let text = shop.read("greet.toml");
    let port_line = text.lines().find(|l| l.starts_with("port = ")).unwrap();
    shop.edit("greet.toml", port_line, "port = 0");
    assert_config_mistake(&shop, &server, "port", "port = 0", "port 0");

    let shop = Shop::samples();
    shop.edit(
        "greet.toml",
        "kind = \"file\"\ndir = \"outbox\"",
        "kind = \"sendmail\"\ncommand = \"/nonexistent/sendmail\"",
    );
    let check = shop.run(&["check"]).expect(2);
    let line = line_of(&shop, "command");
    assert!(
        check.stdout().contains(&format!("greet.toml:{line}:"))
            && check.stdout().contains("is not a program"),
        "{}",
        check.stdout()
    );
    shop.run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(2);
    assert!(!shop.path("greet-ledger.sqlite").exists());
}

#[test]
fn plain_smtp_is_for_this_machine_unless_the_config_names_the_choice() {
    let server = SmtpServer::start();
    for host in ["127.0.0.1", "localhost", "127.0.0.2", "[::1]"] {
        let shop = shop_for(&server);
        shop.edit(
            "greet.toml",
            "host = \"127.0.0.1\"",
            &format!("host = \"{host}\""),
        );
        shop.run(&["check"]).expect(0);
    }
    for host in [
        "mail.example.gr",
        "10.0.0.5",
        "192.168.1.1",
        "localhost.example.gr",
    ] {
        let shop = shop_for(&server);
        shop.edit(
            "greet.toml",
            "host = \"127.0.0.1\"",
            &format!("host = \"{host}\""),
        );
        let out = shop.run(&["check"]).expect(2);
        assert!(
            out.stdout().contains("allow_unencrypted_remote"),
            "{host}: {}",
            out.stdout()
        );
        shop.edit(
            "greet.toml",
            "timeout = 5",
            "timeout = 5\nallow_unencrypted_remote = true",
        );
        shop.run(&["check"]).expect(0);
    }
}

#[test]
fn a_config_that_check_passes_sends() {
    // The password from a 0600 file, over plain SMTP to this machine
    // without a username: check passes and send works.
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    shop.run(&["check"]).expect(0);
    let out = shop
        .run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(0);
    assert_eq!(out.summary(), "sent 3");
}

#[test]
fn dates_on_the_command_line_take_the_forms_the_list_takes() {
    let shop = Shop::samples();
    let iso = shop.preview_json("birthday", "2026-03-14");
    // Everyone on the list born on 14 March, whatever form their birthday takes.
    let born_14_march: Vec<String> = customer_rows(&shop.read("customers.csv"))
        .iter()
        .filter(|c| birthday_parts(&c["birthday"]).is_some_and(|(_, m, d)| (m, d) == (3, 14)))
        .map(|c| c["first_name"].clone())
        .collect();
    assert_eq!(due_names(&iso), born_14_march);
    for form in [
        "14/03/2026",
        "14.03.2026",
        "14/3/2026",
        "14-03-2026",
        " 2026-03-14 ",
    ] {
        let same = shop.preview_json("birthday", form);
        assert_eq!(same, iso, "{form}");
    }
    // The configured day/month order is followed.
    shop.edit("greet.toml", "date_order = \"dmy\"", "date_order = \"mdy\"");
    assert_eq!(
        shop.preview_run("birthday", "03/14/2026").json(),
        shop.preview_run("birthday", "2026-03-14").json()
    );
    assert!(shop.preview_run("birthday", "14/03/2026").code() == 2);

    let shop = Shop::samples();
    for (bad, why) in [
        ("31/02/2026", "is not a date that exists"),
        ("tomorrow", "use YYYY-MM-DD, DD/MM/YYYY or DD.MM.YYYY"),
        ("14/03", "has no year"),
        ("2026-13-01", "is not a date that exists"),
    ] {
        for cmd in [
            vec!["preview", "birthday", "--date", bad],
            vec!["send", "birthday", "--date", bad, "--yes"],
            vec!["check", "--date", bad],
        ] {
            let out = shop.run(&cmd);
            assert_eq!(out.code(), 2, "{cmd:?}: {}", out.stderr());
            assert!(out.stderr().contains("--date"), "{cmd:?}: {}", out.stderr());
            assert!(out.stderr().contains(why), "{cmd:?}: {}", out.stderr());
        }
    }
    assert!(!shop.path("greet-ledger.sqlite").exists());
    let out = shop.run(&["history", "--since", "31.02.2026"]);
    assert_eq!(out.code(), 2, "{}", out.stderr());
}

#[test]
fn an_unparsable_greet_now_is_exit_2_with_a_clear_message() {
    for bad in [
        "yesterday",
        "2026-03-14 09:00",
        "2026-02-30T09:00:00+02:00",
        "1710403200",
    ] {
        let mut shop = Shop::samples();
        shop.now = bad.into();
        for cmd in [
            vec!["preview", "birthday"],
            vec!["send", "birthday", "--yes"],
            vec!["check"],
        ] {
            let out = shop.run(&cmd);
            assert_eq!(out.code(), 2, "{bad} {cmd:?}: {}", out.stderr());
            assert!(
                out.stderr().contains("GREET_NOW") && out.stderr().contains("RFC 3339"),
                "{bad}: {}",
                out.stderr()
            );
        }
        assert!(!shop.path("greet-ledger.sqlite").exists());
    }
}

#[test]
fn unsubscribe_refuses_a_malformed_address_and_says_when_it_is_not_a_customer() {
    let shop = Shop::samples();
    for bad in [
        "maria@",
        "maria.example.gr",
        "a@@b.gr",
        "Maria <maria@example.gr>",
        "",
        "a b@c.gr",
    ] {
        let out = shop.run(&["unsubscribe", bad]);
        assert_eq!(out.code(), 2, "{bad:?}: {}", out.stdout());
        assert!(
            out.stderr().contains("nothing recorded"),
            "{bad:?}: {}",
            out.stderr()
        );
    }
    assert!(!shop.path("greet-ledger.sqlite").exists());

    // Not a customer yet: recorded, and said.
    let out = shop
        .run(&["unsubscribe", "new.person@example.gr"])
        .expect(0);
    assert!(out.stdout().contains("is not in"), "{}", out.stdout());
    // A customer, written with other case and spaces: no note, and it works.
    let out = shop
        .run(&["unsubscribe", "  Stamatis@Example.GR "])
        .expect(0);
    assert!(!out.stdout().contains("is not in"), "{}", out.stdout());
    let due = shop.preview_json("birthday", "2026-03-14");
    let stamatis = due.iter().find(|l| l["customer"] == "C001").unwrap();
    assert_eq!(stamatis["status"], "opted_out");
    // The one asked for before being imported is kept out once imported.
    let csv = shop.read("customers.csv");
    shop.write(
        "customers.csv",
        &format!("{csv}C100,new.person@example.gr,Νέα,Πελάτισσα,f,el,1990-03-14,,,\n"),
    );
    let due = shop.preview_json("birthday", "2026-03-14");
    let new = due.iter().find(|l| l["customer"] == "C100").unwrap();
    assert_eq!(new["status"], "opted_out");
    // Invisible characters and fullwidth forms in the argument change nothing.
    for written in [
        "\u{200b}sarah.cohen@example.co.il\u{2069}",
        "ｓａｒａｈ．ｃｏｈｅｎ@example.co.il",
    ] {
        shop.run(&["resubscribe", "sarah.cohen@example.co.il"])
            .expect(0);
        let out = shop.run(&["unsubscribe", written]).expect(0);
        assert!(
            !out.stdout().contains("is not in"),
            "{written}: {}",
            out.stdout()
        );
        let due = shop.preview_json("birthday", "2026-03-14");
        let sarah = due.iter().find(|l| l["customer"] == "C013").unwrap();
        assert_eq!(sarah["status"], "opted_out", "{written}");
    }
    // An IDN address is one address in either form.
    shop.run(&["unsubscribe", "eleni@xn--hxajbheg2az3al.xn--qxam"])
        .expect(0);
    let due = shop.preview_json("christmas", "2026-12-20");
    let eleni = due.iter().find(|l| l["customer"] == "C005").unwrap();
    assert_eq!(eleni["status"], "opted_out");
}

#[test]
fn preview_and_send_say_when_a_customer_gets_another_language() {
    let shop = Shop::samples();
    // No Hebrew Christmas template: the Hebrew customers get the default.
    std::fs::remove_file(shop.path("templates/christmas.he.txt")).unwrap();
    let _ = std::fs::remove_file(shop.path("templates/christmas.he.html"));
    let out = shop
        .run(&["preview", "christmas", "--format", "json"])
        .expect(0);
    let hebrew: Vec<String> = customer_rows(&shop.read("customers.csv"))
        .into_iter()
        .filter(|c| c["language"] == "he" && c["opt_out"].is_empty())
        .map(|c| c["id"].clone())
        .collect();
    let he = out
        .json()
        .iter()
        .filter(|l| l["status"] == "due" && hebrew.iter().any(|id| l["customer"] == *id))
        .count();
    assert_eq!(he, hebrew.len(), "{}", out.stdout());
    let err = out.stderr();
    let line = format!("{he} greetings in el instead of he: no christmas.he.txt");
    assert!(err.contains(&line), "{err}");
    // Dominique's French falls back too (no fr templates at all).
    assert!(
        err.contains("1 greeting in el instead of fr: no christmas.fr.txt"),
        "{err}"
    );
    // Also with --quiet, and in send's summary.
    let quiet = shop
        .run(&["--quiet", "preview", "christmas", "--format", "json"])
        .expect(0);
    assert!(quiet.stderr().contains(&line), "{}", quiet.stderr());
    let sent: Run = shop.run(&["send", "christmas", "--yes"]).expect(0);
    assert!(sent.stderr().contains(&line), "{}", sent.stderr());
}

#[test]
fn a_transport_key_of_another_kind_is_exit_2_located_before_anything_is_touched() {
    let server = SmtpServer::start();
    let smtp = format!(
        "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"",
        server.port
    );
    let sendmail = "kind = \"sendmail\"\ncommand = \"/bin/sh\"";
    // (what replaces the sample's kind and dir, the key that does not belong)
    let cases = [
        (smtp.as_str(), "dir = \"outbox\"", "dir"),
        (smtp.as_str(), "command = \"/usr/sbin/sendmail\"", "command"),
        (sendmail, "dir = \"outbox\"", "dir"),
        (sendmail, "timeout = 5", "timeout"),
        (sendmail, "password_env = \"GREET_TEST_PW\"", "password_env"),
        ("kind = \"file\"", "host = \"127.0.0.1\"", "host"),
        ("kind = \"file\"", "port = 25", "port"),
        ("kind = \"file\"", "command = \"/bin/sh\"", "command"),
        (
            "kind = \"file\"",
            "allow_unencrypted_remote = true",
            "allow_unencrypted_remote",
        ),
        // No kind: the outbox, whatever the SMTP keys say — so they are refused.
        ("", "host = \"127.0.0.1\"", "host"),
        ("", "security = \"tls\"", "security"),
    ];
    for (table, foreign, key) in cases {
        let shop = Shop::samples();
        shop.edit(
            "greet.toml",
            "kind = \"file\"\ndir = \"outbox\"",
            &format!("{table}\n{foreign}"),
        );
        let case = format!("{table:?} + {foreign}");
        assert_config_mistake(
            &shop,
            &server,
            key,
            &format!("[transport] {key} is for kind = "),
            &case,
        );
        assert!(!shop.path("outbox").exists(), "{case}: wrote to the outbox");
    }
}
