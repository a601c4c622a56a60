//! What the inbox's verdicts do to the next runs, through the binary: the
//! sample shop sends its 14 March birthdays (to the outbox), real-shaped
//! notices and replies (the fixtures, aimed at the greetings greet really
//! sent) are applied to its ledger through `Ledger::apply_inbox`, and then
//! `history`, `preview`, `send` and `resubscribe` are run as the owner runs them.
use greet::inbox::{classify, token_of};
use greet::ledger::{Applied, BouncePolicy, Ledger, SCHEMA_VERSION};

use crate::classify::fixtures;
use crate::support::Shop;

const SARAH: &str = "sarah.cohen@example.co.il";
const NAREK: &str = "narek@example.am";
const STAMATIS: &str = "stamatis@example.gr";

/// The sample shop after `send birthday` for 14 March (Stamatis, Narek, Sarah).
fn greeted() -> Shop {
    let shop = Shop::samples();
    shop.run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(0);
    shop
}

fn ledger(shop: &Shop) -> Ledger {
    Ledger::open(&shop.path("greet-ledger.sqlite")).unwrap()
}

/// The token of the greeting greet sent to `to`.
fn token_to(shop: &Shop, to: &str) -> String {
    let e = ledger(shop)
        .history(None)
        .unwrap()
        .into_iter()
        .find(|e| e.recipient == to)
        .unwrap_or_else(|| panic!("no greeting to {to}"));
    token_of(&e.message_id).unwrap().to_string()
}

/// A fixture with its address and token replaced by those of a greeting
/// greet really sent.
fn aimed(fixture: &str, replace: &[(&str, &str)]) -> Vec<u8> {
    let mut text = std::fs::read_to_string(fixtures().join(fixture)).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{fixture} has no {from}");
        text = text.replace(from, to);
    }
    text.into_bytes()
}

const MARIA_TOKEN: &str = "3f2a9c1e7b5d4a60c8e2f1b3a9d7c5e0.birthday.2026-12-01";

fn apply(shop: &Shop, uid: u32, raw: &[u8]) -> Applied {
    ledger(shop)
        .apply_inbox("INBOX", 1, uid, &classify(raw), &BouncePolicy::default())
        .unwrap()
}

/// The day an address went on the suppression list (`YYYY-MM-DD`).
fn kept_since(shop: &Shop, email: &str) -> String {
    ledger(shop).suppression(email).unwrap().unwrap().added_at[..10].to_string()
}

/// Sarah's birthday greeting bounced (a Postfix notice, permanent 5.1.1).
fn sarah_bounced(shop: &Shop) {
    let notice = aimed(
        "bounce-postfix-user-unknown.msg",
        &[
            ("maria@example.gr", SARAH),
            (MARIA_TOKEN, &token_to(shop, SARAH)),
        ],
    );
    assert_eq!(
        apply(shop, 1, &notice),
        Applied::Bounced {
            email: SARAH.into(),
            suppressed: true
        }
    );
    // The same message again (a rerun after a crash): nothing more.
    assert_eq!(apply(shop, 1, &notice), Applied::AlreadySeen);
}

#[test]
fn history_shows_a_bounced_greeting_with_its_status_and_diagnostic_and_why_the_address_is_kept_out()
{
    let shop = greeted();
    // The greetings went out on their day, in March.
    rusqlite::Connection::open(shop.path("greet-ledger.sqlite"))
        .unwrap()
        .execute(
            "UPDATE greetings SET updated_at = '2026-03-14T07:00:00Z'",
            [],
        )
        .unwrap();
    sarah_bounced(&shop);
    let day = kept_since(&shop, SARAH);
    let h = shop.run(&["history"]).expect(0).stdout();
    let line = format!(
        "bounced   birthday 2026-03-14 → {SARAH}  5.1.1 on {day}: 550 5.1.1 <{SARAH}>: Recipient address rejected: User unknown in virtual mailbox table"
    );
    assert!(h.contains(&line), "{h}");
    assert_eq!(h.matches("bounced   birthday").count(), 1, "{h}");
    assert_eq!(h.matches("sent      birthday").count(), 2, "{h}");
    assert!(
        h.contains(&format!(
            "not greeted any more:\n  {SARAH}  bounced 5.1.1 on {day}\n"
        )),
        "{h}"
    );
    // One customer's history shows only their suppression.
    let narek = shop
        .run(&["history", "--customer", NAREK])
        .expect(0)
        .stdout();
    assert!(!narek.contains("not greeted any more"), "{narek}");
    let sarah = shop
        .run(&["history", "--customer", SARAH])
        .expect(0)
        .stdout();
    assert!(sarah.contains("bounced 5.1.1 on"), "{sarah}");
    // --since the day the notice was read still shows the March greeting it bounced.
    let since = shop.run(&["history", "--since", &day]).expect(0).stdout();
    assert!(since.contains(&line), "{since}");
    assert!(!since.contains("sent      birthday"), "{since}");
}

#[test]
fn preview_and_send_skip_an_address_that_bounced_and_say_why_until_the_owner_resubscribes_it() {
    let shop = greeted();
    sarah_bounced(&shop);
    let day = kept_since(&shop, SARAH);
    let why = format!("<{SARAH}> · bounced 5.1.1 on {day}");

    let preview = shop.run(&["preview", "christmas"]).expect(0).stdout();
    assert!(
        preview.contains(&format!("skipped · שרה כהן {why}")),
        "{preview}"
    );

    let send = shop.run(&["send", "christmas", "--yes"]).expect(0);
    assert!(
        send.stderr().contains(&format!("skipped · שרה כהן {why}")),
        "{}",
        send.stderr()
    );
    // Oliver opted out in the list; Sarah is kept out by the bounce.
    assert!(send.stderr().contains("opted out 2"), "{}", send.stderr());
    let sarah = shop
        .run(&["history", "--customer", SARAH])
        .expect(0)
        .stdout();
    assert!(!sarah.contains("christmas"), "{sarah}");
    // Others were greeted as usual.
    let stamatis = shop
        .run(&["history", "--customer", STAMATIS])
        .expect(0)
        .stdout();
    assert!(stamatis.contains("sent      christmas"), "{stamatis}");

    // --quiet leaves the list of who was kept out to history.
    let quiet = shop
        .run(&["send", "new-year", "--yes", "--quiet"])
        .expect(0);
    assert!(!quiet.stderr().contains("skipped ·"), "{}", quiet.stderr());

    // Unsubscribing her again says why she is out already.
    let again = shop.run(&["unsubscribe", SARAH]).expect(0).stdout();
    assert!(
        again.contains(&format!(
            "{SARAH} was already kept out: bounced 5.1.1 on {day}"
        )),
        "{again}"
    );
    // The owner resubscribes her: the next campaign greets her again.
    let back = shop.run(&["resubscribe", SARAH]).expect(0).stdout();
    assert!(
        back.contains(&format!(
            "{SARAH} can be greeted again (it was bounced 5.1.1 on {day})"
        )),
        "{back}"
    );
    let preview = shop.run(&["preview", "easter"]).expect(0).stdout();
    assert!(
        !preview.contains(&format!("skipped · שרה כהן <{SARAH}>")),
        "{preview}"
    );
    assert!(
        preview.contains(&format!("שרה כהן <{SARAH}> · he\n")),
        "{preview}"
    );
}

#[test]
fn replies_asking_to_stop_keep_the_greeted_customer_out_and_a_stranger_changes_nothing() {
    let shop = greeted();
    // Narek answers his birthday greeting with the Armenian word.
    assert_eq!(
        apply(&shop, 10, &aimed("unsub-hy-word-caps.msg", &[])),
        Applied::Unsubscribed {
            email: NAREK.into()
        }
    );
    // The List-Unsubscribe mailto of Stamatis's greeting, sent from another address.
    let mailto = aimed(
        "unsub-token-mailto.msg",
        &[(MARIA_TOKEN, &token_to(&shop, STAMATIS))],
    );
    assert_eq!(
        apply(&shop, 11, &mailto),
        Applied::Unsubscribed {
            email: STAMATIS.into()
        }
    );
    // "STOP" from someone greet never greeted: nothing.
    assert_eq!(
        apply(&shop, 12, &aimed("unsub-en-stop-subject.msg", &[])),
        Applied::Unmatched
    );
    // Thanks that quote the footer, and an out-of-office: nothing.
    assert_eq!(
        apply(
            &shop,
            13,
            &aimed(
                "reply-hy-thanks-quoting-footer.msg",
                &[("armen@example.am", NAREK)]
            )
        ),
        Applied::Replied { from: NAREK.into() }
    );
    assert_eq!(
        apply(&shop, 14, &aimed("auto-x-autoreply.msg", &[])),
        Applied::Ignored
    );

    let preview = shop.run(&["preview", "christmas"]).expect(0).stdout();
    for who in [NAREK, STAMATIS] {
        let day = kept_since(&shop, who);
        assert!(
            preview.contains(&format!(
                "<{who}> · asked to stop on {day} (a reply to a greeting)"
            )),
            "{preview}"
        );
    }
    assert_eq!(preview.matches("skipped · ").count(), 3, "{preview}");
    let h = shop.run(&["history"]).expect(0).stdout();
    assert!(h.contains(&format!("  {NAREK}  asked to stop on")), "{h}");
    assert!(!h.contains("kostas@example.net"), "{h}");
}

#[test]
fn a_v1_ledger_is_read_as_it_is_and_migrated_by_the_first_command_that_writes() {
    let shop = Shop::samples();
    let path = shop.path("greet-ledger.sqlite");
    {
        // As greet wrote ledgers before schema 2.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE greetings (
                 occasion TEXT NOT NULL, customer TEXT NOT NULL, occurrence TEXT NOT NULL,
                 state TEXT NOT NULL CHECK (state IN ('sending','sent','failed','deferred','uncertain')),
                 recipient TEXT NOT NULL, message_id TEXT NOT NULL, reply TEXT,
                 attempts INTEGER NOT NULL DEFAULT 1,
                 updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
                 PRIMARY KEY (occasion, customer, occurrence));
             CREATE INDEX greetings_by_state ON greetings(state);
             CREATE TABLE suppressed (email TEXT PRIMARY KEY,
                 added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')));
             CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO greetings VALUES ('birthday','C001','2026-03-14','sent','stamatis@example.gr',
                 '<0a.birthday.2026-03-14@example.gr>','250 ok',1,'2026-03-14T07:00:00Z');
             INSERT INTO suppressed VALUES ('sarah.cohen@example.co.il','2026-02-01T10:00:00Z');
             INSERT INTO meta VALUES ('first_run','2026-03-01');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let version = || -> i32 {
        rusqlite::Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    };
    // preview reads it without changing it, and respects the old suppression.
    let preview = shop.run(&["preview", "christmas"]).expect(0).stdout();
    assert!(
        preview.contains(&format!("<{SARAH}> · unsubscribed on 2026-02-01")),
        "{preview}"
    );
    assert_eq!(version(), 1);
    // send migrates it and keeps everything.
    let send = shop
        .run(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .expect(0);
    assert!(
        send.stderr().contains("already greeted 1"),
        "{}",
        send.stderr()
    );
    assert_eq!(version(), SCHEMA_VERSION);
    let h = shop.run(&["history"]).expect(0).stdout();
    assert!(
        h.contains(
            "2026-03-14T07:00:00Z  sent      birthday 2026-03-14 → stamatis@example.gr  250 ok"
        ),
        "{h}"
    );
    assert!(
        h.contains(&format!("  {SARAH}  unsubscribed on 2026-02-01")),
        "{h}"
    );
}
