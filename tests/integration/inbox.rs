//! `greet inbox` against a real IMAP server (Dovecot, TLS with a test CA):
//! greetings are sent (to the outbox folder), then the mailbox is loaded
//! with what real servers and people send back about them — bounces in
//! the Postfix, Exchange and Gmail shapes, unsubscribe replies in four
//! languages, auto-replies and ordinary replies — and `greet inbox` runs
//! through the binary. The ledger is looked at through `greet history`
//! and `greet preview`, the mailbox through Dovecot's own doveadm.
use std::collections::BTreeMap;

use crate::dovecot::{Dovecot, PASSWORD, USER};
use crate::support::{HEADER, Run, Shop};

const SHOP: &str = "hello@fournos-marinas.example.gr";

/// Twelve customers born on 14 March (a greeting each on 2026-03-14), in
/// the four languages; the last four also became customers on 15 March
/// (an anniversary greeting the next day).
const CUSTOMERS: &[(&str, &str, &str, &str)] = &[
    ("C01", "nikos@example.gr", "Νίκος", "el"),
    ("C02", "eleni@example.gr", "Ελένη", "el"),
    ("C03", "dana@example.co.il", "דנה", "he"),
    ("C04", "yossi@example.co.il", "יוסי", "he"),
    ("C05", "anahit@example.am", "Անահիտ", "hy"),
    ("C06", "aram@example.am", "Արամ", "hy"),
    ("C07", "john@example.com", "John", "en"),
    ("C08", "mary@example.com", "Mary", "en"),
    ("C09", "sofia@example.gr", "Σοφία", "el"),
    ("C10", "ruth@example.co.il", "רות", "he"),
    ("C11", "gor@example.am", "Գոռ", "hy"),
    ("C12", "kate@example.com", "Kate", "en"),
];

fn customer_list() -> String {
    let mut csv = HEADER.to_string();
    for (i, (id, email, name, lang)) in CUSTOMERS.iter().enumerate() {
        let since = if i >= 8 { "2020-03-15" } else { "2020-06-01" };
        csv.push_str(&format!(
            "{id},{email},{name},Test,f,{lang},1980-03-14,{since},,\n"
        ));
    }
    csv
}

/// The shop, its 14 March greetings written to the outbox, and a fresh
/// Dovecot; `[inbox]` reads it with its own login, trusting the test CA.
fn shop_and_mailbox() -> (Shop, Dovecot, BTreeMap<String, String>) {
    shop_and_mailbox_in(2026)
}

/// [`shop_and_mailbox`], the first greetings sent on 14 March of `year`.
/// (Dovecot dates what it is given by the machine's real clock, so for
/// 2026 the mailbox holds mail that came after the first send.)
fn shop_and_mailbox_in(year: u32) -> (Shop, Dovecot, BTreeMap<String, String>) {
    let mut shop = Shop::with_customers(&customer_list());
    shop.now = format!("{year}-03-14T12:00:00+02:00");
    shop.run(&[
        "send",
        "birthday",
        "--date",
        &format!("{year}-03-14"),
        "--yes",
    ])
    .expect(0);
    let sent = sent_ids(&shop);
    assert_eq!(sent.len(), CUSTOMERS.len(), "{sent:?}");
    let server = Dovecot::start(shop.dir.path());
    let mut config = shop.read("greet.toml");
    // The anniversaries of the day after the birthdays go too: spacing,
    // which would leave them out, is off (it has its own tests).
    config.push_str("\n[spacing]\nmin_days_between = 0\n");
    config.push_str(&format!(
        "\n[inbox]\nhost = \"127.0.0.1\"\nport = {}\nusername = \"{USER}\"\npassword_env = \"GREET_TEST_IMAP_PASSWORD\"\nca_file = \"{}\"\ntimeout = 10\n",
        server.port,
        server.ca_file.file_name().unwrap().to_string_lossy()
    ));
    shop.write("greet.toml", &config);
    (shop, server, sent)
}

/// The recipients of the outbox files that are not in `before`.
fn new_recipients(shop: &Shop, before: &[std::path::PathBuf]) -> Vec<String> {
    shop.eml_files("outbox")
        .iter()
        .filter(|p| !before.contains(p))
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
        .collect()
}

/// Recipient → Message-ID of every greeting in the outbox.
fn sent_ids(shop: &Shop) -> BTreeMap<String, String> {
    shop.eml_files("outbox")
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap();
            let msg = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            let to = msg
                .to()
                .unwrap()
                .first()
                .unwrap()
                .address()
                .unwrap()
                .to_string();
            let id = format!("<{}>", msg.message_id().unwrap());
            (to, id)
        })
        .collect()
}

fn token(message_id: &str) -> &str {
    message_id
        .trim_matches(['<', '>'])
        .rsplit_once('@')
        .unwrap()
        .0
}

/// `greet inbox` (and any other arguments) with the mailbox password.
fn inbox(shop: &Shop, extra: &[&str]) -> Run {
    inbox_with(shop, extra, &[])
}

fn inbox_with(shop: &Shop, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = vec!["inbox"];
    args.extend_from_slice(extra);
    let mut cmd = shop.command(&args);
    cmd.env("GREET_TEST_IMAP_PASSWORD", PASSWORD);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run(cmd.output().unwrap())
}

/// The summary line `inbox: …` on stderr.
fn summary(run: &Run) -> String {
    let err = run.stderr();
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("inbox: ")).collect();
    match lines[..] {
        [line] => line.to_string(),
        _ => panic!("not one summary line in\n{err}"),
    }
}

// ---- What comes back: real-world shapes -------------------------------

/// Postfix's bounce (RFC 3464), with the original's headers.
fn postfix_bounce(to: &str, original_id: &str, status: &str, action: &str, said: &str) -> Vec<u8> {
    // Postfix's queue ID: one per notice.
    let queue = format!("{:X}", to.bytes().map(u64::from).sum::<u64>() * 7919);
    format!(
        "Return-Path: <>\r\n\
From: MAILER-DAEMON@mail.fournos-marinas.example.gr (Mail Delivery System)\r\n\
To: {SHOP}\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Date: Sat, 14 Mar 2026 12:01:07 +0200 (EET)\r\n\
Message-Id: <20260314100107.{queue}@mail.fournos-marinas.example.gr>\r\n\
Auto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\
\tboundary=\"4F1D2C0A1.1773482467/mail.fournos-marinas.example.gr\"\r\n\
\r\n\
This is a MIME-encapsulated message.\r\n\
\r\n\
--4F1D2C0A1.1773482467/mail.fournos-marinas.example.gr\r\n\
Content-Description: Notification\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
This is the mail system at host mail.fournos-marinas.example.gr.\r\n\
\r\n\
I'm sorry to have to inform you that your message could not\r\n\
be delivered to one or more recipients. It's attached below.\r\n\
\r\n\
                   The mail system\r\n\
\r\n\
<{to}>: host mx.example.net[192.0.2.25] said: {said} (in reply to RCPT TO\r\n\
    command)\r\n\
\r\n\
--4F1D2C0A1.1773482467/mail.fournos-marinas.example.gr\r\n\
Content-Description: Delivery report\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mail.fournos-marinas.example.gr\r\n\
X-Postfix-Queue-ID: 4F1D2C0A1\r\n\
X-Postfix-Sender: rfc822; {SHOP}\r\n\
Arrival-Date: Sat, 14 Mar 2026 12:01:05 +0200 (EET)\r\n\
\r\n\
Final-Recipient: rfc822; {to}\r\n\
Original-Recipient: rfc822;{to}\r\n\
Action: {action}\r\n\
Status: {status}\r\n\
Remote-MTA: dns; mx.example.net\r\n\
Diagnostic-Code: smtp; {said}\r\n\
\r\n\
--4F1D2C0A1.1773482467/mail.fournos-marinas.example.gr\r\n\
Content-Description: Undelivered Message Headers\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: =?UTF-8?B?zqbOv8+NcM69zr/PgiDPhM63z4IgzpzOsc+Bzq/Ovc6xz4I=?= <{SHOP}>\r\n\
To: {to}\r\n\
Subject: Happy birthday\r\n\
Message-ID: {original_id}\r\n\
Date: Sat, 14 Mar 2026 12:00:00 +0200\r\n\
\r\n\
--4F1D2C0A1.1773482467/mail.fournos-marinas.example.gr--\r\n"
    )
    .into_bytes()
}

/// Exchange Online's non-delivery report, the original attached whole.
fn exchange_bounce(to: &str, original_id: &str) -> Vec<u8> {
    format!(
        "From: postmaster@outlook.com\r\n\
To: {SHOP}\r\n\
Date: Sat, 14 Mar 2026 10:02:11 +0000\r\n\
Subject: Undeliverable: Happy birthday\r\n\
Message-ID: <b8c1d0e7-52aa-4bd1-9a6f-d3a2b1c0e9f8@AM9PR01MB1234.eurprd01.prod.exchangelabs.com>\r\n\
In-Reply-To: {original_id}\r\n\
References: {original_id}\r\n\
Auto-Submitted: auto-replied\r\n\
X-MS-Exchange-Message-Is-Ndr:\r\n\
Content-Language: en-US\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\
\tboundary=\"ndr-boundary-7f3e\"\r\n\
\r\n\
--ndr-boundary-7f3e\r\n\
Content-Type: text/plain; charset=\"us-ascii\"\r\n\
\r\n\
Your message to {to} couldn't be delivered.\r\n\
{to} wasn't found at example.com.\r\n\
\r\n\
Diagnostic information for administrators:\r\n\
Generating server: AM9PR01MB1234.eurprd01.prod.exchangelabs.com\r\n\
{to}\r\n\
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'\r\n\
\r\n\
--ndr-boundary-7f3e\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns;AM9PR01MB1234.eurprd01.prod.exchangelabs.com\r\n\
Received-From-MTA: dns;mail.fournos-marinas.example.gr\r\n\
Arrival-Date: Sat, 14 Mar 2026 10:02:10 +0000\r\n\
\r\n\
Final-Recipient: rfc822;{to}\r\n\
Action: failed\r\n\
Status: 5.1.10\r\n\
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup\r\n\
\r\n\
--ndr-boundary-7f3e\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: <{SHOP}>\r\n\
To: <{to}>\r\n\
Subject: Happy birthday\r\n\
Message-ID: {original_id}\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Happy birthday!\r\n\
\r\n\
--ndr-boundary-7f3e--\r\n"
    )
    .into_bytes()
}

/// Gmail's "Delivery Status Notification (Failure)".
fn gmail_bounce(to: &str, original_id: &str) -> Vec<u8> {
    format!(
        "Delivered-To: {SHOP}\r\n\
Return-Path: <>\r\n\
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n\
To: {SHOP}\r\n\
Auto-Submitted: auto-replied\r\n\
Subject: Delivery Status Notification (Failure)\r\n\
References: {original_id}\r\n\
In-Reply-To: {original_id}\r\n\
X-Failed-Recipients: {to}\r\n\
Message-ID: <65f2c0a1.050a0220.1b2c3.0001.GMR@mx.google.com>\r\n\
Date: Sat, 14 Mar 2026 03:03:05 -0700 (PDT)\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; boundary=\"000000000000a1b2c3d4e5f60718\"; report-type=delivery-status\r\n\
\r\n\
--000000000000a1b2c3d4e5f60718\r\n\
Content-Type: text/plain; charset=\"UTF-8\"\r\n\
\r\n\
** Address not found **\r\n\
\r\n\
Your message wasn't delivered to {to} because the address couldn't be found, or is unable to receive mail.\r\n\
\r\n\
The response from the remote server was:\r\n\
550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser\r\n\
\r\n\
--000000000000a1b2c3d4e5f60718\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; googlemail.com\r\n\
Received-From-MTA: dns; hello@fournos-marinas.example.gr\r\n\
Arrival-Date: Sat, 14 Mar 2026 03:03:04 -0700 (PDT)\r\n\
X-Original-Message-ID: {original_id}\r\n\
\r\n\
Final-Recipient: rfc822; {to}\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2a00:1450:4013:c00::1b, the server for the domain example.com.)\r\n\
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist. https://support.google.com/mail/?p=NoSuchUser\r\n\
Last-Attempt-Date: Sat, 14 Mar 2026 03:03:05 -0700 (PDT)\r\n\
\r\n\
--000000000000a1b2c3d4e5f60718\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: <{SHOP}>\r\n\
To: <{to}>\r\n\
Subject: Happy birthday\r\n\
Message-ID: {original_id}\r\n\
\r\n\
--000000000000a1b2c3d4e5f60718--\r\n"
    )
    .into_bytes()
}

/// A person's mail to the shop; `headers` go before the body.
fn mail_from(from: &str, subject: &str, headers: &str, body: &str, id: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\n\
To: {SHOP}\r\n\
Subject: {subject}\r\n\
Date: Sat, 14 Mar 2026 18:30:00 +0200\r\n\
Message-ID: <{id}@mail.example.net>\r\n\
{headers}MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
{body}\r\n"
    )
    .into_bytes()
}

/// An RFC 2047 encoded-word (UTF-8, base64), as mail programs write
/// non-ASCII subjects.
fn encoded(text: &str) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("=?UTF-8?B?{out}?=")
}

/// What the mailbox is loaded with, each with what greet should make of it.
struct Load {
    /// (Message-ID of the notice or reply, raw)
    messages: Vec<(String, Vec<u8>)>,
    /// Addresses a permanent bounce keeps out.
    bounced: Vec<String>,
    /// Addresses that asked to stop.
    unsubscribed: Vec<String>,
    /// Message-IDs of the ordinary replies (left in INBOX).
    replies: Vec<String>,
}

fn message_id_of(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .unwrap();
    line.split_once(':').unwrap().1.trim().to_string()
}

/// Three permanent bounces (Postfix, Exchange, Gmail), one temporary one
/// (Postfix, mailbox full: not enough to keep the address out), four
/// unsubscribe replies (English and Hebrew through the List-Unsubscribe
/// mailto's subject, Greek and Armenian as a plain reply in words),
/// three auto-replies (Exchange, Gmail vacation, X-Autoreply), and three
/// ordinary replies.
fn load(sent: &BTreeMap<String, String>) -> Load {
    let id = |email: &str| sent[email].clone();
    let mut messages = vec![
        postfix_bounce(
            "nikos@example.gr",
            &id("nikos@example.gr"),
            "5.1.1",
            "failed",
            "550 5.1.1 <nikos@example.gr>: Recipient address rejected: User unknown in virtual mailbox table",
        ),
        exchange_bounce("john@example.com", &id("john@example.com")),
        gmail_bounce("kate@example.com", &id("kate@example.com")),
        postfix_bounce(
            "eleni@example.gr",
            &id("eleni@example.gr"),
            "4.2.2",
            "delayed",
            "452 4.2.2 <eleni@example.gr>: Mailbox full",
        ),
        mail_from(
            "Mary <mary@example.com>",
            &format!("unsubscribe {}", token(&id("mary@example.com"))),
            "",
            "This message was sent from the List-Unsubscribe link.",
            "unsub-en",
        ),
        mail_from(
            &format!("{} <dana@example.co.il>", encoded("דנה")),
            &format!("unsubscribe {}", token(&id("dana@example.co.il"))),
            "",
            "",
            "unsub-he",
        ),
        mail_from(
            &format!("{} <sofia@example.gr>", encoded("Σοφία")),
            &encoded("Re: Χρόνια πολλά!"),
            &format!("In-Reply-To: {}\r\n", id("sofia@example.gr")),
            "διαγραφή\r\n\r\nΣοφία",
            "unsub-el",
        ),
        mail_from(
            &format!("{} <gor@example.am>", encoded("Գոռ")),
            "Re:",
            &format!("In-Reply-To: {}\r\n", id("gor@example.am")),
            "ապաբաժանորդագրվել",
            "unsub-hy",
        ),
        mail_from(
            "Yossi <yossi@example.co.il>",
            "Automatic reply: Happy birthday",
            &format!(
                "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\nIn-Reply-To: {}\r\n",
                id("yossi@example.co.il")
            ),
            "I am out of the office until 20 March with limited access to email.",
            "ooo-exchange",
        ),
        mail_from(
            "Anahit <anahit@example.am>",
            "Out of office",
            "Auto-Submitted: auto-replied\r\nPrecedence: bulk\r\n",
            "Արձակուրդում եմ մինչև մարտի 25-ը։",
            "ooo-gmail",
        ),
        mail_from(
            "Ruth <ruth@example.co.il>",
            "Re: Happy birthday",
            "X-Autoreply: yes\r\n",
            "אני בחופשה ואחזור ב-22 במרץ.",
            "ooo-x-autoreply",
        ),
    ];
    let replies = vec![
        mail_from(
            "Aram <aram@example.am>",
            "Re: Happy birthday",
            &format!("In-Reply-To: {}\r\n", id("aram@example.am")),
            "Շնորհակալություն, շատ հաճելի էր։",
            "reply-hy",
        ),
        mail_from(
            "Yossi <yossi@example.co.il>",
            "Re: Happy birthday",
            &format!("In-Reply-To: {}\r\n", id("yossi@example.co.il")),
            "תודה רבה! נתראה בשבוע הבא.",
            "reply-he",
        ),
        mail_from(
            &format!("{} <nikos@example.gr>", encoded("Νίκος")),
            &encoded("Re: Χρόνια πολλά!"),
            "",
            "Ευχαριστώ πολύ! Θα περάσω το Σάββατο για τυρόπιτα.",
            "reply-el",
        ),
    ];
    let reply_ids = replies.iter().map(|r| message_id_of(r)).collect();
    messages.extend(replies);
    Load {
        messages: messages
            .into_iter()
            .map(|m| (message_id_of(&m), m))
            .collect(),
        bounced: vec![
            "nikos@example.gr".into(),
            "john@example.com".into(),
            "kate@example.com".into(),
        ],
        unsubscribed: vec![
            "mary@example.com".into(),
            "dana@example.co.il".into(),
            "sofia@example.gr".into(),
            "gor@example.am".into(),
        ],
        replies: reply_ids,
    }
}

const FULL_SUMMARY: &str = "inbox: 4 bounces (3 addresses kept out from now on), 4 unsubscribes, 3 auto-replies ignored, 3 customers replied";

fn deliver_all(server: &Dovecot, load: &Load) {
    for (_, raw) in &load.messages {
        server.deliver("INBOX", raw);
    }
}

/// Who the 15 March anniversaries go to (the last four customers), as
/// `preview` says: due or not.
fn due_on_15_march(shop: &Shop) -> Vec<String> {
    shop.preview_json("anniversary", "2026-03-15")
        .iter()
        .filter(|l| l["status"] == "due")
        .map(|l| l["to"].as_str().unwrap().to_string())
        .collect()
}

/// `history` output without its clock columns, for comparing runs.
fn history(shop: &Shop) -> String {
    shop.run(&["history"]).expect(0).stdout()
}

fn assert_folders_after_a_full_run(server: &Dovecot, load: &Load) {
    let mut replies = load.replies.clone();
    replies.sort();
    assert_eq!(
        server.folder_ids("INBOX"),
        replies,
        "INBOX keeps the replies, only them"
    );
    let mut processed: Vec<String> = load
        .messages
        .iter()
        .map(|(id, _)| id.clone())
        .filter(|id| !load.replies.contains(id))
        .collect();
    processed.sort();
    assert_eq!(server.folder_ids("greet-processed"), processed);
    for m in server.messages() {
        assert!(m.flags.contains(&"$GreetSeen".to_string()), "{m:?}");
        assert!(
            !m.flags.contains(&"\\Seen".to_string()),
            "greet read {m:?} as if the owner had"
        );
    }
}

#[test]
#[cfg_attr(
    greet_no_dovecot,
    ignore = "needs Dovecot (apt install dovecot-imapd) and openssl"
)]
fn bounces_unsubscribes_auto_replies_and_replies_are_each_handled_once_and_put_away() {
    let (shop, server, sent) = shop_and_mailbox();
    let load = load(&sent);
    deliver_all(&server, &load);
    assert_eq!(
        due_on_15_march(&shop),
        [
            "sofia@example.gr",
            "ruth@example.co.il",
            "gor@example.am",
            "kate@example.com"
        ]
    );

    // The owner has starred the last message (a reply) already.
    let inbox_uids = server.folder_uids("INBOX");
    let starred = *inbox_uids.last().unwrap();
    server.add_flag("INBOX", starred, "\\Flagged");

    let run = inbox(&shop, &[]).expect(0);
    assert_eq!(summary(&run), FULL_SUMMARY);
    assert_folders_after_a_full_run(&server, &load);
    assert!(
        server.subscribed().contains(&"greet-processed".to_string()),
        "{:?}",
        server.subscribed()
    );
    // The replies are where they were, under the same UIDs; the owner's
    // own flag is kept.
    let left = server.folder_uids("INBOX");
    assert_eq!(left, inbox_uids[inbox_uids.len() - 3..]);
    let starred_now = server
        .messages()
        .into_iter()
        .find(|m| m.folder == "INBOX" && m.uid == starred)
        .unwrap();
    assert!(
        starred_now.flags.contains(&"\\Flagged".to_string()),
        "{starred_now:?}"
    );

    // The ledger: bounces and unsubscribes in history; those addresses are
    // no longer due; the temporary bounce and the rest still are.
    let shown = history(&shop);
    for email in &load.bounced {
        let line = shown
            .lines()
            .find(|l| l.contains(email.as_str()))
            .unwrap_or_else(|| panic!("{email} not in history:\n{shown}"));
        assert!(line.contains("bounced"), "{line}");
    }
    assert_eq!(
        due_on_15_march(&shop),
        ["ruth@example.co.il"],
        "kate bounced, sofia and gor unsubscribed"
    );
    let after = shop.preview_json("birthday", "2027-03-14");
    let due: Vec<&str> = after
        .iter()
        .filter(|l| l["status"] == "due")
        .map(|l| l["to"].as_str().unwrap())
        .collect();
    for email in load.bounced.iter().chain(&load.unsubscribed) {
        assert!(!due.contains(&email.as_str()), "{email} is still greeted");
    }
    for email in ["eleni@example.gr", "yossi@example.co.il", "aram@example.am"] {
        assert!(due.contains(&email), "{email} is no longer greeted");
    }

    // Again: nothing new, nothing changed.
    let before = (history(&shop), server.messages());
    let again = inbox(&shop, &[]).expect(0);
    assert_eq!(summary(&again), "inbox: nothing new");
    assert_eq!((history(&shop), server.messages()), before);
    // --quiet says nothing when nothing changed.
    let quiet = inbox(&shop, &["--quiet"]).expect(0);
    assert_eq!(quiet.stderr(), "");
}

#[test]
#[cfg_attr(
    greet_no_dovecot,
    ignore = "needs Dovecot (apt install dovecot-imapd) and openssl"
)]
#[cfg_attr(
    all(not(greet_no_dovecot), not(feature = "test-hooks")),
    ignore = "needs --features test-hooks (the README's test command)"
)]
fn a_run_killed_between_commit_and_move_and_a_rerun_handle_each_message_exactly_once() {
    // The uninterrupted run, for comparison.
    let (whole, whole_server, sent) = shop_and_mailbox();
    let load_whole = load(&sent);
    deliver_all(&whole_server, &load_whole);
    inbox(&whole, &[]).expect(0);
    let whole_history = history(&whole);

    let n = load_whole.messages.len();
    for kill_after in [1, n / 2, n] {
        let (shop, server, sent) = shop_and_mailbox();
        let load = load(&sent);
        deliver_all(&server, &load);
        let killed = inbox_with(
            &shop,
            &[],
            &[("GREET_TEST_KILL_INBOX_AFTER", &kill_after.to_string())],
        );
        assert_eq!(
            killed.0.status.code(),
            None,
            "killed by a signal\n{}",
            killed.stderr()
        );
        // The message whose effect was committed is still in INBOX, not put away.
        let unflagged = server
            .messages()
            .iter()
            .filter(|m| !m.flags.contains(&"$GreetSeen".to_string()))
            .count();
        assert_eq!(
            unflagged,
            n - kill_after + 1,
            "after a kill at {kill_after}"
        );

        let rerun = inbox(&shop, &[]).expect(0);
        assert!(
            summary(&rerun).ends_with("1 message handled before, now put away"),
            "{}",
            summary(&rerun)
        );
        assert_folders_after_a_full_run(&server, &load);
        assert_eq!(
            normalize(&history(&shop), &sent, &shop),
            normalize(&whole_history, &sent, &whole),
            "killed after {kill_after}"
        );
        assert_eq!(summary(&inbox(&shop, &[]).expect(0)), "inbox: nothing new");
    }
}

/// History with what differs between two shops (times, folders) removed.
fn normalize(text: &str, _sent: &BTreeMap<String, String>, shop: &Shop) -> Vec<String> {
    let dir = shop.dir.path().display().to_string();
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            l.replace(&dir, "DIR")
                .split_whitespace()
                .filter(|w| {
                    !w.chars().next().is_some_and(|c| c.is_ascii_digit()) || !w.contains(':')
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    lines.sort();
    lines
}

#[test]
#[cfg_attr(
    greet_no_dovecot,
    ignore = "needs Dovecot (apt install dovecot-imapd) and openssl"
)]
fn a_wrong_password_or_an_untrusted_certificate_is_try_later_and_changes_nothing() {
    let (shop, server, sent) = shop_and_mailbox();
    let load = load(&sent);
    deliver_all(&server, &load);
    let before = (history(&shop), server.messages());

    let wrong = Run(shop
        .command(&["inbox"])
        .env("GREET_TEST_IMAP_PASSWORD", "not-the-password")
        .output()
        .unwrap())
    .expect(4);
    assert!(
        wrong.stderr().contains("refuses the login"),
        "{}",
        wrong.stderr()
    );
    assert!(
        wrong.stderr().contains("nothing changed"),
        "{}",
        wrong.stderr()
    );
    assert_eq!((history(&shop), server.messages()), before);

    // Without the test CA, the server's certificate is one nobody vouches for.
    shop.edit("greet.toml", "ca_file = \"ca.pem\"\n", "");
    let untrusted = inbox(&shop, &[]).expect(4);
    assert!(
        untrusted.stderr().contains("certificate is not trusted"),
        "{}",
        untrusted.stderr()
    );
    assert_eq!((history(&shop), server.messages()), before);

    // Nothing listening: the same.
    let config = shop.read("greet.toml");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    drop(closed);
    shop.write(
        "greet.toml",
        &config
            .replace(
                &format!("port = {}", server.port),
                &format!("port = {dead_port}"),
            )
            .replace("\n[inbox]\n", "\n[inbox]\nca_file = \"ca.pem\"\n"),
    );
    let down = inbox(&shop, &[]).expect(4);
    assert!(
        down.stderr().contains("cannot connect"),
        "{}",
        down.stderr()
    );
    assert_eq!((history(&shop), server.messages()), before);
}

#[test]
#[cfg_attr(
    greet_no_dovecot,
    ignore = "needs Dovecot (apt install dovecot-imapd) and openssl"
)]
fn starttls_on_port_143_works_as_imaps_does() {
    let (shop, server, sent) = shop_and_mailbox();
    let load = load(&sent);
    deliver_all(&server, &load);
    shop.edit(
        "greet.toml",
        &format!("port = {}\n", server.port),
        &format!("port = {}\nsecurity = \"starttls\"\n", server.starttls_port),
    );
    let run = inbox(&shop, &[]).expect(0);
    assert_eq!(summary(&run), FULL_SUMMARY);
    assert_folders_after_a_full_run(&server, &load);
}

#[test]
#[cfg_attr(
    greet_no_dovecot,
    ignore = "needs Dovecot (apt install dovecot-imapd) and openssl"
)]
fn send_due_reads_the_mailbox_first_and_skips_an_address_that_bounced() {
    let (shop, server, sent) = shop_and_mailbox();
    // kate's birthday greeting bounced overnight (the notice came twice);
    // her anniversary is today.
    for _ in 0..2 {
        server.deliver(
            "INBOX",
            &gmail_bounce("kate@example.com", &sent["kate@example.com"]),
        );
    }
    shop.edit(
        "greet.toml",
        "\n[inbox]\n",
        "\n[inbox]\nbefore_send = true\n",
    );
    let before = shop.eml_files("outbox");
    let mut cmd = shop.command(&["send", "--due", "--date", "2026-03-15", "--yes"]);
    cmd.env("GREET_TEST_IMAP_PASSWORD", PASSWORD);
    let run = Run(cmd.output().unwrap()).expect(0);
    assert_eq!(
        summary(&run),
        "inbox: 1 bounce (1 address kept out from now on), 1 message handled before, now put away"
    );
    assert_eq!(server.folder_uids("greet-processed").len(), 2);
    let mut anniversaries: Vec<String> = new_recipients(&shop, &before);
    anniversaries.sort();
    assert_eq!(
        anniversaries,
        ["gor@example.am", "ruth@example.co.il", "sofia@example.gr"],
        "{}",
        run.stderr()
    );

    // An unreachable mailbox: a warning, and the greetings still go.
    drop(server);
    let mut cmd = shop.command(&["send", "--due", "--date", "2026-03-16", "--yes"]);
    cmd.env("GREET_TEST_IMAP_PASSWORD", PASSWORD);
    let run = Run(cmd.output().unwrap()).expect(0);
    assert!(
        run.stderr().contains("inbox: not read ("),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_config_without_inbox_or_without_its_password_is_exit_2_before_any_connection() {
    let shop = Shop::samples();
    let none = shop.run(&["inbox"]).expect(2);
    assert!(
        none.stderr().contains("no [inbox] table"),
        "{}",
        none.stderr()
    );

    let mut config = shop.read("greet.toml");
    config.push_str(
        "\n[inbox]\nhost = \"127.0.0.1\"\nport = 9\nusername = \"shop@example.test\"\npassword_env = \"GREET_TEST_IMAP_PASSWORD\"\n",
    );
    shop.write("greet.toml", &config);
    let line = config
        .lines()
        .position(|l| l.starts_with("password_env = \"GREET_TEST_IMAP"))
        .unwrap()
        + 1;
    let at = format!("greet.toml:{line}:16: [inbox] password_env names GREET_TEST_IMAP_PASSWORD");
    let unset = shop.run(&["inbox"]).expect(2);
    assert!(unset.stderr().contains(&at), "{at}\n{}", unset.stderr());
    // `check` says it too.
    let check = shop.run(&["check", "--date", "2026-03-14"]);
    assert!(
        check.stderr().contains(&at) || check.stdout().contains(&at),
        "{}",
        check.stderr()
    );
    assert!(
        !shop.path("greet-ledger.sqlite").exists(),
        "nothing was touched"
    );
}

#[test]
#[cfg_attr(
    any(greet_no_dovecot, greet_no_oauth),
    ignore = "needs Dovecot (apt install dovecot-imapd) and the OAuth test server (npm ci in tests/oauth)"
)]
fn with_auth_oauth2_the_mailbox_is_read_with_the_sending_accounts_token_over_xoauth2() {
    use crate::oauth::{Flow, device_login, oauth_shop};
    use crate::oauth_servers::{ACCOUNT, OAuthServer};

    let logs = tempfile::tempdir().unwrap();
    let auth = OAuthServer::start(logs.path(), &[]);
    let mut shop = oauth_shop(&auth, Flow::Device);
    // Nothing sent yet: the mailbox is read from the day before today.
    shop.now = "2026-03-14T12:00:00+02:00".into();
    device_login(&shop, &auth).expect(0);
    assert_eq!(ACCOUNT, USER, "the mailbox is the sending account's");
    let server = Dovecot::start_with_oauth(shop.dir.path(), &auth.introspection_url());
    // [transport]'s CA file is the one the mailbox's certificate comes from.
    std::fs::create_dir_all(shop.path("smtp")).unwrap();
    std::fs::copy(&server.ca_file, shop.path("smtp/ca.pem")).unwrap();
    let mut config = shop.read("greet.toml");
    config.push_str(&format!(
        "\n[inbox]\nhost = \"127.0.0.1\"\nport = {}\n",
        server.port
    ));
    shop.write("greet.toml", &config);
    server.deliver(
        "INBOX",
        &mail_from(
            "John <john@example.com>",
            "Re: Happy birthday",
            "",
            "Thanks!",
            "r1",
        ),
    );
    server.deliver(
        "INBOX",
        &mail_from(
            "Mary <mary@example.com>",
            "Automatic reply: Happy birthday",
            "Auto-Submitted: auto-replied\r\n",
            "Away until Monday.",
            "a1",
        ),
    );
    let run = shop.run(&["inbox"]).expect(0);
    assert_eq!(
        summary(&run),
        "inbox: 1 auto-reply ignored, 1 customer replied"
    );
    assert!(server.log().contains("method=XOAUTH2"), "{}", server.log());
    assert_eq!(
        server.folder_ids("greet-processed"),
        ["<a1@mail.example.net>"]
    );

    // The owner removes greet's access: the mailbox refuses it, nothing changes.
    auth.revoke_all();
    let before = server.messages();
    server.deliver(
        "INBOX",
        &mail_from(
            "Kate <kate@example.com>",
            "Re: Happy birthday",
            "",
            "Thank you",
            "r2",
        ),
    );
    let refused = shop.run(&["inbox"]).expect(4);
    assert!(
        refused.stderr().contains("nothing changed"),
        "{}",
        refused.stderr()
    );
    assert_eq!(server.messages().len(), before.len() + 1);
    let r2 = server
        .messages()
        .into_iter()
        .find(|m| m.message_id == "<r2@mail.example.net>")
        .unwrap();
    assert_eq!(
        (
            r2.folder.as_str(),
            r2.flags.contains(&"$GreetSeen".to_string())
        ),
        ("INBOX", false)
    );
    assert!(refused.stderr().contains("login"), "{}", refused.stderr());
}

#[test]
#[cfg_attr(
    greet_no_dovecot,
    ignore = "needs Dovecot (apt install dovecot-imapd) and openssl"
)]
fn mail_that_arrived_before_greets_first_send_is_neither_read_nor_moved() {
    // The first greetings go out in 2099: everything in the mailbox now
    // came before them, so none of it can be about a greeting.
    let (shop, server, sent) = shop_and_mailbox_in(2099);
    let load = load(&sent);
    deliver_all(&server, &load);
    let before = (history(&shop), server.messages());
    let run = inbox(&shop, &[]).expect(0);
    assert_eq!(summary(&run), "inbox: nothing new");
    assert_eq!((history(&shop), server.messages()), before);
}

#[test]
#[cfg_attr(
    greet_no_dovecot,
    ignore = "needs Dovecot (apt install dovecot-imapd) and openssl"
)]
fn every_inbox_fixture_is_put_where_its_verdict_and_the_ledger_say_and_the_ledger_matches_the_library()
 {
    use greet::cmd::inbox::Tally;
    use greet::inbox::{Verdict, classify};
    use greet::ledger::{Applied, BouncePolicy, Ledger};

    let mut shop = Shop::samples();
    shop.now = "2026-03-14T12:00:00+02:00".into();
    shop.run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(0);
    let mut names: Vec<_> = std::fs::read_dir(crate::classify::fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "msg"))
        .collect();
    names.sort();
    assert!(names.len() > 40, "{names:?}");
    let raws: Vec<Vec<u8>> = names.iter().map(|p| std::fs::read(p).unwrap()).collect();

    // What the library does with them, in order, on a copy of the ledger.
    std::fs::copy(shop.path("greet-ledger.sqlite"), shop.path("copy.sqlite")).unwrap();
    let mut copy = Ledger::open(&shop.path("copy.sqlite")).unwrap();
    let mut expected = Tally::default();
    let mut stays = Vec::new();
    for (i, raw) in raws.iter().enumerate() {
        let verdict = classify(raw);
        let applied = copy
            .apply_inbox_with_id(
                "INBOX",
                1,
                i as u32 + 1,
                greet::inbox::message_id(raw).as_deref(),
                &verdict,
                &BouncePolicy::default(),
            )
            .unwrap();
        expected.add(&applied);
        if matches!(verdict, Verdict::Reply { .. }) || applied == Applied::Unmatched {
            stays.push(i as u32 + 1);
        }
    }
    assert!(
        expected.bounces > 0 && expected.unsubscribes > 0,
        "{expected:?}"
    );

    let server = Dovecot::start(shop.dir.path());
    let mut config = shop.read("greet.toml");
    config.push_str(&format!(
        "\n[inbox]\nhost = \"127.0.0.1\"\nport = {}\nusername = \"{USER}\"\npassword_env = \"GREET_TEST_IMAP_PASSWORD\"\nca_file = \"ca.pem\"\n",
        server.port
    ));
    shop.write("greet.toml", &config);
    for raw in &raws {
        server.deliver("INBOX", raw);
    }
    assert_eq!(server.folder_uids("INBOX").len(), raws.len());

    let run = inbox(&shop, &[]).expect(0);
    assert_eq!(summary(&run), expected.line());
    assert_eq!(
        server.folder_uids("INBOX"),
        stays,
        "{}",
        names_of(&names, &stays)
    );
    assert_eq!(
        server.folder_uids("greet-processed").len(),
        raws.len() - stays.len()
    );
    // The ledger is what the library made of the same messages.
    let real = Ledger::open(&shop.path("greet-ledger.sqlite")).unwrap();
    let emails = |l: &Ledger| {
        let mut v: Vec<String> = l
            .suppressions()
            .unwrap()
            .into_iter()
            .map(|s| s.email)
            .collect();
        v.sort();
        v
    };
    assert_eq!(emails(&real), emails(&copy));
    let states = |l: &Ledger| {
        let mut v: Vec<(String, String)> = l
            .history(None)
            .unwrap()
            .into_iter()
            .map(|e| (e.recipient, e.state.as_str().to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(states(&real), states(&copy));
    assert_eq!(summary(&inbox(&shop, &[]).expect(0)), "inbox: nothing new");
}

fn names_of(names: &[std::path::PathBuf], uids: &[u32]) -> String {
    uids.iter()
        .map(|u| {
            names[*u as usize - 1]
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
#[cfg_attr(
    greet_no_dovecot,
    ignore = "needs Dovecot (apt install dovecot-imapd) and openssl"
)]
fn a_folder_that_takes_no_keyword_of_ours_is_handled_once_by_the_ledger_alone() {
    // Exchange's IMAP takes no keywords: Dovecot with an ACL that does not
    // let the user write flags.
    let mut shop = Shop::with_customers(&customer_list());
    shop.now = "2026-03-14T12:00:00+02:00".into();
    shop.run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(0);
    let sent = sent_ids(&shop);
    let server = Dovecot::start_without_keywords(shop.dir.path());
    let mut config = shop.read("greet.toml");
    config.push_str(&format!(
        "\n[inbox]\nhost = \"127.0.0.1\"\nport = {}\nusername = \"{USER}\"\npassword_env = \"GREET_TEST_IMAP_PASSWORD\"\nca_file = \"ca.pem\"\n",
        server.port
    ));
    shop.write("greet.toml", &config);
    let load = load(&sent);
    deliver_all(&server, &load);

    let run = inbox(&shop, &[]).expect(0);
    assert_eq!(summary(&run), FULL_SUMMARY);
    let mut replies = load.replies.clone();
    replies.sort();
    assert_eq!(server.folder_ids("INBOX"), replies);
    assert!(
        server
            .messages()
            .iter()
            .all(|m| !m.flags.contains(&"$GreetSeen".to_string())),
        "{:?}",
        server.messages()
    );
    let before = (history(&shop), server.messages());
    assert_eq!(summary(&inbox(&shop, &[]).expect(0)), "inbox: nothing new");
    assert_eq!((history(&shop), server.messages()), before);
}
