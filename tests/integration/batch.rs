//! A review never shows, and a batch never holds, less than the truth:
//! outputs appear whole or not at all, and `send --batch` proves every
//! greeting from its file, refusing the whole batch on any disagreement.
use std::path::Path;
use std::process::Command;

use crate::send::shop_for;
use crate::smtp_server::SmtpServer;
use crate::support::{Run, Shop};

/// Everything in the shop's folder, hidden files too, sorted.
fn listing(shop: &Shop) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(shop.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

/// A template that fails to render (an unknown variable) for one language.
fn break_template(shop: &Shop, occasion: &str, lang: &str) {
    let path = format!("templates/{occasion}.{lang}.txt");
    let text = shop.read(&path);
    shop.write(
        &path,
        &text.replacen("\n\n", "\n\n{{ customer.no_such_field }}\n", 1),
    );
}

#[test]
fn a_preview_that_fails_for_one_language_leaves_no_batch_page_or_file_behind() {
    for lang in ["el", "hy", "he", "en"] {
        for (format, out) in [
            ("eml", "batch"),
            ("html", "review.html"),
            ("json", "out.jsonl"),
            ("text", "out.txt"),
        ] {
            let shop = Shop::samples();
            break_template(&shop, "christmas", lang);
            let before = listing(&shop);
            let run = shop.run(&["preview", "christmas", "--format", format, "--out", out]);
            assert_eq!(run.code(), 2, "{lang} {format}: {}", run.stderr());
            assert!(
                run.stderr().contains(&format!("christmas.{lang}.txt")),
                "{lang} {format}: the failing template is named: {}",
                run.stderr()
            );
            assert_eq!(
                listing(&shop),
                before,
                "{lang} {format}: nothing new in the shop"
            );
            // And `send --batch` has nothing to send.
            if format == "eml" {
                shop.run(&["send", "--batch", "batch", "--yes"]).expect(2);
                assert!(!shop.path("outbox").exists());
            }
        }
    }
}

#[test]
fn a_list_that_cannot_be_read_leaves_no_batch_behind() {
    let shop = Shop::samples();
    // Bytes that are not UTF-8 and no BOM: the whole list is refused.
    std::fs::write(
        shop.path("customers.csv"),
        b"email,first_name\nanna@example.gr,\xc1\xed\xed\xe1\n",
    )
    .unwrap();
    let before = listing(&shop);
    shop.preview_batch("christmas", "2026-12-20", "batch")
        .expect(2);
    assert_eq!(listing(&shop), before);
}

#[test]
fn a_disk_that_fills_up_mid_batch_leaves_nothing_behind() {
    // A file-size limit makes every write past 8 KiB fail with EFBIG, as a
    // full disk fails with ENOSPC; SIGXFSZ is ignored so greet sees the error.
    for (format, out) in [("eml", "batch"), ("html", "review.html")] {
        let shop = Shop::samples();
        let before = listing(&shop);
        let greet = shop.command(&[]);
        let run = Run(Command::new("sh")
            .arg("-c")
            .arg(format!(
                "trap '' XFSZ; ulimit -f 16; exec \"$0\" preview christmas --format {format} --out {out}"
            ))
            .arg(env!("CARGO_BIN_EXE_greet"))
            .current_dir(shop.dir.path())
            .env_clear()
            .envs(greet.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .output()
            .unwrap());
        assert_ne!(run.code(), 0, "{format}: {}", run.stderr());
        assert!(
            run.stderr().contains("too large") || run.stderr().contains("cannot write"),
            "{format}: {}",
            run.stderr()
        );
        assert_eq!(listing(&shop), before, "{format}");
    }
}

#[test]
fn a_batch_folder_must_be_new_or_empty_and_an_empty_one_is_used() {
    let shop = Shop::samples();
    std::fs::create_dir(shop.path("batch")).unwrap();
    shop.preview_batch("christmas", "2026-12-20", "batch")
        .expect(0);
    assert!(shop.path("batch/manifest.json").is_file());
    let again = shop.preview_batch("christmas", "2026-12-20", "batch");
    assert_eq!(again.code(), 2);
    assert!(again.stderr().contains("not empty"), "{}", again.stderr());
}

// ---- send --batch proves each greeting from its file ----

/// A shop sending to `server` on 14 March 2026, with a reviewed batch of
/// that day's birthdays in `batch/`.
pub fn reviewed(server: &SmtpServer) -> Shop {
    let mut shop = shop_for(server);
    shop.now = "2026-03-14T09:00:00+02:00".into();
    shop.preview_batch("birthday", "2026-03-14", "batch")
        .expect(0);
    shop
}

pub fn send_batch(shop: &Shop, extra: &[&str]) -> Run {
    let mut args = vec!["send", "--batch", "batch", "--yes"];
    args.extend_from_slice(extra);
    shop.run(&args)
}

fn manifest(shop: &Shop) -> serde_json::Value {
    serde_json::from_str(&shop.read("batch/manifest.json")).unwrap()
}

fn write_manifest(shop: &Shop, m: &serde_json::Value) {
    shop.write(
        "batch/manifest.json",
        &serde_json::to_string_pretty(m).unwrap(),
    );
}

/// Seal an edited manifest with the shop's own key, as greet would: what is
/// left to catch is the disagreement between the manifest and the files.
fn reseal(shop: &Shop, m: &serde_json::Value) {
    let mut manifest: greet::batch::Manifest = serde_json::from_value(m.clone()).unwrap();
    let key = greet::batch::Key::load(&shop.path("greet-ledger.sqlite"), false).unwrap();
    manifest.write(&shop.path("batch"), &key).unwrap();
}

fn first_file(shop: &Shop) -> String {
    format!(
        "batch/{}",
        manifest(shop)["greetings"][0]["file"].as_str().unwrap()
    )
}

/// Edit the first .eml and put its new SHA-256 into the manifest.
fn edit_file_and_hash(shop: &Shop, from: &str, to: &str) -> serde_json::Value {
    let file = first_file(shop);
    let text = shop.read(&file);
    assert!(text.contains(from), "{file} has no {from:?}");
    let edited = text.replacen(from, to, 1);
    shop.write(&file, &edited);
    let mut m = manifest(shop);
    m["greetings"][0]["sha256"] = greet::batch::sha256_hex(edited.as_bytes()).into();
    m
}

fn assert_refused(shop: &Shop, server: &SmtpServer, why: &str, case: &str) {
    let out = send_batch(shop, &[]);
    assert_eq!(out.code(), 2, "{case}: {}", out.stderr());
    assert!(
        out.stderr().contains(why),
        "{case}: expected {why:?} in: {}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("the batch is refused, nothing sent"),
        "{case}: {}",
        out.stderr()
    );
    assert_eq!(server.received().len(), 0, "{case}");
    assert_eq!(server.connections(), 0, "{case}");
}

#[test]
fn an_edited_manifest_is_refused_whole_whatever_field_was_changed() {
    let server = SmtpServer::start();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 8] = [
        ("to", |m| {
            m["greetings"][0]["to"] = "someone.else@example.com".into()
        }),
        ("occurrence", |m| {
            m["greetings"][0]["occurrence"] = "2027-03-14".into()
        }),
        ("customer", |m| {
            m["greetings"][0]["customer"] = "C999".into()
        }),
        ("occasion", |m| {
            m["greetings"][0]["occasion"] = "nameday".into()
        }),
        ("date", |m| m["date"] = "2026-03-15".into()),
        ("name", |m| m["greetings"][0]["name"] = "Someone".into()),
        ("a removed entry", |m| {
            m["greetings"].as_array_mut().unwrap().pop();
        }),
        ("the seal", |m| m["seal"] = "00".repeat(32).into()),
    ];
    for (field, edit) in edits {
        let shop = reviewed(&server);
        let mut m = manifest(&shop);
        edit(&mut m);
        write_manifest(&shop, &m);
        assert_refused(&shop, &server, "seal does not match", field);
    }
    // A file changed and its SHA-256 recomputed in the manifest.
    let shop = reviewed(&server);
    let m = edit_file_and_hash(&shop, "Subject: ", "Subject: edited ");
    write_manifest(&shop, &m);
    assert_refused(&shop, &server, "seal does not match", "recomputed sha256");
}

#[test]
fn a_sealed_manifest_that_disagrees_with_its_file_is_refused() {
    // Even with the seal made right, each entry must agree with the bytes.
    let server = SmtpServer::start();
    let cases: [(&str, &str, &str, &str); 6] = [
        // (what, text in the file, replacement, expected reason)
        (
            "To edited",
            "@example.gr>",
            "@evil.example>",
            "is addressed to",
        ),
        ("From edited", "<hello@", "<other@", "is from"),
        (
            "Bcc added",
            "\r\nSubject:",
            "\r\nBcc: spy@evil.example\r\nSubject:",
            "Bcc",
        ),
        (
            "Cc added",
            "\r\nSubject:",
            "\r\nCc: spy@evil.example\r\nSubject:",
            "Cc",
        ),
        (
            "second To",
            "\r\nSubject:",
            "\r\nTo: spy@evil.example\r\nSubject:",
            "exactly one To",
        ),
        (
            "Message-ID edited",
            "Message-ID: <",
            "Message-ID: <0",
            "Message-ID",
        ),
    ];
    for (what, from, to, why) in cases {
        let shop = reviewed(&server);
        let m = edit_file_and_hash(&shop, from, to);
        reseal(&shop, &m);
        assert_refused(&shop, &server, why, what);
    }
    // A sealed manifest whose entry names another occurrence: the file's
    // Message-ID proves the greeting's key.
    let shop = reviewed(&server);
    let mut m = manifest(&shop);
    m["greetings"][0]["customer"] = "C999".into();
    reseal(&shop, &m);
    assert_refused(&shop, &server, "Message-ID", "customer key");
    let shop = reviewed(&server);
    let mut m = manifest(&shop);
    m["greetings"][0]["to"] = "someone.else@example.com".into();
    reseal(&shop, &m);
    assert_refused(&shop, &server, "is addressed to", "manifest to");
}

#[test]
fn a_batch_without_the_shops_key_or_of_an_older_format_is_refused() {
    let server = SmtpServer::start();
    let shop = reviewed(&server);
    std::fs::remove_file(shop.path("greet-batch.key")).unwrap();
    assert_refused(&shop, &server, "greet-batch.key is missing", "no key");

    let shop = reviewed(&server);
    let mut m = manifest(&shop);
    m["version"] = 1.into();
    write_manifest(&shop, &m);
    assert_refused(&shop, &server, "batch format 1", "version 1");

    let shop = reviewed(&server);
    let mut perms = std::fs::metadata(shop.path("greet-batch.key"))
        .unwrap()
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    std::fs::set_permissions(shop.path("greet-batch.key"), perms).unwrap();
    assert_refused(&shop, &server, "can be read by other users", "key 0644");
}

#[test]
fn what_is_sent_and_recorded_comes_from_the_files() {
    let server = SmtpServer::start();
    let shop = reviewed(&server);
    let m = manifest(&shop);
    send_batch(&shop, &[]).expect(0);
    let got = server.received();
    assert_eq!(got.len(), 3);
    for (item, msg) in m["greetings"].as_array().unwrap().iter().zip(&got) {
        assert_eq!(msg.rcpt, vec![item["to"].as_str().unwrap().to_string()]);
    }
    // Sent once: the same batch, and its occurrence, is already greeted.
    let again = send_batch(&shop, &[]).expect(0);
    assert_eq!(again.summary(), "sent 0 · already greeted 3");
    assert_eq!(server.received().len(), 3);
}

#[test]
fn a_batch_reviewed_for_a_day_that_has_passed_is_sent_only_when_asked_for() {
    let server = SmtpServer::start();
    let mut shop = reviewed(&server);
    for later in ["2026-03-15T09:00:00+02:00", "2026-12-20T09:00:00+02:00"] {
        shop.now = later.into();
        let out = send_batch(&shop, &[]).expect(2);
        let err = out.stderr();
        assert!(err.contains("reviewed for 2026-03-14"), "{err}");
        assert!(err.contains("--late"), "{err}");
        assert_eq!(server.connections(), 0);
        assert!(!shop.path("greet-ledger.sqlite").exists() || history_is_empty(&shop));
    }
    let out = send_batch(&shop, &["--late"]).expect(0);
    assert_eq!(out.summary(), "sent 3");
    assert_eq!(server.received().len(), 3);
    // --late is only for batches.
    let usage = shop.run(&["send", "birthday", "--late", "--yes"]);
    assert_eq!(usage.code(), 2);
}

fn history_is_empty(shop: &Shop) -> bool {
    shop.run(&["history"])
        .expect(0)
        .stdout()
        .contains("no greetings match")
}

#[test]
fn a_batch_for_today_is_sent_without_asking_for_late() {
    let server = SmtpServer::start();
    let shop = reviewed(&server);
    send_batch(&shop, &[]).expect(0);
    assert_eq!(server.received().len(), 3);
    assert!(Path::new(&shop.path("batch/review.html")).is_file());
}
