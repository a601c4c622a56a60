//! `greet send` against a scriptable SMTP server on 127.0.0.1: each row of
//! the fault matrix that this suite covers checks what the server received,
//! the ledger (through `greet history`) and the exit code.
use crate::smtp_server::SmtpServer;
use crate::support::{Run, Shop};

pub const STAMATIS: &str = "stamatis@example.gr";
pub const NAREK: &str = "narek@example.am";
pub const SARAH: &str = "sarah.cohen@example.co.il";

pub fn shop_for(server: &SmtpServer) -> Shop {
    let shop = Shop::samples();
    via_smtp(&shop, server);
    shop
}

/// A shop's transport switched from the outbox to `server`, at a rate that
/// does not slow the tests down.
pub fn via_smtp(shop: &Shop, server: &SmtpServer) {
    shop.edit(
        "greet.toml",
        "kind = \"file\"\ndir = \"outbox\"",
        &format!(
            "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\ntimeout = 5",
            server.port
        ),
    );
    shop.edit(
        "greet.toml",
        "rate = \"30/minute\"",
        "rate = \"1000/second\"",
    );
}

/// `greet send birthday` for 14 March. Retries within the run wait 10 ms
/// where the binary has the test hooks (`--features test-hooks`); the tests
/// that retry are ignored without them.
pub fn send(shop: &Shop, extra: &[&str]) -> Run {
    let mut args = vec!["send", "birthday", "--date", "2026-03-14", "--yes"];
    args.extend_from_slice(extra);
    Run(shop
        .command(&args)
        .env("GREET_RETRY_DELAY_MS", "10")
        .output()
        .unwrap())
}

pub fn history(shop: &Shop) -> String {
    shop.run(&["history"]).expect(0).stdout()
}

#[test]
fn each_due_greeting_is_sent_once_and_a_rerun_sends_nothing() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    let out = send(&shop, &[]).expect(0);
    assert!(out.stderr().contains("sent 3"), "{}", out.stderr());
    assert!(
        !out.stderr().contains('\r') && !out.stderr().contains("\x1b"),
        "no progress bar without a terminal: {:?}",
        out.stderr()
    );
    for who in [STAMATIS, NAREK, SARAH] {
        assert_eq!(server.count_to(who), 1, "{who}");
    }
    assert_eq!(
        server.connections(),
        1,
        "one connection reused for every message"
    );
    let again = send(&shop, &[]).expect(0);
    assert!(
        again.stderr().contains("sent 0 · already greeted 3"),
        "{}",
        again.stderr()
    );
    assert_eq!(server.received().len(), 3);
    let h = history(&shop);
    assert_eq!(h.matches("sent ").count(), 3, "{h}");
}

#[test]
fn a_refused_recipient_fails_alone_and_is_never_retried() {
    let server = SmtpServer::start();
    server.at_rcpt(SARAH, &["550 5.1.1 no such user"]);
    let shop = shop_for(&server);
    let out = send(&shop, &[]).expect(3);
    assert!(
        out.stderr()
            .contains("failed: שרה כהן <sarah.cohen@example.co.il>: 550 5.1.1 no such user"),
        "{}",
        out.stderr()
    );
    assert_eq!(server.count_to(STAMATIS), 1);
    assert_eq!(server.count_to(NAREK), 1);
    assert_eq!(server.count_to(SARAH), 0);
    assert!(history(&shop).contains(
        "failed    birthday 2026-03-14 → sarah.cohen@example.co.il  550 5.1.1 no such user"
    ));
    let again = send(&shop, &[]).expect(0);
    assert!(
        again.stderr().contains("failed before, not retried 1"),
        "{}",
        again.stderr()
    );
    assert_eq!(server.received().len(), 2);
}

#[test]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs --features test-hooks (the README's test command)"
)]
fn a_temporary_refusal_is_retried_within_the_run_and_sent_once() {
    let server = SmtpServer::start();
    server.at_rcpt(NAREK, &["451 4.7.1 try again later"]);
    server.at_data_end(SARAH, &["451 4.3.0 queue full"]);
    let shop = shop_for(&server);
    send(&shop, &[]).expect(0);
    assert_eq!(server.count_to(NAREK), 1);
    assert_eq!(server.count_to(SARAH), 1);
    assert_eq!(server.received().len(), 3);
}

#[test]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs --features test-hooks (the README's test command)"
)]
fn a_persistent_temporary_refusal_is_deferred_to_the_next_run() {
    let server = SmtpServer::start();
    server.at_rcpt(
        NAREK,
        &["451 4.7.1 later", "451 4.7.1 later", "451 4.7.1 later"],
    );
    let shop = shop_for(&server);
    let out = send(&shop, &[]).expect(3);
    assert!(
        out.stderr()
            .contains("deferred: Նարեկ Սարգսյան <narek@example.am>: 451 4.7.1 later"),
        "{}",
        out.stderr()
    );
    assert_eq!(server.count_to(NAREK), 0);
    let again = send(&shop, &[]).expect(0);
    assert!(again.stderr().contains("sent 1"), "{}", again.stderr());
    assert_eq!(server.count_to(NAREK), 1);
    assert_eq!(server.received().len(), 3);
}

#[test]
fn a_connection_lost_after_the_final_dot_is_uncertain_and_resent_only_on_request() {
    let server = SmtpServer::start();
    server.drop_after_dot(STAMATIS);
    let shop = shop_for(&server);
    let out = send(&shop, &[]).expect(3);
    assert!(
        out.stderr()
            .contains("uncertain: Σταμάτης Παπαδόπουλος <stamatis@example.gr>"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        server.count_to(NAREK),
        1,
        "the others still go, on a new connection"
    );
    assert_eq!(server.count_to(SARAH), 1);
    let again = send(&shop, &[]).expect(3);
    assert!(
        again.stderr().contains("uncertain, not resent 1"),
        "{}",
        again.stderr()
    );
    assert_eq!(server.count_to(STAMATIS), 1);
    send(&shop, &["--retry-uncertain"]).expect(0);
    let copies: Vec<_> = server
        .received()
        .into_iter()
        .filter(|m| m.rcpt.contains(&STAMATIS.to_string()))
        .collect();
    assert_eq!(copies.len(), 2);
    let id = |m: &crate::smtp_server::Received| {
        m.data
            .lines()
            .find(|l| l.starts_with("Message-ID:"))
            .map(str::to_string)
    };
    assert_eq!(
        id(&copies[0]),
        id(&copies[1]),
        "a resend keeps its Message-ID"
    );
}

#[test]
fn a_server_that_is_down_sends_nothing_marks_nobody_failed_and_exits_4() {
    let server = SmtpServer::start();
    let port = server.port;
    let shop = shop_for(&server);
    drop(server); // nothing listens on the port any more
    let out = send(&shop, &[]).expect(4);
    assert!(
        out.stderr().contains("cannot reach 127.0.0.1"),
        "{}",
        out.stderr()
    );
    assert!(!history(&shop).contains("failed"));
    let server = SmtpServer::start();
    shop.edit(
        "greet.toml",
        &format!("port = {port}"),
        &format!("port = {}", server.port),
    );
    send(&shop, &[]).expect(0);
    assert_eq!(server.received().len(), 3);
}

#[test]
fn a_second_run_while_one_holds_the_lock_refuses_at_once() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    shop.run(&["history"]).expect(0);
    let lock = std::fs::File::create(shop.path("greet-ledger.lock")).unwrap();
    lock.try_lock().unwrap();
    let out = send(&shop, &[]).expect(4);
    assert!(
        out.stderr().contains("another greet run is using"),
        "{}",
        out.stderr()
    );
    assert_eq!(server.received().len(), 0);
    drop(lock);
    send(&shop, &[]).expect(0);
}

#[test]
fn without_a_terminal_send_needs_yes() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    let out = shop
        .run(&["send", "birthday", "--date", "2026-03-14"])
        .expect(2);
    assert!(out.stderr().contains("pass --yes"), "{}", out.stderr());
    assert_eq!(server.received().len(), 0);
}

#[test]
fn an_unsubscribed_customer_stays_out_whatever_the_list_says() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    shop.run(&["unsubscribe", "Stamatis@Example.GR"]).expect(0);
    let out = send(&shop, &[]).expect(0);
    assert!(out.stderr().contains("opted out 1"), "{}", out.stderr());
    assert_eq!(server.count_to(STAMATIS), 0);
    assert_eq!(server.received().len(), 2);
}

#[test]
fn test_to_sends_real_greetings_to_the_owner_only_and_leaves_the_ledger_alone() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    send(&shop, &["--test-to", "owner@fournos-marinas.example.gr"]).expect(0);
    let got = server.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|m| m.rcpt == ["owner@fournos-marinas.example.gr"])
    );
    assert!(got.iter().all(|m| m.data.contains("Subject: [TEST] ")));
    send(&shop, &[]).expect(0);
    assert_eq!(
        server.count_to(STAMATIS),
        1,
        "the real run still greets everyone"
    );
}

#[test]
fn a_list_with_problems_is_not_sent_unless_asked() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    let csv = shop.read("customers.csv");
    shop.write(
        "customers.csv",
        &format!("{csv}C099,broken@,Σπύρος,Λ,m,el,1980-03-14,2015-01-01,,\n"),
    );
    let out = send(&shop, &[]).expect(2);
    assert!(
        out.stderr()
            .contains("customers.csv:22:2: email \"broken@\" has no domain after the @"),
        "{}",
        out.stderr()
    );
    assert!(out.stderr().contains("--skip-invalid"), "{}", out.stderr());
    assert_eq!(server.received().len(), 0);
    send(&shop, &["--skip-invalid"]).expect(0);
    assert_eq!(server.received().len(), 3);
}

#[test]
fn a_broken_template_sends_nothing() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    let t = shop.read("templates/birthday.he.txt");
    shop.write(
        "templates/birthday.he.txt",
        &t.replacen("{{ salutation }}", "{{ nope }}", 1),
    );
    let out = send(&shop, &[]).expect(2);
    assert!(
        out.stderr().contains("templates/birthday.he.txt:"),
        "{}",
        out.stderr()
    );
    assert_eq!(server.received().len(), 0);
}

#[test]
#[cfg_attr(
    greet_no_faketime,
    ignore = "needs faketime on PATH (apt install faketime)"
)]
fn a_daily_limit_is_shared_by_the_runs_of_a_day_and_the_next_day_continues() {
    // daily_limit = 2 and three birthdays: the first run sends two and
    // stops ("try later"); a second run the same day sends none; a run 25
    // hours later (libfaketime) sends the last one. Every greeting once.
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    shop.edit(
        "greet.toml",
        "rate = \"1000/second\"",
        "rate = \"1000/second\"\ndaily_limit = 2",
    );
    let first = send(&shop, &[]).expect(4);
    let said = first.stderr();
    assert!(said.contains("sent 2"), "{said}");
    assert!(
        said.contains("daily limit of the account reached (2 in 24 hours; 0 before this run); the next run continues: 1 greeting still due"),
        "{said}"
    );
    assert_eq!(server.received().len(), 2);
    let again = send(&shop, &[]).expect(4);
    assert!(
        again.stderr().contains("daily limit of the account reached (2 in 24 hours; 2 before this run); the next run continues: 1 greeting still due"),
        "{}",
        again.stderr()
    );
    assert_eq!(
        server.received().len(),
        2,
        "the same day sends nothing more"
    );
    let check = shop.run(&["check"]).expect(0).stdout();
    assert!(
        check.contains("  daily_limit: 2 in 24 hours\n  sent in the last 24 hours: 2 of 2\n"),
        "{check}"
    );
    let tomorrow = (chrono::Utc::now() + chrono::Duration::hours(25))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let args = ["send", "birthday", "--date", "2026-03-14", "--yes"];
    let out = Run(shop.faketime_command(&tomorrow, 1, &args).output().unwrap()).expect(0);
    assert!(out.stderr().contains("sent 1"), "{}", out.stderr());
    for who in [STAMATIS, NAREK, SARAH] {
        assert_eq!(server.count_to(who), 1, "{who}");
    }
}

#[test]
fn a_daily_limit_is_counted_over_what_earlier_runs_sent_for_any_occasion() {
    // Birthdays sent today use up the day's allowance of a campaign too.
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    shop.edit(
        "greet.toml",
        "rate = \"1000/second\"",
        "rate = \"1000/second\"\ndaily_limit = 4",
    );
    send(&shop, &[]).expect(0);
    let out = shop.run(&["send", "christmas", "--yes"]).expect(4);
    let said = out.stderr();
    assert!(said.contains("sent 1"), "{said}");
    assert!(
        said.contains("daily limit of the account reached (4 in 24 hours; 3 before this run)"),
        "{said}"
    );
    assert_eq!(server.received().len(), 4);
}

#[test]
fn the_longest_address_a_list_may_hold_is_written_to_the_outbox_and_a_batch() {
    // 254 characters, the most RFC 5321 allows: its file name is shortened
    // (beginning kept, digest added) instead of stopping the run.
    let local = "a".repeat(64);
    let (label, last) = ("b".repeat(59), "c".repeat(58));
    let long = format!("{local}@{label}.{label}.{last}.example.gr");
    assert_eq!(long.len(), 254);
    let shop = Shop::with_customers(&format!(
        "email,first_name,last_name,gender,language,birthday\n{long},Σταμάτης,Παπαδόπουλος,m,el,1980-03-14\nmaria@example.gr,Μαρία,Παπαδοπούλου,f,el,1985-03-14\n"
    ));
    let emls = |dir: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(shop.path(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".eml"))
            .collect();
        names.sort();
        names
    };
    shop.run(&[
        "preview",
        "birthday",
        "--date",
        "2026-03-14",
        "--format",
        "eml",
        "--out",
        "batch",
    ])
    .expect(0);
    assert_eq!(emls("batch").len(), 2, "{:?}", emls("batch"));
    shop.run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(0);
    let names = emls("outbox");
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| n.len() <= 220), "{names:?}");
    let text = std::fs::read_to_string(shop.path("outbox").join(&names[0])).unwrap();
    assert!(text.contains(&long), "{text}");
}

#[test]
fn an_outbox_that_cannot_take_a_file_stops_the_run_leaves_nothing_and_the_next_run_sends_it() {
    // A folder where the first greeting's file should go: the rename into
    // place fails (for root too). The run stops "try later", the greeting is
    // not recorded as written, no temporary file is left, and once the way
    // is clear the next run writes every greeting once.
    let shop = Shop::samples();
    let blocked = "outbox/birthday-2026-03-14-C001.eml";
    std::fs::create_dir_all(shop.path(blocked)).unwrap();
    let out = shop
        .run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(4);
    assert!(
        out.stderr()
            .contains("stopped: cannot reach the outbox folder")
            && out.stderr().contains("birthday-2026-03-14-C001.eml"),
        "{}",
        out.stderr()
    );
    let names = |shop: &Shop| -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(shop.path("outbox"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        names(&shop),
        ["birthday-2026-03-14-C001.eml"],
        "only the folder"
    );
    let history = shop.run(&["history"]).expect(0).stdout();
    assert!(
        history.contains("deferred") && !history.contains("sent  "),
        "{history}"
    );
    std::fs::remove_dir(shop.path(blocked)).unwrap();
    shop.run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(0);
    assert_eq!(names(&shop).len(), 3, "{:?}", names(&shop));
    assert!(
        names(&shop)
            .iter()
            .all(|n| n.ends_with(".eml") && !n.starts_with('.'))
    );
}

#[test]
fn an_outbox_run_clears_what_a_killed_run_left_half_written_and_nothing_else() {
    let shop = Shop::samples();
    let outbox = shop.path("outbox");
    // A killed run's half-written greeting, a finished one from an earlier
    // run, and the owner's own files.
    let half = ".birthday-2026-03-13-eleni@example.gr.eml.tmp";
    shop.write(&format!("outbox/{half}"), "From: half");
    shop.write("outbox/birthday-2026-03-13-eleni@example.gr.eml", "kept");
    shop.write("outbox/.notes.tmp", "the owner's");
    shop.write("outbox/.keep", "");
    shop.run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(0);
    let mut names: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(!names.contains(&half.to_string()), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".tmp")).count(),
        1,
        "only the owner's .tmp is left: {names:?}"
    );
    assert_eq!(names.iter().filter(|n| n.ends_with(".eml")).count(), 4);
    assert_eq!(
        shop.read("outbox/birthday-2026-03-13-eleni@example.gr.eml"),
        "kept"
    );
    assert!(names.contains(&".notes.tmp".to_string()));
    assert!(names.contains(&".keep".to_string()));
}

#[test]
#[cfg_attr(greet_no_strace, ignore = "needs strace on PATH (apt install strace)")]
fn an_outbox_greeting_is_on_the_disk_whole_before_the_ledger_records_it() {
    // Traced system calls of a real run: for every greeting, its bytes go to
    // a hidden temporary file that is flushed (fdatasync), renamed to the
    // .eml name, and the folder flushed — all before the next ledger commit
    // (the WAL's flush) that records it as written.
    let shop = Shop::samples();
    let trace = shop.path("trace");
    let strace = crate::support::on_path("strace")
        .expect("no strace on PATH: .ci/run installs it (apt install strace)");
    let greet = shop.command(&["send", "birthday", "--date", "2026-03-14", "--yes"]);
    let traced = [
        "-f".as_ref(),
        "-qq".as_ref(),
        "-y".as_ref(),
        "-o".as_ref(),
        trace.as_os_str(),
        "-e".as_ref(),
        "trace=fsync,fdatasync,rename,renameat,renameat2".as_ref(),
    ];
    let out = crate::support::under(strace, traced, &greet)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = std::fs::read_to_string(trace).unwrap();
    // Each call, in order, as (call, first argument).
    let calls: Vec<(String, String)> = trace
        .lines()
        .filter_map(|line| {
            let line = line.split_once(' ').map_or(line, |(pid, rest)| {
                if pid.chars().all(|c| c.is_ascii_digit()) {
                    rest.trim_start()
                } else {
                    line
                }
            });
            let (call, args) = line.split_once('(')?;
            Some((call.to_string(), args.to_string()))
        })
        .collect();
    let outbox = shop.path("outbox").canonicalize().unwrap();
    let outbox = outbox.to_str().unwrap();
    let wal = |args: &str| args.contains("-wal>");
    let mut files = Vec::new();
    for (i, (call, args)) in calls.iter().enumerate() {
        if !call.starts_with("rename") || !args.contains(".eml.tmp") {
            continue;
        }
        let tmp = args.split('"').nth(1).unwrap().to_string();
        let name = tmp.rsplit('/').next().unwrap();
        files.push(name.to_string());
        // Flushed under its temporary name, after the last ledger flush before it.
        let synced = calls[..i]
            .iter()
            .rposition(|(c, a)| c == "fdatasync" && a.contains(&format!("/{name}>")))
            .unwrap_or_else(|| panic!("{name} was renamed without being flushed:\n{trace}"));
        assert!(
            !calls[synced..i].iter().any(|(_, a)| wal(a)),
            "a ledger commit came between {name}'s flush and its rename:\n{trace}"
        );
        // Then the folder, before any ledger flush.
        let next_wal = calls[i..].iter().position(|(_, a)| wal(a)).map(|p| p + i);
        let folder = calls[i..]
            .iter()
            .position(|(c, a)| c == "fsync" && a.contains(&format!("<{outbox}>")))
            .map(|p| p + i)
            .unwrap_or_else(|| panic!("the outbox folder was not flushed after {name}:\n{trace}"));
        assert!(
            next_wal.is_some_and(|w| folder < w),
            "{name}: the ledger recorded it before the folder was flushed:\n{trace}"
        );
    }
    assert_eq!(files.len(), 3, "{trace}");
}

#[test]
fn the_sample_config_sends_into_an_outbox_folder() {
    let shop = Shop::samples();
    shop.run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(0);
    let files = std::fs::read_dir(shop.path("outbox")).unwrap().count();
    assert_eq!(files, 3);
    let again = shop
        .run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(0);
    assert!(
        again.stderr().contains("already greeted 3"),
        "{}",
        again.stderr()
    );
}

#[test]
fn a_quota_reply_halts_the_run_without_marking_anyone_failed() {
    let server = SmtpServer::start();
    server.at_rcpt(STAMATIS, &["550 5.4.5 Daily user sending quota exceeded"]);
    let shop = shop_for(&server);
    let out = send(&shop, &[]).expect(4);
    assert!(
        out.stderr()
            .contains("refuses this account: 550 5.4.5 Daily user sending quota exceeded"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        server.received().len(),
        0,
        "the run stops at the account-level reply"
    );
    assert!(!history(&shop).contains("failed"));
    send(&shop, &[]).expect(0);
    assert_eq!(server.received().len(), 3);
}

#[test]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs --features test-hooks (the README's test command)"
)]
fn too_many_recipients_452_is_temporary() {
    let server = SmtpServer::start();
    server.at_rcpt(SARAH, &["452 4.5.3 Too many recipients"]);
    let shop = shop_for(&server);
    send(&shop, &[]).expect(0);
    assert_eq!(server.count_to(SARAH), 1);
}

#[test]
fn content_rejected_again_and_again_stops_the_run() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    // Seven customers born on 14 March, every message refused as content.
    let mut csv = String::from("email,first_name,birthday\n");
    for i in 0..7 {
        let addr = format!("c{i}@example.gr");
        server.at_data_end(&addr, &["554 5.7.1 Message rejected as spam"]);
        csv.push_str(&format!("{addr},Νίκος,1980-03-14\n"));
    }
    shop.write("customers.csv", &csv);
    let out = send(&shop, &[]).expect(3);
    assert!(
        out.stderr()
            .contains("likely a template or account problem"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        history(&shop).matches("failed").count(),
        5,
        "the run stopped after five"
    );
}

#[test]
fn missed_days_are_caught_up_as_belated_but_never_before_the_first_run() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    // First run ever on 15 March: the 14th is before it, so no backfill.
    let out = Run(shop
        .command(&[
            "send",
            "birthday",
            "--date",
            "2026-03-15",
            "--catch-up",
            "3",
            "--yes",
        ])
        .output()
        .unwrap());
    let out = out.expect(0);
    assert!(out.stderr().contains("sent 0"), "{}", out.stderr());
    // A later run that missed days catches them up, marked belated.
    let csv = shop.read("customers.csv");
    shop.write(
        "customers.csv",
        &format!("{csv}C050,late@example.gr,Λήδα,Μ,f,el,1990-03-16,2015-01-01,,\n"),
    );
    Run(shop
        .command(&[
            "send",
            "birthday",
            "--date",
            "2026-03-18",
            "--catch-up",
            "3",
            "--yes",
        ])
        .output()
        .unwrap())
    .expect(0);
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt, ["late@example.gr"]);
}

#[test]
fn the_sendmail_transport_hands_each_message_to_the_local_mta() {
    let shop = Shop::samples();
    let log = shop.path("sendmail.log");
    let script = shop.path("fake-sendmail");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"ARGS: $*\" >> '{}'\ncat >> '{}'\necho >> '{}'\n",
            log.display(),
            log.display(),
            log.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    shop.edit(
        "greet.toml",
        "kind = \"file\"\ndir = \"outbox\"",
        &format!("kind = \"sendmail\"\ncommand = \"{}\"", script.display()),
    );
    shop.run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(0);
    let recorded = std::fs::read_to_string(&log).unwrap();
    assert_eq!(recorded.matches("ARGS: ").count(), 3, "{recorded}");
    assert!(recorded.contains("stamatis@example.gr"), "{recorded}");
    assert!(
        recorded.contains("-f hello@fournos-marinas.example.gr")
            || recorded.contains("hello@fournos-marinas.example.gr"),
        "{recorded}"
    );
    assert!(recorded.contains("Message-ID: <"), "{recorded}");
}

#[test]
fn preview_after_a_send_shows_who_is_already_greeted_and_changes_nothing() {
    let server = SmtpServer::start();
    server.drop_after_dot(SARAH);
    let shop = shop_for(&server);
    send(&shop, &[]).expect(3);
    let ledger = std::fs::read(shop.path("greet-ledger.sqlite")).unwrap();
    let out = shop.preview_run("birthday", "2026-03-14").expect(0);
    let statuses: Vec<String> = out
        .json()
        .iter()
        .map(|l| l["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["already_sent", "already_sent", "uncertain"]);
    assert!(
        out.stderr()
            .contains("0 greetings for birthday on 2026-03-14 · 2 already greeted · 1 uncertain"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        std::fs::read(shop.path("greet-ledger.sqlite")).unwrap(),
        ledger,
        "preview never writes the ledger"
    );
}

#[test]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs --features test-hooks (the README's test command)"
)]
fn a_connection_lost_during_data_is_retried_on_a_new_connection_and_delivered_once() {
    let server = SmtpServer::start();
    server.drop_in_data(NAREK);
    let shop = shop_for(&server);
    // The server hangs up before reading the final ".": nothing was accepted,
    // so greet reconnects and sends it again within the run.
    send(&shop, &[]).expect(0);
    assert_eq!(server.count_to(NAREK), 1);
    assert_eq!(server.count_to(STAMATIS), 1);
    assert_eq!(server.count_to(SARAH), 1);
    assert_eq!(
        server.connections(),
        2,
        "the first connection, then one new connection after the loss"
    );
    assert!(!history(&shop).contains("uncertain"));
}

#[test]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs --features test-hooks (the README's test command)"
)]
fn a_server_slower_than_the_timeout_before_the_dot_defers_the_greeting() {
    let server = SmtpServer::start();
    server.delay_at_rcpt(NAREK, std::time::Duration::from_secs(3));
    let shop = shop_for(&server);
    shop.edit("greet.toml", "timeout = 5", "timeout = 1");
    let started = std::time::Instant::now();
    let out = send(&shop, &[]).expect(3);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the run is bounded"
    );
    let err = out.stderr();
    assert!(
        err.contains("deferred: Նարեկ Սարգսյան <narek@example.am>: the server did not answer within the timeout before the message was sent"),
        "{err}"
    );
    assert_eq!(server.count_to(NAREK), 0);
    assert_eq!(server.count_to(STAMATIS), 1);
    assert_eq!(server.count_to(SARAH), 1);
    // Deferred, not uncertain: the next run sends it.
    server.no_delays();
    send(&shop, &[]).expect(0);
    assert_eq!(server.count_to(NAREK), 1);
}

#[test]
fn an_unwritable_ledger_stops_everything_before_sending() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    shop.edit(
        "greet.toml",
        "ledger = \"greet-ledger.sqlite\"",
        "ledger = \"no-such-dir/greet-ledger.sqlite\"",
    );
    let out = send(&shop, &[]);
    assert_ne!(out.code(), 0, "{}", out.stderr());
    assert!(out.stderr().contains("ledger"), "{}", out.stderr());
    assert_eq!(server.received().len(), 0);
}

#[test]
fn a_list_edited_between_runs_never_resends_accepted_greetings() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    send(&shop, &[]).expect(0);
    // The owner re-exports: Narek's row is gone, a new customer was born on 14 March.
    let csv = shop.read("customers.csv");
    let edited: String = csv
        .lines()
        .filter(|l| !l.contains(NAREK))
        .map(|l| format!("{l}\n"))
        .collect();
    shop.write(
        "customers.csv",
        &format!("{edited}C060,new@example.gr,Νεφέλη,Ν,f,el,1999-03-14,2020-01-01,,\n"),
    );
    let out = send(&shop, &[]).expect(0);
    assert!(
        out.stderr().contains("sent 1 · already greeted 2"),
        "{}",
        out.stderr()
    );
    assert_eq!(server.count_to("new@example.gr"), 1);
    assert_eq!(server.received().len(), 4);
}

#[test]
fn a_utf8_local_part_to_a_server_without_smtputf8_fails_alone_with_the_reason() {
    let server = SmtpServer::start();
    server.without_smtputf8();
    let shop = shop_for(&server);
    let csv = shop.read("customers.csv");
    shop.write(
        "customers.csv",
        &format!("{csv}C070,μαρία@example.gr,Μαρία,Ζ,f,el,1990-03-14,2015-01-01,,\n"),
    );
    let out = send(&shop, &[]).expect(3);
    assert!(
        out.stderr()
            .contains("failed: Μαρία Ζ <μαρία@example.gr>: not sent: the address needs SMTPUTF8"),
        "{}",
        out.stderr()
    );
    assert_eq!(server.received().len(), 3, "the others are unaffected");
}

#[test]
fn an_idn_domain_is_an_a_label_everywhere_and_a_utf8_local_part_declares_smtputf8() {
    // RFC 6531 §3.2, §3.4: SMTPUTF8 is declared on MAIL FROM only when an
    // address needs it, and only to a server that offers it; an IDN domain
    // needs nothing: it travels as its A-label, in the envelope and headers.
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    let csv = shop.read("customers.csv");
    shop.write(
        "customers.csv",
        &format!(
            "{csv}C070,μαρία@example.gr,Μαρία,Ζ,f,el,1990-03-14,2015-01-01,,\n\
             C071,anna@παράδειγμα.ελ,Άννα,Κ,f,el,1990-03-14,2015-01-01,,\n\
             C072,ΝΊΚΟΣ@ΠΑΡΆΔΕΙΓΜΑ.ΕΛ,Νίκος,Κ,m,el,1990-03-14,2015-01-01,,\n"
        ),
    );
    send(&shop, &[]).expect(0);
    let got = server.received();
    assert_eq!(got.len(), 6);
    for m in &got {
        let to = &m.rcpt[0];
        let head = m.data.split("\r\n\r\n").next().unwrap();
        let to_header = head
            .lines()
            .find(|l| l.starts_with("To:"))
            .unwrap_or_else(|| panic!("no To: {head}"));
        let utf8_local = !to.split('@').next().unwrap().is_ascii();
        assert_eq!(
            m.mail.to_uppercase().contains("SMTPUTF8"),
            utf8_local,
            "{to}: {}",
            m.mail
        );
        // The domain is ASCII in the envelope and the header.
        let domain = to.rsplit('@').next().unwrap();
        assert!(domain.is_ascii(), "{to}");
        assert!(
            to_header.to_lowercase().contains(&format!("@{domain}>")),
            "{to_header}"
        );
        if !utf8_local {
            assert!(head.is_ascii(), "no raw 8-bit header for {to}: {head}");
        }
    }
    assert_eq!(server.count_to("anna@xn--hxajbheg2az3al.xn--qxam"), 1);
}

#[test]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs --features test-hooks (the README's test command)"
)]
fn a_busy_server_421_is_retried_on_new_connections_and_a_persistent_one_stops_the_run() {
    let server = SmtpServer::start();
    server.greet_with(&["421 4.3.2 busy, try later"]);
    let shop = shop_for(&server);
    send(&shop, &[]).expect(0);
    assert_eq!(server.received().len(), 3, "reconnected after the 421");

    let server = SmtpServer::start();
    server.greet_with(&["421 busy"; 10]);
    let shop = shop_for(&server);
    let out = send(&shop, &[]).expect(4);
    assert!(
        out.stderr().contains("is not accepting mail now"),
        "{}",
        out.stderr()
    );
    assert!(!history(&shop).contains("failed"));
}

#[test]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs --features test-hooks (the README's test command)"
)]
fn a_421_in_the_middle_of_a_session_reconnects_and_fails_nobody() {
    let server = SmtpServer::start();
    server.at_rcpt(NAREK, &["421 4.7.0 closing connection"]);
    let shop = shop_for(&server);
    send(&shop, &[]).expect(0);
    for who in [STAMATIS, NAREK, SARAH] {
        assert_eq!(server.count_to(who), 1, "{who}");
    }
    assert!(!history(&shop).contains("failed"));
}

#[test]
fn a_server_slower_than_the_timeout_after_the_dot_leaves_the_greeting_uncertain() {
    let server = SmtpServer::start();
    server.delay_after_dot(NAREK, std::time::Duration::from_secs(3));
    let shop = shop_for(&server);
    shop.edit("greet.toml", "timeout = 5", "timeout = 1");
    let started = std::time::Instant::now();
    let out = send(&shop, &[]).expect(3);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "the run is bounded"
    );
    assert!(
        out.stderr()
            .contains("uncertain: Նարեկ Սարգսյան <narek@example.am>"),
        "{}",
        out.stderr()
    );
    assert_eq!(server.count_to(STAMATIS), 1);
    assert_eq!(server.count_to(SARAH), 1);
}

#[test]
fn a_server_that_does_not_offer_starttls_gets_nothing_in_clear() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    shop.edit(
        "greet.toml",
        "security = \"none\"",
        "security = \"starttls\"",
    );
    let out = send(&shop, &[]).expect(1);
    assert!(
        out.stderr().contains("TLS could not be set up"),
        "{}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("nothing was sent in clear"),
        "{}",
        out.stderr()
    );
    assert_eq!(server.received().len(), 0);
    assert!(!history(&shop).contains("failed"));
}

/// A list of `n` customers, all born on 14 March.
fn many_birthdays(shop: &Shop, n: usize) {
    let mut csv = String::from("id,email,first_name,last_name,gender,language,birthday\n");
    for i in 0..n {
        csv.push_str(&format!("R{i:03},r{i}@example.gr,Ρένα,Α,f,el,1990-03-14\n"));
    }
    shop.write("customers.csv", &csv);
}

#[test]
fn the_rate_holds_in_real_time_through_the_binary() {
    // The 100-message, 30/minute case runs in simulated time (the
    // dispatcher's tests); this one proves the real clock and the config
    // drive it: 7 messages at 3/second take two full windows.
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    shop.edit(
        "greet.toml",
        "rate = \"1000/second\"",
        "rate = \"3/second\"",
    );
    many_birthdays(&shop, 7);
    let started = std::time::Instant::now();
    let out = send(&shop, &[]).expect(0);
    assert!(out.stderr().contains("sent 7"), "{}", out.stderr());
    let got = server.received();
    assert_eq!(got.len(), 7);
    // Any 4 consecutive acceptances span at least a second.
    for w in got.windows(4) {
        let span = w[3].at.duration_since(w[0].at);
        assert!(
            span >= std::time::Duration::from_secs(1),
            "4 messages within {span:?}"
        );
    }
    // Messages 4 and 7 each wait for a window: at least 2 s in all.
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
}

#[test]
fn sigterm_while_waiting_for_the_rate_limit_stops_at_once() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    shop.edit("greet.toml", "rate = \"1000/second\"", "rate = \"1/hour\"");
    let child = shop
        .command(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.received().is_empty() {
        assert!(std::time::Instant::now() < deadline, "nothing was sent");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let signalled = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(signalled.elapsed() < std::time::Duration::from_secs(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("stopped by a signal: 2 greetings not sent yet"),
        "{err}"
    );
    assert_eq!(server.received().len(), 1);
}

#[test]
#[cfg_attr(
    greet_no_faketime,
    ignore = "needs faketime on PATH (apt install faketime)"
)]
fn a_clock_passing_midnight_mid_run_changes_no_key_and_no_date() {
    // F21. The wall clock (libfaketime, 10x) starts at 23:59:55 in Athens and
    // passes midnight while the slow server takes the three greetings.
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    for who in [STAMATIS, NAREK, SARAH] {
        server.delay_at_rcpt(who, std::time::Duration::from_millis(700));
    }
    let args = ["send", "birthday", "--yes"];
    let mut cmd = shop.faketime_command("2026-03-14 21:59:55", 10, &args);
    let out = Run(cmd.output().unwrap()).expect(0);
    assert!(out.stderr().contains("sent 3"), "{}", out.stderr());
    let got = server.received();
    assert_eq!(got.len(), 3);
    for m in &got {
        assert!(
            m.data.contains("Date: Sat, 14 Mar 2026 23:59:5"),
            "every message is dated by the run's start:\n{}",
            m.data
        );
    }
    let h = history(&shop);
    assert_eq!(h.matches("birthday 2026-03-14").count(), 3, "{h}");
    assert!(
        h.contains("2026-03-14T22:00:"),
        "the wall clock did pass midnight in Athens during the run: {h}"
    );

    // Again just before midnight: the same keys, nothing resent.
    server.no_delays();
    let mut again = shop.faketime_command("2026-03-14 21:59:58", 1, &args);
    let again = Run(again.output().unwrap()).expect(0);
    assert!(
        again.stderr().contains("sent 0 · already greeted 3"),
        "{}",
        again.stderr()
    );
    // And the next day: 14 March's greetings are not due again.
    let mut next = shop.faketime_command("2026-03-14 22:00:30", 1, &args);
    Run(next.output().unwrap()).expect(0);
    assert_eq!(server.received().len(), 3);
}

#[test]
fn on_a_terminal_send_asks_first_shows_progress_and_sends_on_yes() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    // Slow enough for the progress bar to be drawn between messages.
    shop.edit(
        "greet.toml",
        "rate = \"1000/second\"",
        "rate = \"1/second\"",
    );
    let args = ["send", "birthday", "--date", "2026-03-14"];
    let (code, screen) = shop.on_terminal(&args, "n");
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains(&format!(
            "send 3 greetings for birthday via 127.0.0.1:{} (no encryption)? first: Σταμάτης Παπαδόπουλος, Նարեկ Սարգսյան, שרה כהן [y/N]",
            server.port
        )),
        "{screen}"
    );
    assert!(screen.contains("nothing sent"), "{screen}");
    assert_eq!(server.received().len(), 0);

    let (code, screen) = shop.on_terminal(&args, "y");
    assert_eq!(code, 0, "{screen}");
    assert_eq!(server.received().len(), 3);
    assert!(screen.contains("/3"), "a progress bar was drawn: {screen}");
    assert!(screen.contains("sent 3"), "{screen}");
}

fn send_batch(shop: &Shop) -> Run {
    crate::batch::send_batch(shop, &[])
}

#[test]
fn a_reviewed_batch_is_sent_byte_for_byte_and_only_once() {
    let server = SmtpServer::start();
    let shop = crate::batch::reviewed(&server);
    let out = send_batch(&shop).expect(0);
    assert!(out.stderr().contains("sent 3"), "{}", out.stderr());
    let got = server.received();
    assert_eq!(got.len(), 3);
    let files = shop.eml_files("batch");
    for (file, m) in files.iter().zip(&got) {
        let bytes = std::fs::read_to_string(file).unwrap();
        // What the server stored is the file, line for line (CRLF, no dot added).
        assert_eq!(
            m.data.trim_end_matches("\r\n"),
            bytes.trim_end_matches("\r\n"),
            "{}",
            file.display()
        );
    }
    let again = send_batch(&shop).expect(0);
    assert!(
        again.stderr().contains("sent 0 · already greeted 3"),
        "{}",
        again.stderr()
    );
    // The same greetings by the normal route are already greeted too.
    let normal = send(&shop, &[]).expect(0);
    assert!(
        normal.stderr().contains("already greeted 3"),
        "{}",
        normal.stderr()
    );
    assert_eq!(server.received().len(), 3);
}

#[test]
fn a_batch_changed_after_review_is_refused_whole() {
    let server = SmtpServer::start();
    let shop = crate::batch::reviewed(&server);
    let name = std::fs::read_dir(shop.path("batch"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("0002-birthday-2026-03-14-"))
        .expect("the second greeting of the batch");
    let file = &format!("batch/{name}");
    let text = shop.read(file);
    shop.write(file, &text.replacen("Subject:", "Subject: edited", 1));
    let out = send_batch(&shop).expect(2);
    let err = out.stderr();
    assert!(
        err.contains(&format!("{name}: changed since it was reviewed")),
        "{err}"
    );
    assert!(err.contains("the batch is refused, nothing sent"), "{err}");
    assert_eq!(server.received().len(), 0);
    assert_eq!(server.connections(), 0);

    // Put it back, then slip in a message nobody reviewed.
    shop.write(file, &text);
    shop.write("batch/0004-extra.eml", "Subject: hi\r\n\r\nhello\r\n");
    let out = send_batch(&shop).expect(2);
    assert!(
        out.stderr().contains("0004-extra.eml: not in the manifest"),
        "{}",
        out.stderr()
    );
    assert_eq!(server.received().len(), 0);
}

#[test]
fn send_due_sends_every_dated_occasion_in_one_connection_with_one_summary() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    // 14 March 2026: three birthdays and Μαρία's anniversary in the samples;
    // plus a Μαρία-less name day: nobody in the samples celebrates then.
    let out = Run(shop
        .command(&["send", "--due", "--date", "2026-03-14", "--yes"])
        .output()
        .unwrap())
    .expect(0);
    let err = out.stderr();
    assert!(err.contains("sent 4"), "{err}");
    assert_eq!(err.matches("sent ").count(), 1, "one summary: {err}");
    assert_eq!(server.connections(), 1);
    assert_eq!(server.received().len(), 4);
    // 21 May 2027: Κωνσταντίνος and Ελένη's name day.
    let out = Run(shop
        .command(&["send", "--due", "--date", "2027-05-21", "--yes"])
        .output()
        .unwrap())
    .expect(0);
    assert!(out.stderr().contains("sent 2"), "{}", out.stderr());
    // Again the same day: nothing.
    let out = Run(shop
        .command(&["send", "--due", "--date", "2027-05-21", "--yes"])
        .output()
        .unwrap())
    .expect(0);
    assert!(
        out.stderr().contains("sent 0 · already greeted 2"),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_day_before_the_first_run_is_still_sent_when_asked_for() {
    // The first run ever was Christmas; then the owner sends 14 March's
    // birthdays (an earlier date): asked for by name, it is sent.
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    Run(shop
        .command(&["send", "christmas", "--yes"])
        .output()
        .unwrap())
    .expect(0);
    let out = send(&shop, &["--catch-up", "2"]).expect(0);
    assert!(out.stderr().contains("sent 3"), "{}", out.stderr());
    // The two days before 14 March were never due before the first run: not backfilled.
    assert_eq!(server.received().len(), 19 + 3);
}

#[test]
fn send_due_with_catch_up_reads_the_list_once_whatever_it_covers() {
    // Three dated occasions × (today + 3 missed days) = 12 (occasion, day)
    // targets, in one read: the roster scan keeps the few rows that may be
    // due on any of them, and the checking and sending passes use those.
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    let first = shop
        .run(&["send", "--due", "--date", "2026-03-10", "--yes", "-v"])
        .expect(0);
    assert!(
        first
            .stderr()
            .contains("read 1 time for 3 (occasion, day)\nsent 0\n"),
        "{}",
        first.stderr()
    );
    // Exactly what preview shows due over those twelve targets.
    let mut due = 0;
    for occasion in ["birthday", "anniversary", "nameday"] {
        for day in ["2026-03-11", "2026-03-12", "2026-03-13", "2026-03-14"] {
            let json = shop
                .run(&["preview", occasion, "--date", day, "--format", "json"])
                .expect(0)
                .stdout();
            due += json
                .lines()
                .filter(|l| l.contains("\"status\":\"due\""))
                .count();
        }
    }
    let out = shop
        .run(&[
            "send",
            "--due",
            "--date",
            "2026-03-14",
            "--catch-up",
            "3",
            "--yes",
            "-v",
        ])
        .expect(0);
    let err = out.stderr();
    assert!(err.contains("read 1 time for 12 (occasion, day)"), "{err}");
    assert!(due > 1, "the shop has greetings due in those days");
    assert!(err.contains(&format!("sent {due}\n")), "{err}");
    assert_eq!(server.received().len(), due);
}

// ---- the wire: pipelining (RFC 2920), replies read as numbers, bytes as they are ----

/// The greetings the server took, per recipient, and whether each one's
/// envelope came in one write.
fn pipelined_to(server: &SmtpServer, who: &str) -> Vec<bool> {
    server
        .received()
        .iter()
        .filter(|m| m.rcpt.iter().any(|r| r.eq_ignore_ascii_case(who)))
        .map(|m| m.pipelined)
        .collect()
}

#[test]
fn with_pipelining_each_envelope_leaves_in_one_write_and_without_it_step_by_step() {
    for pipelining in [true, false] {
        let server = SmtpServer::start();
        if !pipelining {
            server.without_pipelining();
        }
        let shop = shop_for(&server);
        many_birthdays(&shop, 12);
        let out = send(&shop, &[]).expect(0);
        assert!(out.stderr().contains("sent 12"), "{}", out.stderr());
        let got = server.received();
        assert_eq!(got.len(), 12, "pipelining {pipelining}");
        for i in 0..12 {
            let who = format!("r{i}@example.gr");
            assert_eq!(
                pipelined_to(&server, &who),
                vec![pipelining],
                "{who}: recorded once, its MAIL, RCPT and DATA in one read exactly when pipelining"
            );
        }
        assert_eq!(server.mail_groups(), vec![pipelining; 12]);
        assert_eq!(server.connections(), 1, "one connection for all");
    }
}

#[test]
fn a_recipient_refused_inside_a_pipelined_envelope_fails_alone_on_the_same_connection() {
    let server = SmtpServer::start();
    server.at_rcpt(NAREK, &["550 5.1.1 no such user"]);
    let shop = shop_for(&server);
    let out = send(&shop, &[]).expect(3);
    assert!(
        out.stderr()
            .contains("failed: Նարեկ Սարգսյան <narek@example.am>: 550 5.1.1 no such user"),
        "{}",
        out.stderr()
    );
    assert_eq!(pipelined_to(&server, STAMATIS), vec![true]);
    assert_eq!(pipelined_to(&server, SARAH), vec![true]);
    assert_eq!(server.count_to(NAREK), 0);
    assert_eq!(
        server.connections(),
        1,
        "the refusal was read with the rest of the group: RSET, and the session went on"
    );
    assert!(
        history(&shop)
            .contains("failed    birthday 2026-03-14 → narek@example.am  550 5.1.1 no such user")
    );
}

#[test]
fn a_temporary_refusal_of_mail_from_in_a_pipelined_envelope_defers_that_greeting_only() {
    let server = SmtpServer::start();
    // The first greeting's three attempts are refused at MAIL FROM.
    server.at_mail(&["451 4.7.1 try again later"; 3]);
    let shop = shop_for(&server);
    let out = send(&shop, &[]).expect(3);
    let err = out.stderr();
    assert_eq!(err.matches("deferred: ").count(), 1, "{err}");
    assert!(err.contains(": 451 4.7.1 try again later"), "{err}");
    assert!(err.contains("sent 2"), "{err}");
    assert_eq!(server.received().len(), 2);
    assert!(server.received().iter().all(|m| m.pipelined));
    assert_eq!(
        server.connections(),
        1,
        "MAIL, RCPT and DATA all answered: the session went on"
    );
    let h = history(&shop);
    assert!(!h.contains("failed") && !h.contains("uncertain"), "{h}");
    // Deferred means sent by the next run.
    send(&shop, &[]).expect(0);
    assert_eq!(server.received().len(), 3);
}

#[test]
fn a_421_at_mail_from_stops_the_run_with_exit_4_and_fails_nobody() {
    let server = SmtpServer::start();
    server.at_mail(&["421 4.7.0 Try again later, closing connection."; 10]);
    let shop = shop_for(&server);
    let out = send(&shop, &[]).expect(4);
    assert!(
        out.stderr()
            .contains("is not accepting mail now (421 4.7.0 Try again later, closing connection.)"),
        "{}",
        out.stderr()
    );
    assert_eq!(server.received().len(), 0);
    let h = history(&shop);
    assert!(!h.contains("failed") && !h.contains("uncertain"), "{h}");
}

#[test]
fn a_connection_cut_after_a_pipelined_message_before_the_reply_is_uncertain() {
    let server = SmtpServer::start();
    server.drop_after_dot(SARAH);
    let shop = shop_for(&server);
    let out = send(&shop, &[]).expect(3);
    assert!(
        out.stderr()
            .contains("uncertain: שרה כהן <sarah.cohen@example.co.il>: the connection ended after the message was sent, before the reply"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        pipelined_to(&server, SARAH),
        vec![true],
        "its envelope was pipelined"
    );
    assert_eq!(server.count_to(STAMATIS), 1);
    assert_eq!(server.count_to(NAREK), 1);
    // Not resent by the next run.
    let again = send(&shop, &[]).expect(3);
    assert!(
        again.stderr().contains("uncertain, not resent 1"),
        "{}",
        again.stderr()
    );
    assert_eq!(server.count_to(SARAH), 1);
}

#[test]
fn a_connection_cut_inside_the_pipelined_envelope_before_354_is_deferred_not_uncertain() {
    let server = SmtpServer::start();
    server.drop_before_354(NAREK, 100);
    let shop = shop_for(&server);
    let out = send(&shop, &[]).expect(3);
    let err = out.stderr();
    assert!(
        err.contains("deferred: Նարեկ Սարգսյան <narek@example.am>"),
        "{err}"
    );
    assert!(!err.contains("uncertain"), "{err}");
    assert_eq!(server.count_to(NAREK), 0);
    assert_eq!(server.count_to(STAMATIS), 1);
    assert_eq!(server.count_to(SARAH), 1);
    assert!(
        server.mail_groups().iter().all(|&one_write| one_write),
        "every envelope, the cut ones too, came in one write"
    );
    // Nothing of the message was handed over: the next run sends it.
    server.drop_before_354(NAREK, 0);
    send(&shop, &[]).expect(0);
    assert_eq!(server.count_to(NAREK), 1);
}

#[test]
fn message_bytes_that_are_not_utf8_arrive_byte_for_byte() {
    // A reviewed batch whose first file gets an 8-bit ISO-8859-7 part and
    // lines that start with a dot; its hash and the seal are made right, so
    // greet sends the file's own bytes.
    for pipelining in [true, false] {
        let server = SmtpServer::start();
        if !pipelining {
            server.without_pipelining();
        }
        let shop = crate::batch::reviewed(&server);
        let mut manifest: greet::batch::Manifest =
            serde_json::from_str(&shop.read("batch/manifest.json")).unwrap();
        let item = &mut manifest.greetings[0];
        let path = shop.path(&format!("batch/{}", item.file));
        let original = std::fs::read(&path).unwrap();
        let head_end = original.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let mut bytes = original[..head_end].to_vec();
        // "Καλημέρα" in ISO-8859-7, a lone ".", a dotted line, a byte that is never UTF-8.
        bytes.extend_from_slice(
            b"\r\n\r\n\xca\xe1\xeb\xe7\xec\xdd\xf1\xe1\r\n.\r\n.\xe1\xf0\xfc \xf4\xe7 \xd3\xf0\xe1\xf1\xf4\xe7\r\n\xff\r\n",
        );
        assert!(std::str::from_utf8(&bytes).is_err());
        std::fs::write(&path, &bytes).unwrap();
        item.sha256 = greet::batch::sha256_hex(&bytes);
        let to = item.to.clone();
        let key = greet::batch::Key::load(&shop.path("greet-ledger.sqlite"), false).unwrap();
        manifest.write(&shop.path("batch"), &key).unwrap();

        let out = crate::batch::send_batch(&shop, &[]).expect(0);
        assert!(out.stderr().contains("sent 3"), "{}", out.stderr());
        let got = server.received();
        let m = got
            .iter()
            .find(|m| m.rcpt.iter().any(|r| r.eq_ignore_ascii_case(&to)))
            .unwrap();
        assert_eq!(
            m.raw, bytes,
            "pipelining {pipelining}: the file, byte for byte"
        );
        assert!(
            m.mail.ends_with(" BODY=8BITMIME"),
            "8-bit content is declared: {}",
            m.mail
        );
        assert_eq!(m.pipelined, pipelining);
    }
}

#[test]
fn a_campaign_reads_the_list_for_each_pass_and_so_does_a_day_with_too_many_to_keep() {
    // A campaign greets everyone: nothing is kept, the list is read by the
    // roster scan, the checking pass and the sending pass.
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    let out = shop
        .run(&["send", "christmas", "--date", "2026-12-25", "--yes", "-v"])
        .expect(0);
    assert!(
        out.stderr().contains("read 3 times for 1 (occasion, day)"),
        "{}",
        out.stderr()
    );
    // More rows may be due than the scan keeps (10,000): the list is read
    // again for the pass, and every one of them is previewed.
    let n = 10_001;
    let mut csv = String::from("id,email,first_name,last_name,gender,language,birthday\n");
    for i in 0..n {
        csv.push_str(&format!("R{i},r{i}@example.gr,Ρένα,Α,f,el,1990-03-14\n"));
    }
    shop.write("customers.csv", &csv);
    let out = shop
        .run(&[
            "preview",
            "birthday",
            "--date",
            "2026-03-14",
            "--format",
            "json",
            "-v",
        ])
        .expect(0);
    assert!(out.stderr().contains("read 2 times"), "{}", out.stderr());
    assert_eq!(out.stdout().lines().count(), n);
    // A few due: read once.
    many_birthdays(&shop, 5);
    let out = shop
        .run(&[
            "preview",
            "birthday",
            "--date",
            "2026-03-14",
            "--format",
            "json",
            "-v",
        ])
        .expect(0);
    assert!(out.stderr().contains("read 1 time\n"), "{}", out.stderr());
    assert_eq!(out.stdout().lines().count(), 5);
}

#[test]
fn a_list_replaced_while_the_owner_is_asked_stops_the_run_before_anything_is_sent() {
    // Between the checking pass and the sending pass the owner answers the
    // question; a list rewritten meanwhile (an export job) is not sent from:
    // for a campaign (read again) as for a birthday run (rows kept).
    for (occasion, date) in [("christmas", "2026-12-25"), ("birthday", "2026-03-14")] {
        let server = SmtpServer::start();
        let shop = shop_for(&server);
        let args = ["send", occasion, "--date", date];
        let rewrite = "cp customers.csv customers.new && echo 'C900,new@example.gr,Νέα,Πελάτισσα,f,el,1990-03-14,2020-01-01,,' >> customers.new && mv customers.new customers.csv";
        let (code, screen) = shop.on_terminal_after(&args, rewrite, "y");
        assert_eq!(code, 2, "{occasion}: {screen}");
        assert!(
            screen.contains("customers.csv: the list changed while greet was reading it — nothing sent; run again"),
            "{occasion}: {screen}"
        );
        assert_eq!(server.connections(), 0, "{occasion}");
        assert_eq!(server.received().len(), 0, "{occasion}");
        let h = history(&shop);
        assert!(
            h.contains("no greetings match"),
            "{occasion}: nothing recorded: {h}"
        );
        // Run again: the new list is read and sent from.
        let (code, screen) = shop.on_terminal(&args, "y");
        assert_eq!(code, 0, "{occasion}: {screen}");
        assert_eq!(server.count_to("new@example.gr"), 1, "{occasion}");
    }
}
