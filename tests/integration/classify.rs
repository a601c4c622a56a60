//! What `greet inbox` makes of real-world-shaped messages: every file in
//! `tests/fixtures/inbox` (bounces of Postfix, Exchange Online and
//! on-premises, Gmail, qmail, Yahoo, Exim; delay notices; requests to stop
//! in four languages, with and without the token; replies that quote the
//! greeting's footer; auto-replies of several kinds; ordinary replies) is
//! classified to the verdict written here, and every file has one.
use std::path::{Path, PathBuf};

use greet::inbox::{Bounce, Verdict, classify};

use crate::support::REPO;

const MARIA: &str = "3f2a9c1e7b5d4a60c8e2f1b3a9d7c5e0.birthday.2026-12-01";
const NIKOS: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90.birthday.2026-12-01";
const ELENI: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0.nameday.2026-12-06";
const ARMEN: &str = "5e4d3c2b1a0998877665544332211000.birthday.2026-12-01";
const SARAH: &str = "c0ffee00c0ffee00c0ffee00c0ffee00.hanukkah.2026-12-04";
const KOSTAS: &str = "deadbeefdeadbeefdeadbeefdeadbeef.birthday.2026-12-01";
const ANNA: &str = "1234567890abcdef1234567890abcdef.birthday.2026-12-01";
const GIORGOS: &str = "fedcba0987654321fedcba0987654321.christmas.2026-12-25";
const MARIA_IDN: &str = "99887766554433221100aabbccddeeff.nameday.2026-12-06";

pub fn fixtures() -> PathBuf {
    Path::new(REPO).join("tests/fixtures/inbox")
}

fn id(token: &str) -> Option<String> {
    Some(format!("<{token}@fournos.example.gr>"))
}

fn bounce(
    recipient: &str,
    status: &str,
    permanent: bool,
    diagnostic: &str,
    original: Option<String>,
) -> Verdict {
    Verdict::Bounce(Bounce {
        recipient: Some(recipient.to_string()),
        status: status.to_string(),
        permanent,
        diagnostic: diagnostic.to_string(),
        original_message_id: original,
    })
}

fn unsubscribe(from: &str, token: Option<&str>) -> Verdict {
    Verdict::Unsubscribe {
        from: from.to_string(),
        token: token.map(str::to_string),
    }
}

fn reply(from: &str) -> Verdict {
    Verdict::Reply {
        from: from.to_string(),
    }
}

/// Every fixture and what it is.
pub fn expected() -> Vec<(&'static str, Verdict)> {
    vec![
        // ---- bounces: RFC 3464 reports
        (
            "bounce-postfix-user-unknown.msg",
            bounce(
                "maria@example.gr",
                "5.1.1",
                true,
                "550 5.1.1 <maria@example.gr>: Recipient address rejected: User unknown in virtual mailbox table",
                id(MARIA),
            ),
        ),
        (
            "bounce-postfix-delayed.msg",
            bounce(
                "nikos@example.com",
                "4.4.1",
                false,
                "connect to mx.example.com[203.0.113.40]:25: Connection timed out",
                id(NIKOS),
            ),
        ),
        (
            "bounce-postfix-gave-up-temporary.msg",
            bounce(
                "nikos@example.com",
                "4.2.2",
                false,
                "452 4.2.2 Mailbox full",
                id(NIKOS),
            ),
        ),
        (
            "bounce-postfix-no-original-headers.msg",
            bounce(
                "Stamatis@Example.GR",
                "5.1.1",
                true,
                "550 5.1.1 User unknown",
                None,
            ),
        ),
        (
            "bounce-postfix-smtputf8-global.msg",
            bounce(
                "μαρία@παράδειγμα.ελ",
                "5.1.1",
                true,
                "550 5.1.1 mailbox unavailable",
                id(MARIA_IDN),
            ),
        ),
        (
            "bounce-exchange-online.msg",
            bounce(
                "nikos@contoso.example",
                "5.1.10",
                true,
                "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
                id(NIKOS),
            ),
        ),
        (
            "bounce-gmail-address-not-found.msg",
            bounce(
                "eleni.k@gmail.example",
                "5.1.1",
                true,
                "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser a1b2c3d4e5f6-12345abcdef.12 - gsmtp",
                id(ELENI),
            ),
        ),
        (
            "bounce-gmail-delayed.msg",
            bounce(
                "armen@example.am",
                "4.7.0",
                false,
                "421 4.7.0 [203.0.113.99] Try again later, closing connection.",
                id(ARMEN),
            ),
        ),
        (
            "bounce-exim.msg",
            bounce(
                "giorgos@example.org",
                "5.2.1",
                true,
                "550 5.2.1 The email account that you tried to reach is disabled.",
                id(GIORGOS),
            ),
        ),
        // ---- bounces: text only
        (
            "bounce-exchange-onprem-text.msg",
            bounce(
                "nikos.papas@contoso.example",
                "5.1.1",
                true,
                "550 5.1.1 RESOLVER.ADR.RecipientNotFound; not found",
                id(NIKOS),
            ),
        ),
        (
            "bounce-gmail-legacy-text.msg",
            bounce(
                "sarah.cohen@example.co.il",
                "5.1.1",
                true,
                "550 5.1.1 <sarah.cohen@example.co.il>: Recipient address rejected: User unknown in virtual mailbox table",
                id(SARAH),
            ),
        ),
        (
            "bounce-qmail.msg",
            bounce(
                "kostas@example.net",
                "5.1.1",
                true,
                "550 5.1.1 <kostas@example.net>... User unknown",
                id(KOSTAS),
            ),
        ),
        (
            "bounce-qmail-local-no-mailbox.msg",
            bounce(
                "kostas@example.net",
                "5.1.1",
                true,
                "Sorry, no mailbox here by that name. (#5.1.1)",
                id(KOSTAS),
            ),
        ),
        (
            "bounce-yahoo.msg",
            bounce(
                "anna.l@yahoo.example",
                "5.0.0",
                true,
                "554: delivery error: dd This user doesn't have a yahoo.example account (anna.l@yahoo.example) [0] - mta1011.mail.ir2.yahoo.com",
                id(ANNA),
            ),
        ),
        (
            "bounce-exim-text-only.msg",
            bounce(
                "giorgos@example.org",
                "5.7.1",
                true,
                "550 5.7.1 Message rejected as spam by Content Filtering.",
                id(GIORGOS),
            ),
        ),
        (
            "bounce-exim-delay-warning.msg",
            bounce(
                "tamar@example.co.il",
                "4.7.1",
                false,
                "451 4.7.1 Greylisted, please try again later",
                None,
            ),
        ),
        (
            "bounce-exchange-subject-only-text.msg",
            bounce(
                "nikos.papas@contoso.example",
                "5.2.2",
                true,
                "552 5.2.2 STOREDRV.Deliver; mailbox full",
                id(NIKOS),
            ),
        ),
        // A report that the message was delivered: nothing to do.
        ("report-delivered-success.msg", Verdict::AutoReply),
        // ---- the List-Unsubscribe mailto, token in the subject
        (
            "unsub-token-mailto.msg",
            unsubscribe("maria@example.gr", Some(MARIA)),
        ),
        (
            "unsub-token-gmail-button.msg",
            unsubscribe("nikos.k@gmail.example", Some(NIKOS)),
        ),
        (
            "unsub-token-percent-encoded.msg",
            unsubscribe("kostas@example.net", Some(KOSTAS)),
        ),
        // ---- plain words, above the quote, four languages
        (
            "unsub-en-remove-me-quoted.msg",
            unsubscribe("maria@example.gr", None),
        ),
        (
            "unsub-en-stop-subject.msg",
            unsubscribe("kostas@example.net", None),
        ),
        (
            "unsub-en-unsubscribe-top-posted-outlook.msg",
            unsubscribe("anna.l@yahoo.example", None),
        ),
        (
            "unsub-el-diagrafi-qp.msg",
            unsubscribe("eleni.k@gmail.example", None),
        ),
        (
            "unsub-el-caps-no-tonos.msg",
            unsubscribe("giorgos@example.org", None),
        ),
        (
            "unsub-el-windows-1253.msg",
            unsubscribe("stamatis@example.gr", None),
        ),
        (
            "unsub-el-html-gmail-quote.msg",
            unsubscribe("eleni.k@gmail.example", None),
        ),
        (
            "unsub-he-quoted.msg",
            unsubscribe("sarah.cohen@example.co.il", None),
        ),
        (
            "unsub-he-subject-word.msg",
            unsubscribe("tamar@example.co.il", None),
        ),
        (
            "unsub-he-niqqud.msg",
            unsubscribe("tamar@example.co.il", None),
        ),
        (
            "unsub-en-bottom-posted.msg",
            unsubscribe("anna.l@yahoo.example", None),
        ),
        ("unsub-hy-quoted.msg", unsubscribe("armen@example.am", None)),
        (
            "unsub-hy-word-caps.msg",
            unsubscribe("narek@example.am", None),
        ),
        // ---- replies that quote the footer (its unsubscribe words) but ask nothing
        (
            "reply-en-thanks-quoting-footer.msg",
            reply("maria@example.gr"),
        ),
        (
            "reply-el-outlook-unmarked-quote.msg",
            reply("nikos@contoso.example"),
        ),
        (
            "reply-he-thanks-quoting-footer.msg",
            reply("sarah.cohen@example.co.il"),
        ),
        (
            "reply-hy-thanks-quoting-footer.msg",
            reply("armen@example.am"),
        ),
        ("reply-el-html-iphone.msg", reply("maria@example.gr")),
        ("reply-en-dont-stop.msg", reply("anna.l@yahoo.example")),
        (
            "reply-en-bottom-posted-thanks.msg",
            reply("anna.l@yahoo.example"),
        ),
        // Our own subject quoted back ("Re: …") is not the customer's request.
        (
            "reply-en-campaign-subject-says-stop.msg",
            reply("kostas@example.net"),
        ),
        ("reply-en-question.msg", reply("kostas@example.net")),
        ("reply-el-thanks-plain.msg", reply("stamatis@example.gr")),
        // A customer's own "delivery failure" (and a phone number with 550 in it) is not a notice.
        (
            "reply-en-subject-sounds-like-a-bounce.msg",
            reply("maria@example.gr"),
        ),
        ("reply-he-question.msg", reply("sarah.cohen@example.co.il")),
        // ---- auto-replies, whatever words they carry
        ("auto-exchange-out-of-office.msg", Verdict::AutoReply),
        ("auto-gmail-vacation-greek.msg", Verdict::AutoReply),
        ("auto-x-autoreply.msg", Verdict::AutoReply),
        ("auto-precedence-auto-reply-hebrew.msg", Verdict::AutoReply),
        ("auto-vacation-precedence-bulk.msg", Verdict::AutoReply),
        ("auto-subject-only-out-of-office.msg", Verdict::AutoReply),
        ("auto-armenian-subject.msg", Verdict::AutoReply),
        ("auto-replied-says-unsubscribe.msg", Verdict::AutoReply),
    ]
}

#[test]
fn every_fixture_in_the_inbox_folder_is_classified_as_expected() {
    let table = expected();
    let mut wrong = Vec::new();
    for (file, want) in &table {
        let raw = std::fs::read(fixtures().join(file)).unwrap();
        let got = classify(&raw);
        if &got != want {
            wrong.push(format!("{file}:\n  want {want:?}\n  got  {got:?}"));
        }
        // The same message with CRLF line ends, as IMAP serves it.
        let crlf = String::from_utf8(raw)
            .unwrap()
            .replace('\n', "\r\n")
            .into_bytes();
        let got = classify(&crlf);
        if &got != want {
            wrong.push(format!("{file} (CRLF):\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_file_in_the_inbox_fixtures_has_an_expected_verdict() {
    let listed: std::collections::BTreeSet<&str> = expected().iter().map(|(f, _)| *f).collect();
    let mut on_disk = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".msg") {
            on_disk.insert(name);
        }
    }
    let on_disk: std::collections::BTreeSet<&str> = on_disk.iter().map(String::as_str).collect();
    assert_eq!(listed, on_disk);
    // Every kind of verdict is covered by several fixtures.
    for kind in ["bounce", "unsubscribe", "auto-reply", "reply"] {
        let n = expected().iter().filter(|(_, v)| v.code() == kind).count();
        assert!(n >= 5, "{kind}: {n}");
    }
}

#[test]
fn garbage_and_empty_input_are_replies_from_nobody_not_a_crash() {
    for raw in [
        &b""[..],
        b"\r\n\r\n",
        b"not a message at all",
        b"From: \r\n\r\nbody",
        &[0xff, 0xfe, 0x00, 0x41][..],
    ] {
        let v = classify(raw);
        assert!(
            matches!(v, Verdict::Reply { .. }),
            "{:?} → {v:?}",
            String::from_utf8_lossy(raw)
        );
    }
}
