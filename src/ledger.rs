//! The ledger: what was sent to whom — never twice, never silently lost.
//!
//! A SQLite file (WAL, `synchronous = FULL`). A greeting's key is
//! (occasion, customer key, occurrence). Its row is written `sending` and
//! committed *before* the message is handed to a transport, then moved to
//! `sent` (with the server's reply and the Message-ID), `failed` or
//! `deferred`. A run that dies leaves `sending` rows; the next run that takes
//! the lock turns them into `uncertain`: not resent unless asked, because a
//! duplicate birthday wish is worse than a late one.
//!
//! One durable commit per message: the outcome of message k and the
//! reservation of message k+1 are one transaction ([`Ledger::settle`]), so
//! at most one message per connection is ever in doubt — exactly as with a
//! commit for each — at half the fsyncs. Statements are prepared once and
//! cached. The run lock is a separate file; SQLite keeps its normal
//! locking so that `preview` and `history` can read the ledger during a send.
//!
//! What comes back (schema 2, `greet inbox`): a greeting a bounce notice
//! names becomes `bounced` with the notice's status and diagnostic; the
//! suppression list keeps why each address is on it; `bounces` keeps the
//! notices for the temporary-failure policy; `inbox_seen` keeps every
//! mailbox message applied, written in the same transaction as its effect
//! ([`Ledger::apply_inbox`]).
//!
//! Schema 3 (spacing, see [`crate::spacing`]): a greeting left out because
//! another to the same customer went out too close to it is kept as
//! `spaced` (its reply says which one), so history shows it and no later
//! run sends it; and greetings are indexed by (customer, occurrence), so
//! what went to one customer around a day is one cheap lookup.
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension, params};

use crate::inbox::{Bounce, Verdict};
use crate::message::GreetingKey;

/// The schema this build writes; older files are migrated on open.
pub const SCHEMA_VERSION: i32 = 4;

/// Where a greeting stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Reserved and about to be handed to the transport.
    Sending,
    /// Accepted by the server.
    Sent,
    /// Refused for good (a recipient 5xx); never retried automatically.
    Failed,
    /// A temporary refusal; the next run tries again.
    Deferred,
    /// A run died between reserving and recording: maybe sent, maybe not.
    Uncertain,
    /// Sent, and a delivery status notification came back for it (`greet
    /// inbox`); its status and diagnostic are kept with it. Never resent.
    Bounced,
    /// Not sent: another greeting to the same customer went out (or goes)
    /// too close to it ([`crate::spacing`]). Never sent later.
    Spaced,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Sending => "sending",
            State::Sent => "sent",
            State::Failed => "failed",
            State::Deferred => "deferred",
            State::Uncertain => "uncertain",
            State::Bounced => "bounced",
            State::Spaced => "spaced",
        }
    }

    fn parse(s: &str) -> Option<State> {
        Some(match s {
            "sending" => State::Sending,
            "sent" => State::Sent,
            "failed" => State::Failed,
            "deferred" => State::Deferred,
            "uncertain" => State::Uncertain,
            "bounced" => State::Bounced,
            "spaced" => State::Spaced,
            _ => return None,
        })
    }
}

/// The answer to "may this greeting go out now?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The row is now `sending`: hand the message to the transport.
    Go,
    /// Leave it: the ledger already has it in this state.
    Skip(State),
}

/// The outcome of handing one message to the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent { reply: String },
    Failed { reply: String },
    Deferred { reply: String },
    Uncertain { reply: String },
}

/// One greeting as `history` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: GreetingKey,
    pub state: State,
    pub recipient: String,
    pub message_id: String,
    pub reply: Option<String>,
    pub attempts: u32,
    pub updated_at: String,
    /// The delivery status notification that came back for it, if one did.
    pub bounce: Option<BounceNote>,
    /// The gift code it carried (compact) and when it was redeemed.
    pub gift: Option<(String, Option<String>)>,
}

/// What a bounce notice said about a greeting: its status (`5.1.1`), the
/// remote server's words, and when `greet inbox` read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BounceNote {
    pub status: String,
    pub diagnostic: String,
    pub at: String,
}

/// Why an address is kept out of future runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The owner ran `greet unsubscribe`.
    Unsubscribed,
    /// The customer replied to a greeting asking to stop.
    UnsubscribeReply,
    /// Mail to it bounced for good, or failed temporarily again and again.
    Bounced,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unsubscribed => "unsubscribed",
            Reason::UnsubscribeReply => "unsubscribe-reply",
            Reason::Bounced => "bounced",
        }
    }

    fn parse(s: &str) -> Option<Reason> {
        Some(match s {
            "unsubscribed" => Reason::Unsubscribed,
            "unsubscribe-reply" => Reason::UnsubscribeReply,
            "bounced" => Reason::Bounced,
            _ => return None,
        })
    }
}

/// One address on the suppression list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// As kept: [`suppression_key`].
    pub email: String,
    /// `None` for addresses the owner added before greet kept reasons.
    pub reason: Option<Reason>,
    /// For a bounce, its status (`5.1.1`); for a reply, its token or sender.
    pub detail: Option<String>,
    /// `2026-12-01T09:00:00Z`.
    pub added_at: String,
}

impl Suppression {
    /// "bounced 5.1.1 on 2026-12-01", "asked to stop on 2026-12-01 (reply)",
    /// "unsubscribed on 2026-12-01": what `preview`, `send` and `history` say.
    pub fn describe(&self) -> String {
        let day = self.added_at.get(..10).unwrap_or(&self.added_at);
        match self.reason {
            None => format!("unsubscribed on {day}"),
            Some(Reason::Unsubscribed) => format!("unsubscribed by the owner on {day}"),
            Some(Reason::UnsubscribeReply) => {
                format!("asked to stop on {day} (a reply to a greeting)")
            }
            Some(Reason::Bounced) => {
                let status = self.detail.as_deref().unwrap_or("");
                if status.starts_with('4') {
                    format!("bounced {status} on {day} (failed again and again)")
                } else {
                    format!("bounced {status} on {day}")
                }
            }
        }
    }
}

/// When temporary failures keep an address out: `soft_limit` greetings that
/// failed temporarily within `soft_days` days (0 = never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BouncePolicy {
    /// Temporary failures (of different greetings) that suppress the address.
    pub soft_limit: u32,
    /// Counted within this many days.
    pub soft_days: u32,
}

impl Default for BouncePolicy {
    /// Three greetings failing temporarily within 14 days.
    fn default() -> BouncePolicy {
        BouncePolicy {
            soft_limit: 3,
            soft_days: 14,
        }
    }
}

/// What [`Ledger::apply_inbox`] did with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// This (mailbox, uidvalidity, uid) was applied before: nothing done.
    AlreadySeen,
    /// A greeting to `email` bounced; `suppressed` when the address is now
    /// kept out of future runs (a permanent failure, or the policy's
    /// temporary ones).
    Bounced { email: String, suppressed: bool },
    /// `email` is on the suppression list now (a reply asking to stop).
    Unsubscribed { email: String },
    /// An auto-reply (or a report that a message was delivered).
    Ignored,
    /// A person wrote: left for the owner.
    Replied { from: String },
    /// A bounce or a request to stop that names no greeting and no address
    /// greet has greeted: nothing done (a stranger cannot unsubscribe
    /// someone else).
    Unmatched,
}

/// Whether a greeting the ledger has in `state` may be handed to a
/// transport now: `deferred` always, `uncertain` only when asked
/// (`--retry-uncertain`), `sending`, `sent` and `failed` never. The one rule
/// both [`crate::pipeline::disposition`] and [`Ledger::settle`] apply.
pub fn may_go_again(state: State, retry_uncertain: bool) -> bool {
    match state {
        State::Deferred => true,
        State::Uncertain => retry_uncertain,
        State::Sending | State::Sent | State::Failed | State::Bounced | State::Spaced => false,
    }
}

impl State {
    /// The message went to the customer, or may have: it counts against
    /// the spacing of the greetings around it.
    pub fn went_out(self) -> bool {
        matches!(
            self,
            State::Sent | State::Bounced | State::Uncertain | State::Sending
        )
    }
}

/// A greeting of a dated occasion the ledger has for a customer (what
/// [`View::around`] finds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Near {
    pub occasion: String,
    pub day: chrono::NaiveDate,
    pub state: State,
}

/// The ledger's greetings to `customer` whose day (their occurrence, for a
/// dated occasion) is from `from` to `to`, both included: one range scan
/// of the (customer, occurrence) index. Campaigns (occurrence `2026`) are
/// never among them.
fn around(
    conn: &Connection,
    customer: &str,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> anyhow::Result<Vec<Near>> {
    let mut stmt = conn.prepare_cached(
        "SELECT occasion, occurrence, state FROM greetings
         WHERE customer = ?1 AND occurrence BETWEEN ?2 AND ?3 AND length(occurrence) = 10",
    )?;
    let rows = stmt.query_map(params![customer, from.to_string(), to.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (occasion, occurrence, state) = row?;
        let (Ok(day), Some(state)) = (
            occurrence.parse::<chrono::NaiveDate>(),
            State::parse(&state),
        ) else {
            continue;
        };
        out.push(Near {
            occasion,
            day,
            state,
        });
    }
    Ok(out)
}

/// A read-only view of the ledger for the rendering workers of `preview`,
/// `check` and `send`: the state of a greeting, and the unsubscribed
/// addresses. Lookups go to SQLite only for occasions the ledger has rows
/// of, so a first run never waits on it; memory holds the suppression list
/// and nothing per greeting.
pub struct View {
    conn: Option<std::sync::Mutex<Connection>>,
    /// The ledger's schema (an older one is read as it is).
    schema: i32,
    occasions: std::collections::HashSet<String>,
    suppressed: std::collections::HashMap<String, Suppression>,
}

impl View {
    /// No ledger yet: nothing greeted, nobody unsubscribed.
    pub fn empty() -> View {
        View {
            conn: None,
            schema: SCHEMA_VERSION,
            occasions: Default::default(),
            suppressed: Default::default(),
        }
    }

    /// The ledger at `path` if it exists (never created here).
    pub fn open(path: &Path) -> anyhow::Result<View> {
        if !path.exists() {
            return Ok(View::empty());
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("cannot open the ledger {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let occasions = conn
            .prepare("SELECT DISTINCT occasion FROM greetings")?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<_, _>>()?;
        let suppressed = suppressions(&conn)?
            .into_iter()
            .map(|s| (suppression_key(&s.email), s))
            .collect();
        Ok(View {
            schema: schema_of(&conn)?,
            conn: Some(std::sync::Mutex::new(conn)),
            occasions,
            suppressed,
        })
    }

    pub fn state(&self, key: &GreetingKey) -> anyhow::Result<Option<State>> {
        let Some(conn) = &self.conn else {
            return Ok(None);
        };
        if !self.occasions.contains(&key.occasion) {
            return Ok(None);
        }
        let conn = conn
            .lock()
            .map_err(|_| anyhow::anyhow!("the ledger view was poisoned"))?;
        state_of(&conn, key)
    }

    pub fn is_suppressed(&self, email: &str) -> bool {
        self.suppression(email).is_some()
    }

    /// The greetings to `customer` of the days `from` to `to` (spacing).
    pub fn around(
        &self,
        customer: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> anyhow::Result<Vec<Near>> {
        let Some(conn) = &self.conn else {
            return Ok(Vec::new());
        };
        if self.occasions.is_empty() {
            return Ok(Vec::new());
        }
        let conn = conn
            .lock()
            .map_err(|_| anyhow::anyhow!("the ledger view was poisoned"))?;
        if self.schema < 3 {
            // An older ledger, before a run of this build migrated it: no
            // index by customer, so one primary-key range per occasion.
            return around_unindexed(&conn, &self.occasions, customer, from, to);
        }
        around(&conn, customer, from, to)
    }

    /// Why this address is kept out, if it is.
    pub fn suppression(&self, email: &str) -> Option<&Suppression> {
        if self.suppressed.is_empty() {
            return None;
        }
        self.suppressed.get(&suppression_key(email))
    }
}

fn state_of(conn: &Connection, key: &GreetingKey) -> anyhow::Result<Option<State>> {
    let s: Option<String> = conn
        .prepare_cached(
            "SELECT state FROM greetings WHERE occasion = ?1 AND customer = ?2 AND occurrence = ?3",
        )?
        .query_row(params![key.occasion, key.customer, key.occurrence], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(s.as_deref().and_then(State::parse))
}

/// [`around`] on a ledger of schema 1 or 2, opened read-only (`preview`
/// before any run of this build): the same answer through the primary
/// key, one lookup per occasion.
fn around_unindexed(
    conn: &Connection,
    occasions: &std::collections::HashSet<String>,
    customer: &str,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> anyhow::Result<Vec<Near>> {
    let mut out = Vec::new();
    for occasion in occasions {
        let mut stmt = conn.prepare_cached(
            "SELECT occurrence, state FROM greetings
             WHERE occasion = ?1 AND customer = ?2 AND occurrence BETWEEN ?3 AND ?4 AND length(occurrence) = 10",
        )?;
        let rows = stmt.query_map(
            params![occasion, customer, from.to_string(), to.to_string()],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )?;
        for row in rows {
            let (occurrence, state) = row?;
            if let (Ok(day), Some(state)) = (occurrence.parse(), State::parse(&state)) {
                out.push(Near {
                    occasion: occasion.clone(),
                    day,
                    state,
                });
            }
        }
    }
    Ok(out)
}

/// Schema 1: greetings, the suppression list, meta.
const SCHEMA_1: &str = "
    CREATE TABLE greetings (
        occasion   TEXT NOT NULL,
        customer   TEXT NOT NULL,
        occurrence TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('sending','sent','failed','deferred','uncertain')),
        recipient  TEXT NOT NULL,
        message_id TEXT NOT NULL,
        reply      TEXT,
        attempts   INTEGER NOT NULL DEFAULT 1,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
        PRIMARY KEY (occasion, customer, occurrence)
    );
    CREATE INDEX greetings_by_state ON greetings(state);
    CREATE TABLE suppressed (
        email    TEXT PRIMARY KEY,
        added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

/// Schema 1 → 2 (`greet inbox`): the state `bounced` with the notice's
/// status, diagnostic and time (a CHECK changes only by rebuilding the
/// table: copied row for row), reasons on the suppression list (NULL: added
/// by the owner before reasons were kept), the temporary failures counted
/// for the bounce policy, and the messages of the mailbox already applied.
const SCHEMA_2: &str = "
    CREATE TABLE greetings_v2 (
        occasion   TEXT NOT NULL,
        customer   TEXT NOT NULL,
        occurrence TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('sending','sent','failed','deferred','uncertain','bounced')),
        recipient  TEXT NOT NULL,
        message_id TEXT NOT NULL,
        reply      TEXT,
        attempts   INTEGER NOT NULL DEFAULT 1,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
        bounce_status     TEXT,
        bounce_diagnostic TEXT,
        bounced_at        TEXT,
        PRIMARY KEY (occasion, customer, occurrence)
    );
    INSERT INTO greetings_v2 (occasion, customer, occurrence, state, recipient, message_id, reply, attempts, updated_at)
        SELECT occasion, customer, occurrence, state, recipient, message_id, reply, attempts, updated_at FROM greetings;
    DROP TABLE greetings;
    ALTER TABLE greetings_v2 RENAME TO greetings;
    CREATE INDEX greetings_by_state ON greetings(state);
    CREATE INDEX greetings_by_message_id ON greetings(message_id);
    CREATE INDEX greetings_by_recipient ON greetings(recipient COLLATE NOCASE);
    ALTER TABLE suppressed ADD COLUMN reason TEXT
        CHECK (reason IS NULL OR reason IN ('unsubscribed','unsubscribe-reply','bounced'));
    ALTER TABLE suppressed ADD COLUMN detail TEXT;
    CREATE TABLE bounces (
        email      TEXT NOT NULL,
        message_id TEXT,
        status     TEXT NOT NULL,
        permanent  INTEGER NOT NULL,
        diagnostic TEXT NOT NULL,
        at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
    );
    CREATE INDEX bounces_by_email ON bounces(email, at);
    CREATE TABLE inbox_seen (
        mailbox     TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uid         INTEGER NOT NULL,
        message_id  TEXT,
        verdict     TEXT NOT NULL,
        seen_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
        PRIMARY KEY (mailbox, uidvalidity, uid)
    );
    CREATE INDEX inbox_seen_by_message_id ON inbox_seen(message_id);
";

/// Schema 2 → 3 (spacing): the state `spaced` (the CHECK again: the table
/// is rebuilt, row for row) and the index by (customer, occurrence).
const SCHEMA_3: &str = "
    CREATE TABLE greetings_v3 (
        occasion   TEXT NOT NULL,
        customer   TEXT NOT NULL,
        occurrence TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('sending','sent','failed','deferred','uncertain','bounced','spaced')),
        recipient  TEXT NOT NULL,
        message_id TEXT NOT NULL,
        reply      TEXT,
        attempts   INTEGER NOT NULL DEFAULT 1,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
        bounce_status     TEXT,
        bounce_diagnostic TEXT,
        bounced_at        TEXT,
        PRIMARY KEY (occasion, customer, occurrence)
    );
    INSERT INTO greetings_v3 SELECT occasion, customer, occurrence, state, recipient, message_id, reply,
        attempts, updated_at, bounce_status, bounce_diagnostic, bounced_at FROM greetings;
    DROP TABLE greetings;
    ALTER TABLE greetings_v3 RENAME TO greetings;
    CREATE INDEX greetings_by_state ON greetings(state);
    CREATE INDEX greetings_by_message_id ON greetings(message_id);
    CREATE INDEX greetings_by_recipient ON greetings(recipient COLLATE NOCASE);
    CREATE INDEX greetings_by_customer ON greetings(customer, occurrence);
";

/// Schema 3 → 4 (gift codes): the code a greeting carried, the last day it
/// can be redeemed, and when it was (NULL: not yet). Written with the
/// reservation, so a greeting whose delivery is uncertain still has its code
/// on record; a gift counts as given only once its greeting is sent.
const SCHEMA_4: &str = "
    ALTER TABLE greetings ADD COLUMN gift_code TEXT;
    ALTER TABLE greetings ADD COLUMN gift_valid_until TEXT;
    ALTER TABLE greetings ADD COLUMN gift_redeemed_at TEXT;
    CREATE INDEX greetings_by_gift ON greetings(gift_code) WHERE gift_code IS NOT NULL;
";

/// Bring the ledger's schema up to [`SCHEMA_VERSION`]: every step in one
/// transaction, so a ledger is either as it was or fully migrated; the
/// version is read again inside it, so two runs opening an old ledger at
/// once migrate it once.
fn migrate(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    let newer = |version: i32| {
        anyhow::anyhow!(
            "{}: the ledger was written by a newer greet (schema {version}, this one knows {SCHEMA_VERSION}); upgrade greet",
            path.display()
        )
    };
    let version: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    if version > SCHEMA_VERSION {
        return Err(newer(version));
    }
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let version: i32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(newer(version));
    }
    if version < 1 {
        tx.execute_batch(SCHEMA_1)?;
    }
    if version < 2 {
        tx.execute_batch(SCHEMA_2)
            .with_context(|| format!("cannot bring {} to schema 2", path.display()))?;
    }
    if version < 3 {
        tx.execute_batch(SCHEMA_3)
            .with_context(|| format!("cannot bring {} to schema 3", path.display()))?;
    }
    if version < 4 {
        tx.execute_batch(SCHEMA_4)
            .with_context(|| format!("cannot bring {} to schema 4", path.display()))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// The schema of a ledger opened read-only (it may predate this build).
fn schema_of(conn: &Connection) -> anyhow::Result<i32> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// The suppression list, keyed by [`suppression_key`].
fn suppressions(conn: &Connection) -> anyhow::Result<Vec<Suppression>> {
    let sql = if schema_of(conn)? >= 2 {
        "SELECT email, reason, detail, added_at FROM suppressed ORDER BY added_at DESC, email"
    } else {
        "SELECT email, NULL, NULL, added_at FROM suppressed ORDER BY added_at DESC, email"
    };
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| {
        let reason: Option<String> = r.get(1)?;
        Ok(Suppression {
            email: r.get(0)?,
            reason: reason.as_deref().and_then(Reason::parse),
            detail: r.get(2)?,
            added_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The greetings that carried `code` (compact form), sent ones first.
fn gift_entries(conn: &Connection, code: &str) -> anyhow::Result<Vec<GiftEntry>> {
    if schema_of(conn)? < 4 {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT occasion, customer, occurrence, state, recipient, gift_valid_until, updated_at, gift_redeemed_at
         FROM greetings WHERE gift_code = ?1
         ORDER BY state <> 'sent', updated_at DESC",
    )?;
    let rows = stmt.query_map(params![code], |r| {
        let state: String = r.get(3)?;
        Ok(GiftEntry {
            key: GreetingKey {
                occasion: r.get(0)?,
                customer: r.get(1)?,
                occurrence: r.get(2)?,
            },
            state: State::parse(&state).unwrap_or(State::Uncertain),
            recipient: r.get(4)?,
            valid_until: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            updated_at: r.get(6)?,
            redeemed_at: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The greeting to reserve in [`Ledger::settle`].
#[derive(Debug, Clone, Copy)]
pub struct Next<'a> {
    pub key: &'a GreetingKey,
    pub recipient: &'a str,
    pub message_id: &'a str,
    pub retry_uncertain: bool,
    /// The gift code the message carries, recorded with it.
    pub gift: Option<&'a GiftRecord>,
}

/// A gift code as a greeting carries it: recorded with the reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftRecord {
    /// The 11 characters, without dashes.
    pub code: String,
    /// The last day it can be redeemed (`2026-04-13`).
    pub valid_until: String,
}

/// A greeting that carried a gift code, as `greet gift` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftEntry {
    pub key: GreetingKey,
    pub state: State,
    pub recipient: String,
    pub valid_until: String,
    /// When the greeting was last handed over or recorded (UTC).
    pub updated_at: String,
    /// When the gift was redeemed (UTC), if it was.
    pub redeemed_at: Option<String>,
}

impl GiftEntry {
    /// Whether the code went out to the customer: sent (or bounced after
    /// being sent), or maybe sent (a run died while handing it over). A code
    /// of a failed, deferred or previewed greeting was never given.
    pub fn given(&self) -> bool {
        matches!(
            self.state,
            State::Sent | State::Bounced | State::Uncertain | State::Sending
        )
    }
}

/// What `redeem_gift` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeem {
    /// Marked redeemed now.
    Redeemed(GiftEntry),
    /// No greeting carried this code.
    Unknown,
    /// Its greeting was never sent (failed or deferred).
    NotGiven(GiftEntry),
    /// Past its last day.
    Expired(GiftEntry),
    /// Redeemed before (the entry says when).
    Already(GiftEntry),
}

/// Another run holds the lock on this ledger.
#[derive(Debug, thiserror::Error)]
#[error("another greet run is using {0} right now; try again when it has finished")]
pub struct Busy(pub PathBuf);

pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    lock: Option<File>,
}

impl Ledger {
    /// Open (or create) the ledger and bring its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Ledger> {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the ledger {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrate(&conn, path)?;
        Ok(Ledger {
            conn,
            path: path.to_path_buf(),
            lock: None,
        })
    }

    /// Open an existing ledger to read only (for `preview`).
    pub fn open_read_only(path: &Path) -> anyhow::Result<Ledger> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("cannot open the ledger {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Ledger {
            conn,
            path: path.to_path_buf(),
            lock: None,
        })
    }

    /// Take the run lock (a lock on `<ledger>.lock`), refusing at once if
    /// another run holds it; then turn rows a dead run left `sending` into
    /// `uncertain`. Returns how many rows became uncertain.
    pub fn lock(&mut self) -> anyhow::Result<usize> {
        let lock_path = self.path.with_extension("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot create {}", lock_path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Busy(self.path.clone()).into()),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()));
            }
        }
        self.lock = Some(file);
        let n = self.conn.execute(
            "UPDATE greetings SET state = 'uncertain', updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')
             WHERE state = 'sending'",
            [],
        )?;
        Ok(n)
    }

    /// The state of a greeting, if the ledger has it.
    pub fn state(&self, key: &GreetingKey) -> anyhow::Result<Option<State>> {
        state_of(&self.conn, key)
    }

    /// Reserve a greeting for sending, committed before anything goes out.
    /// New and `deferred` greetings go; `uncertain` ones only when
    /// `retry_uncertain`; `sent` and `failed` never.
    pub fn reserve(
        &self,
        key: &GreetingKey,
        recipient: &str,
        message_id: &str,
        retry_uncertain: bool,
    ) -> anyhow::Result<Reservation> {
        let next = Next {
            key,
            recipient,
            message_id,
            retry_uncertain,
            gift: None,
        };
        Ok(self
            .settle(None, Some(next))?
            .expect("a reservation was asked for"))
    }

    /// Record what the transport said about a reserved greeting.
    pub fn record(&self, key: &GreetingKey, outcome: &Outcome) -> anyhow::Result<()> {
        self.settle(Some((key, outcome)), None).map(|_| ())
    }

    /// In one transaction, one durable commit: record the outcome of the
    /// message just handed over (`done`) and reserve the next one (`next`).
    /// A crash before the commit leaves `done` in `sending` — uncertain on
    /// the next run — and `next` untouched: never more than one message in
    /// doubt.
    pub fn settle(
        &self,
        done: Option<(&GreetingKey, &Outcome)>,
        next: Option<Next<'_>>,
    ) -> anyhow::Result<Option<Reservation>> {
        anyhow::ensure!(
            self.lock.is_some(),
            "the ledger must be locked before sending"
        );
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        if let Some((key, outcome)) = done {
            let (state, reply) = match outcome {
                Outcome::Sent { reply } => (State::Sent, reply),
                Outcome::Failed { reply } => (State::Failed, reply),
                Outcome::Deferred { reply } => (State::Deferred, reply),
                Outcome::Uncertain { reply } => (State::Uncertain, reply),
            };
            let n = tx
                .prepare_cached(
                    "UPDATE greetings SET state = ?4, reply = ?5, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')
                     WHERE occasion = ?1 AND customer = ?2 AND occurrence = ?3 AND state = 'sending'",
                )?
                .execute(params![key.occasion, key.customer, key.occurrence, state.as_str(), reply])?;
            anyhow::ensure!(n == 1, "no greeting being sent for {key:?}");
        }
        let reservation = match next {
            None => None,
            Some(next) => Some(self.reserve_in(&tx, next)?),
        };
        tx.commit()?;
        Ok(reservation)
    }

    fn reserve_in(&self, tx: &Connection, next: Next<'_>) -> anyhow::Result<Reservation> {
        let Next {
            key,
            recipient,
            message_id,
            retry_uncertain,
            gift,
        } = next;
        let (gift_code, gift_valid_until) = match gift {
            Some(g) => (Some(g.code.as_str()), Some(g.valid_until.as_str())),
            None => (None, None),
        };
        let inserted = tx
            .prepare_cached(
                "INSERT INTO greetings (occasion, customer, occurrence, state, recipient, message_id, gift_code, gift_valid_until)
                 VALUES (?1, ?2, ?3, 'sending', ?4, ?5, ?6, ?7)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                key.occasion,
                key.customer,
                key.occurrence,
                recipient,
                message_id,
                gift_code,
                gift_valid_until
            ])?;
        if inserted == 1 {
            return Ok(Reservation::Go);
        }
        let state = state_of(tx, key)?.unwrap_or(State::Uncertain);
        if !may_go_again(state, retry_uncertain) {
            return Ok(Reservation::Skip(state));
        }
        // A resend keeps the Message-ID of the first attempt, and records
        // the gift code the message carries now (the same, while the shop's
        // secret is the same: it is made from the greeting's key).
        tx.prepare_cached(
            "UPDATE greetings SET state = 'sending', attempts = attempts + 1, recipient = ?4,
                 gift_code = ?5, gift_valid_until = ?6,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')
             WHERE occasion = ?1 AND customer = ?2 AND occurrence = ?3",
        )?
        .execute(params![
            key.occasion,
            key.customer,
            key.occurrence,
            recipient,
            gift_code,
            gift_valid_until
        ])?;
        Ok(Reservation::Go)
    }

    /// Keep a greeting that is spaced out ([`crate::spacing`]) as `spaced`,
    /// with `why` (the greeting it gave way to) as its reply: a new row, or
    /// a `deferred` one that will now not be retried. Returns whether the
    /// ledger changed (a greeting it has in any other state is left alone).
    pub fn record_spaced(
        &self,
        key: &GreetingKey,
        recipient: &str,
        why: &str,
    ) -> anyhow::Result<bool> {
        anyhow::ensure!(
            self.lock.is_some(),
            "the ledger must be locked before sending"
        );
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO greetings (occasion, customer, occurrence, state, recipient, message_id, reply, attempts)
                 VALUES (?1, ?2, ?3, 'spaced', ?4, '', ?5, 0)
                 ON CONFLICT (occasion, customer, occurrence) DO UPDATE
                   SET state = 'spaced', reply = excluded.reply,
                       updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')
                   WHERE state = 'deferred'",
            )?
            .execute(params![
                key.occasion,
                key.customer,
                key.occurrence,
                recipient,
                why
            ])?;
        Ok(n == 1)
    }

    /// The greetings to `customer` of the days `from` to `to` (spacing).
    pub fn around(
        &self,
        customer: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> anyhow::Result<Vec<Near>> {
        around(&self.conn, customer, from, to)
    }

    /// How many greetings went to the transport in the last 24 hours — sent,
    /// or maybe sent — which is what counts against an account's daily
    /// limit, whichever run sent them.
    pub fn handed_in_last_day(&self) -> anyhow::Result<usize> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM greetings
             WHERE state IN ('sent', 'uncertain', 'sending', 'bounced')
               AND updated_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 day')",
            [],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The Message-ID recorded for a greeting (a resend reuses it).
    pub fn message_id(&self, key: &GreetingKey) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT message_id FROM greetings WHERE occasion = ?1 AND customer = ?2 AND occurrence = ?3",
                params![key.occasion, key.customer, key.occurrence],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Every greeting, newest first, optionally of one occasion.
    pub fn history(&self, occasion: Option<&str>) -> anyhow::Result<Vec<Entry>> {
        let schema = schema_of(&self.conn)?;
        let sql = if schema >= 4 {
            "SELECT occasion, customer, occurrence, state, recipient, message_id, reply, attempts, updated_at,
                    bounce_status, bounce_diagnostic, bounced_at, gift_code, gift_redeemed_at
             FROM greetings WHERE ?1 IS NULL OR occasion = ?1
             ORDER BY updated_at DESC, occasion, customer"
        } else if schema >= 2 {
            "SELECT occasion, customer, occurrence, state, recipient, message_id, reply, attempts, updated_at,
                    bounce_status, bounce_diagnostic, bounced_at, NULL, NULL
             FROM greetings WHERE ?1 IS NULL OR occasion = ?1
             ORDER BY updated_at DESC, occasion, customer"
        } else {
            "SELECT occasion, customer, occurrence, state, recipient, message_id, reply, attempts, updated_at,
                    NULL, NULL, NULL, NULL, NULL
             FROM greetings WHERE ?1 IS NULL OR occasion = ?1
             ORDER BY updated_at DESC, occasion, customer"
        };
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(params![occasion], |r| {
            let state: String = r.get(3)?;
            let status: Option<String> = r.get(9)?;
            let bounce = match status {
                Some(status) => Some(BounceNote {
                    status,
                    diagnostic: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
                    at: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
                }),
                None => None,
            };
            Ok(Entry {
                key: GreetingKey {
                    occasion: r.get(0)?,
                    customer: r.get(1)?,
                    occurrence: r.get(2)?,
                },
                state: State::parse(&state).unwrap_or(State::Uncertain),
                recipient: r.get(4)?,
                message_id: r.get(5)?,
                reply: r.get(6)?,
                attempts: r.get(7)?,
                updated_at: r.get(8)?,
                bounce,
                gift: match r.get::<_, Option<String>>(12)? {
                    Some(code) => Some((code, r.get(13)?)),
                    None => None,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The greetings that carried this gift code (one, unless two keys
    /// ever shared a code: 29¹⁰ codes make that vanishingly rare).
    pub fn gift(&self, code: &str) -> anyhow::Result<Vec<GiftEntry>> {
        gift_entries(&self.conn, code)
    }

    /// Mark a gift redeemed, once: refused if no sent greeting carried it,
    /// if `today` is past its last day, or if it was redeemed before. The
    /// check and the mark are one transaction, so two tills redeeming the
    /// same code at once redeem it once.
    pub fn redeem_gift(&self, code: &str, today: &str) -> anyhow::Result<Redeem> {
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        let entries = gift_entries(&tx, code)?;
        // A sent greeting's code first, if ever two carried it.
        let Some(entry) = entries
            .iter()
            .find(|e| e.given())
            .or_else(|| entries.first())
            .cloned()
        else {
            return Ok(Redeem::Unknown);
        };
        if entry.redeemed_at.is_some() {
            return Ok(Redeem::Already(entry));
        }
        if !entry.given() {
            return Ok(Redeem::NotGiven(entry));
        }
        if entry.valid_until.as_str() < today {
            return Ok(Redeem::Expired(entry));
        }
        let n = tx.execute(
            "UPDATE greetings SET gift_redeemed_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')
             WHERE occasion = ?1 AND customer = ?2 AND occurrence = ?3 AND gift_code = ?4
               AND gift_redeemed_at IS NULL",
            params![
                entry.key.occasion,
                entry.key.customer,
                entry.key.occurrence,
                code
            ],
        )?;
        anyhow::ensure!(
            n == 1,
            "the gift {code} changed while it was being redeemed"
        );
        let redeemed = gift_entries(&tx, code)?
            .into_iter()
            .find(|e| e.key == entry.key)
            .unwrap_or(entry);
        tx.commit()?;
        Ok(Redeem::Redeemed(redeemed))
    }

    /// The suppression list with the reason for each address, newest first.
    pub fn suppressions(&self) -> anyhow::Result<Vec<Suppression>> {
        suppressions(&self.conn)
    }

    /// Why this address is kept out of future runs, if it is.
    pub fn suppression(&self, email: &str) -> anyhow::Result<Option<Suppression>> {
        let key = suppression_key(email);
        Ok(self
            .suppressions()?
            .into_iter()
            .find(|s| suppression_key(&s.email) == key))
    }

    /// Keep an address out of every future run, whatever the next export
    /// says (`greet unsubscribe`: the reason is the owner's).
    pub fn suppress(&self, email: &str) -> anyhow::Result<bool> {
        suppress_in(&self.conn, email, Reason::Unsubscribed, None)
    }

    pub fn unsuppress(&self, email: &str) -> anyhow::Result<bool> {
        let n = self.conn.execute(
            "DELETE FROM suppressed WHERE email IN (?1, ?2)",
            params![suppression_key(email), email.trim().to_lowercase()],
        )?;
        Ok(n == 1)
    }

    pub fn is_suppressed(&self, email: &str) -> anyhow::Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM suppressed WHERE email IN (?1, ?2) LIMIT 1",
                params![suppression_key(email), email.trim().to_lowercase()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Apply one classified message exactly once: the effect and the
    /// seen-row in ONE transaction; `Ok(Applied::AlreadySeen)` if
    /// (mailbox, uidvalidity, uid) was seen before (nothing done).
    pub fn apply_inbox(
        &mut self,
        mailbox: &str,
        uidvalidity: u32,
        uid: u32,
        verdict: &Verdict,
        policy: &BouncePolicy,
    ) -> anyhow::Result<Applied> {
        self.apply_inbox_with_id(mailbox, uidvalidity, uid, None, verdict, policy)
    }

    /// [`Ledger::apply_inbox`], keeping the message's own Message-ID in the
    /// seen-row (see [`crate::inbox::message_id`]): a message seen before
    /// under another (mailbox, uidvalidity, uid) with the same Message-ID is
    /// recorded as seen here too and not applied again.
    pub fn apply_inbox_with_id(
        &mut self,
        mailbox: &str,
        uidvalidity: u32,
        uid: u32,
        message_id: Option<&str>,
        verdict: &Verdict,
        policy: &BouncePolicy,
    ) -> anyhow::Result<Applied> {
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        let fresh = tx
            .prepare_cached(
                "INSERT INTO inbox_seen (mailbox, uidvalidity, uid, message_id, verdict)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                mailbox,
                uidvalidity,
                uid,
                message_id,
                verdict.code()
            ])?;
        if fresh == 0 {
            return Ok(Applied::AlreadySeen);
        }
        // The same message under another uid (moved to another folder, the
        // folder recreated with a new UIDVALIDITY, delivered twice): seen now
        // here too, applied once.
        if let Some(id) = message_id {
            let before: i64 = tx
                .prepare_cached("SELECT count(*) FROM inbox_seen WHERE message_id = ?1")?
                .query_row(params![id], |r| r.get(0))?;
            if before > 1 {
                tx.commit()?;
                return Ok(Applied::AlreadySeen);
            }
        }
        let applied = match verdict {
            Verdict::Bounce(b) => apply_bounce(&tx, b, policy)?,
            Verdict::Unsubscribe { from, token } => {
                let by_token = match token {
                    Some(t) => greeting_by_token(&tx, t)?.map(|g| g.recipient),
                    None => None,
                };
                let email = match by_token {
                    Some(e) => Some(e),
                    None => greeted_address(&tx, from)?,
                };
                match email {
                    Some(email) => {
                        let detail = token.clone().unwrap_or_else(|| from.clone());
                        suppress_in(&tx, &email, Reason::UnsubscribeReply, Some(&detail))?;
                        Applied::Unsubscribed { email }
                    }
                    None => Applied::Unmatched,
                }
            }
            Verdict::AutoReply => Applied::Ignored,
            Verdict::Reply { from } => Applied::Replied { from: from.clone() },
        };
        tx.commit()?;
        Ok(applied)
    }

    /// Whether this message of the mailbox was applied before.
    pub fn inbox_seen(&self, mailbox: &str, uidvalidity: u32, uid: u32) -> anyhow::Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM inbox_seen WHERE mailbox = ?1 AND uidvalidity = ?2 AND uid = ?3",
                params![mailbox, uidvalidity, uid],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The day of the first send ever (set now if this is it): catch-up never
    /// reaches before it.
    /// The day of the first run, if one was recorded (read-only).
    pub fn first_run_recorded(&self) -> anyhow::Result<Option<String>> {
        use rusqlite::OptionalExtension as _;
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'first_run'", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn first_run(&self, today: &str) -> anyhow::Result<String> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('first_run', ?1) ON CONFLICT DO NOTHING",
            params![today],
        )?;
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'first_run'", [], |r| {
                r.get(0)
            })?)
    }

    /// SQLite's own consistency check ("ok" when the file is sound).
    pub fn integrity(&self) -> anyhow::Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// The greeting a bounce or an unsubscribe reply is about.
struct Greeted {
    occasion: String,
    customer: String,
    occurrence: String,
    recipient: String,
    message_id: String,
}

fn greeted_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Greeted> {
    Ok(Greeted {
        occasion: r.get(0)?,
        customer: r.get(1)?,
        occurrence: r.get(2)?,
        recipient: r.get(3)?,
        message_id: r.get(4)?,
    })
}

/// The greeting whose Message-ID has this local part (the unsubscribe
/// token; the domain is not compared: the token alone is the greeting).
fn greeting_by_token(conn: &Connection, token: &str) -> anyhow::Result<Option<Greeted>> {
    if token.is_empty() {
        return Ok(None);
    }
    // `<token@…`: every id from `<token@` up to, not including, `<tokenA`
    // ('A' follows '@'), through the index.
    let from = format!("<{token}@");
    let to = format!("<{token}A");
    Ok(conn
        .prepare_cached(
            "SELECT occasion, customer, occurrence, recipient, message_id FROM greetings
             WHERE message_id >= ?1 AND message_id < ?2
             ORDER BY updated_at DESC LIMIT 1",
        )?
        .query_row(params![from, to], greeted_row)
        .optional()?)
}

/// The most recent greeting sent to this address (compared as the
/// suppression list compares addresses). A spaced greeting was never sent.
fn greeting_to(conn: &Connection, email: &str) -> anyhow::Result<Option<Greeted>> {
    let email = email.trim();
    if email.is_empty() {
        return Ok(None);
    }
    let sql = "SELECT occasion, customer, occurrence, recipient, message_id FROM greetings
               WHERE recipient = ?1 COLLATE NOCASE AND state NOT IN ('sending', 'spaced')
               ORDER BY updated_at DESC LIMIT 1";
    if let Some(g) = conn
        .prepare_cached(sql)?
        .query_row(params![email], greeted_row)
        .optional()?
    {
        return Ok(Some(g));
    }
    // Written differently: a Unicode domain or its A-label. (A plain ASCII
    // address differs from the ledger's only in case, which SQL compared.)
    if email.is_ascii() && !email.to_ascii_lowercase().contains("xn--") {
        return Ok(None);
    }
    let key = suppression_key(email);
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT recipient FROM greetings
         WHERE recipient GLOB '*[^ -~]*' OR recipient LIKE '%xn--%'",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let recipient: String = row.get(0)?;
        if suppression_key(&recipient) == key {
            return Ok(conn
                .prepare_cached(sql)?
                .query_row(params![recipient], greeted_row)
                .optional()?);
        }
    }
    Ok(None)
}

/// The address as greet greeted it, if greet ever greeted it.
fn greeted_address(conn: &Connection, email: &str) -> anyhow::Result<Option<String>> {
    Ok(greeting_to(conn, email)?.map(|g| g.recipient))
}

/// Add an address to the suppression list (kept as [`suppression_key`]);
/// an address already there keeps its first reason. True if added.
fn suppress_in(
    conn: &Connection,
    email: &str,
    reason: Reason,
    detail: Option<&str>,
) -> anyhow::Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT INTO suppressed (email, reason, detail) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )?
        .execute(params![suppression_key(email), reason.as_str(), detail])?;
    Ok(n == 1)
}

/// A bounce: the greeting it is about (by the bounced message's id, else
/// the latest greeting to its recipient) becomes `bounced` with the
/// status and diagnostic; a permanent failure suppresses the address, and
/// so do `soft_limit` greetings failing temporarily within `soft_days`.
fn apply_bounce(conn: &Connection, b: &Bounce, policy: &BouncePolicy) -> anyhow::Result<Applied> {
    let by_id = match b
        .original_message_id
        .as_deref()
        .and_then(crate::inbox::token_of)
    {
        Some(token) => greeting_by_token(conn, token)?,
        None => None,
    };
    let greeting = match by_id {
        Some(g) => Some(g),
        None => match b.recipient.as_deref() {
            Some(r) => greeting_to(conn, r)?,
            None => None,
        },
    };
    let Some(g) = greeting else {
        return Ok(Applied::Unmatched);
    };
    // A row a run is sending right now keeps its state (the run settles it);
    // the notice is kept all the same. `updated_at` stays the time it was
    // sent: it is what the daily limit counts.
    conn.prepare_cached(
        "UPDATE greetings SET
             state = CASE WHEN state = 'sending' THEN state ELSE 'bounced' END,
             bounce_status = ?4, bounce_diagnostic = ?5,
             bounced_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')
         WHERE occasion = ?1 AND customer = ?2 AND occurrence = ?3",
    )?
    .execute(params![
        g.occasion,
        g.customer,
        g.occurrence,
        b.status,
        b.diagnostic
    ])?;
    let key = suppression_key(&g.recipient);
    conn.prepare_cached(
        "INSERT INTO bounces (email, message_id, status, permanent, diagnostic) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![key, g.message_id, b.status, b.permanent, b.diagnostic])?;
    let suppressed = if b.permanent {
        suppress_in(conn, &g.recipient, Reason::Bounced, Some(&b.status))?;
        true
    } else if policy.soft_limit > 0 {
        let failures: i64 = conn
            .prepare_cached(
                "SELECT count(DISTINCT coalesce(message_id, rowid)) FROM bounces
                 WHERE email = ?1 AND permanent = 0
                   AND at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?2)",
            )?
            .query_row(params![key, format!("-{} days", policy.soft_days)], |r| {
                r.get(0)
            })?;
        if failures >= i64::from(policy.soft_limit) {
            suppress_in(conn, &g.recipient, Reason::Bounced, Some(&b.status))?;
            true
        } else {
            false
        }
    } else {
        false
    };
    Ok(Applied::Bounced {
        email: g.recipient,
        suppressed,
    })
}

/// How an unsubscribed address is kept and compared: normalised as the list
/// reads addresses (invisible characters removed, NFKC), the domain as
/// an A-label (`παράδειγμα.ελ` and `xn--hxajbheg2az3al.xn--qxam` are one
/// domain), case-folded like customer keys.
pub fn suppression_key(email: &str) -> String {
    let normalised = crate::customer::email::normalise(email);
    crate::message::ascii_address(&normalised.address).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(customer: &str) -> GreetingKey {
        GreetingKey {
            occasion: "birthday".into(),
            customer: customer.into(),
            occurrence: "2026-03-14".into(),
        }
    }

    fn locked(dir: &tempfile::TempDir) -> Ledger {
        let mut l = Ledger::open(&dir.path().join("greet-ledger.sqlite")).unwrap();
        l.lock().unwrap();
        l
    }

    #[test]
    fn a_greeting_is_reserved_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let l = locked(&dir);
        assert_eq!(
            l.reserve(&key("C1"), "a@x.gr", "<1@x>", false).unwrap(),
            Reservation::Go
        );
        l.record(
            &key("C1"),
            &Outcome::Sent {
                reply: "250 ok".into(),
            },
        )
        .unwrap();
        assert_eq!(
            l.reserve(&key("C1"), "a@x.gr", "<1@x>", true).unwrap(),
            Reservation::Skip(State::Sent)
        );
        assert_eq!(l.history(None).unwrap()[0].reply.as_deref(), Some("250 ok"));
    }

    #[test]
    fn a_gift_counts_once_its_greeting_is_sent_and_is_redeemed_once_within_its_days() {
        let dir = tempfile::tempdir().unwrap();
        let l = locked(&dir);
        let gift = |c: &str| GiftRecord {
            code: format!("CODE{c}"),
            valid_until: "2026-04-13".into(),
        };
        let outcomes = [
            (
                "S",
                Some(Outcome::Sent {
                    reply: "250 ok".into(),
                }),
            ),
            (
                "F",
                Some(Outcome::Failed {
                    reply: "550 no".into(),
                }),
            ),
            (
                "D",
                Some(Outcome::Deferred {
                    reply: "451 later".into(),
                }),
            ),
            (
                "U",
                Some(Outcome::Uncertain {
                    reply: "lost".into(),
                }),
            ),
            // Reserved and never recorded: a run that died mid-handover.
            ("R", None),
        ];
        for (c, outcome) in &outcomes {
            let g = gift(c);
            l.settle(
                None,
                Some(Next {
                    key: &key(c),
                    recipient: "a@x.gr",
                    message_id: "<1@x>",
                    retry_uncertain: false,
                    gift: Some(&g),
                }),
            )
            .unwrap();
            if let Some(o) = outcome {
                l.record(&key(c), o).unwrap();
            }
        }
        let today = "2026-03-20";
        assert_eq!(l.redeem_gift("NOSUCH", today).unwrap(), Redeem::Unknown);
        for c in ["F", "D"] {
            assert!(
                matches!(l.redeem_gift(&format!("CODE{c}"), today).unwrap(), Redeem::NotGiven(e) if e.key == key(c)),
                "{c}"
            );
        }
        // Past its last day, refused, and still redeemable on that day.
        assert!(matches!(
            l.redeem_gift("CODES", "2026-04-14").unwrap(),
            Redeem::Expired(_)
        ));
        for c in ["S", "U", "R"] {
            let code = format!("CODE{c}");
            let first = l.redeem_gift(&code, "2026-04-13").unwrap();
            let Redeem::Redeemed(e) = first else {
                panic!("{c}: {first:?}")
            };
            assert!(e.redeemed_at.is_some());
            let again = l.redeem_gift(&code, today).unwrap();
            assert!(
                matches!(&again, Redeem::Already(a) if a.redeemed_at == e.redeemed_at),
                "{c}: {again:?}"
            );
        }
        // A deferred greeting sent later carries its code, now given.
        let g = gift("D");
        l.settle(
            None,
            Some(Next {
                key: &key("D"),
                recipient: "a@x.gr",
                message_id: "<1@x>",
                retry_uncertain: false,
                gift: Some(&g),
            }),
        )
        .unwrap();
        l.record(
            &key("D"),
            &Outcome::Sent {
                reply: "250 ok".into(),
            },
        )
        .unwrap();
        assert!(matches!(
            l.redeem_gift("CODED", today).unwrap(),
            Redeem::Redeemed(_)
        ));
        let e = &l.gift("CODED").unwrap()[0];
        assert_eq!(
            (e.state, e.valid_until.as_str()),
            (State::Sent, "2026-04-13")
        );
    }

    #[test]
    fn deferred_goes_again_failed_never() {
        let dir = tempfile::tempdir().unwrap();
        let l = locked(&dir);
        for (c, outcome) in [
            (
                "D",
                Outcome::Deferred {
                    reply: "451 later".into(),
                },
            ),
            (
                "F",
                Outcome::Failed {
                    reply: "550 5.1.1 no such user".into(),
                },
            ),
        ] {
            l.reserve(&key(c), "a@x.gr", "<1@x>", false).unwrap();
            l.record(&key(c), &outcome).unwrap();
        }
        assert_eq!(
            l.reserve(&key("D"), "a@x.gr", "<1@x>", false).unwrap(),
            Reservation::Go
        );
        assert_eq!(
            l.reserve(&key("F"), "a@x.gr", "<1@x>", true).unwrap(),
            Reservation::Skip(State::Failed)
        );
        let d = l
            .history(None)
            .unwrap()
            .into_iter()
            .find(|e| e.key.customer == "D")
            .unwrap();
        assert_eq!((d.state, d.attempts), (State::Sending, 2));
    }

    #[test]
    fn rows_a_dead_run_left_sending_become_uncertain_and_are_resent_only_on_request() {
        let dir = tempfile::tempdir().unwrap();
        {
            let l = locked(&dir);
            l.reserve(&key("C1"), "a@x.gr", "<first@x>", false).unwrap();
            // the run dies here: no record()
        }
        let mut l = Ledger::open(&dir.path().join("greet-ledger.sqlite")).unwrap();
        assert_eq!(l.lock().unwrap(), 1);
        assert_eq!(l.state(&key("C1")).unwrap(), Some(State::Uncertain));
        assert_eq!(
            l.reserve(&key("C1"), "a@x.gr", "<second@x>", false)
                .unwrap(),
            Reservation::Skip(State::Uncertain)
        );
        assert_eq!(
            l.reserve(&key("C1"), "a@x.gr", "<second@x>", true).unwrap(),
            Reservation::Go
        );
        assert_eq!(
            l.message_id(&key("C1")).unwrap().as_deref(),
            Some("<first@x>")
        );
        assert_eq!(l.integrity().unwrap(), "ok");
    }

    #[test]
    fn a_second_run_is_refused_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("greet-ledger.sqlite");
        let mut first = Ledger::open(&path).unwrap();
        first.lock().unwrap();
        let mut second = Ledger::open(&path).unwrap();
        let err = second.lock().unwrap_err();
        assert!(err.downcast_ref::<Busy>().is_some(), "{err:#}");
        drop(first);
        second.lock().unwrap();
    }

    #[test]
    fn nothing_is_reserved_without_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(&dir.path().join("l.sqlite")).unwrap();
        assert!(l.reserve(&key("C1"), "a@x.gr", "<1@x>", false).is_err());
    }

    #[test]
    fn suppression_survives_reopening_and_ignores_case() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        assert!(
            Ledger::open(&path)
                .unwrap()
                .suppress("Maria@Example.GR")
                .unwrap()
        );
        let l = Ledger::open(&path).unwrap();
        assert!(l.is_suppressed("maria@example.gr").unwrap());
        assert!(l.unsuppress("MARIA@example.gr").unwrap());
        assert!(!l.is_suppressed("maria@example.gr").unwrap());
    }

    #[test]
    fn a_ledger_from_a_newer_greet_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = Ledger::open(&path).err().unwrap();
        assert!(format!("{err:#}").contains("newer greet"), "{err:#}");
    }

    // ------------------------------------------------------------ schema 2 and the inbox

    use crate::inbox::{Bounce, Verdict};

    /// A greeting sent to `to` for `customer` on `day`, as `send` records it.
    fn sent(l: &Ledger, customer: &str, day: &str, to: &str) -> String {
        let k = GreetingKey {
            occasion: "birthday".into(),
            customer: customer.into(),
            occurrence: day.into(),
        };
        let id = k.message_id("fournos.example.gr");
        l.reserve(&k, to, &id, false).unwrap();
        l.record(
            &k,
            &Outcome::Sent {
                reply: "250 2.0.0 queued".into(),
            },
        )
        .unwrap();
        id
    }

    // ------------------------------------------------------------ schema 3 and spacing

    fn day(s: &str) -> chrono::NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn around_finds_a_customers_dated_greetings_by_the_index_and_never_a_campaign() {
        let dir = tempfile::tempdir().unwrap();
        let l = locked(&dir);
        sent(&l, "C1", "2026-12-28", "a@x.gr");
        sent(&l, "C1", "2026-11-01", "a@x.gr");
        sent(&l, "C2", "2026-12-30", "b@x.gr");
        // A campaign's occurrence is its year: "2027" sorts between the days of the window.
        let campaign = GreetingKey {
            occasion: "new-year".into(),
            customer: "C1".into(),
            occurrence: "2027".into(),
        };
        l.reserve(&campaign, "a@x.gr", "<n@x>", false).unwrap();
        let got = l
            .around("C1", day("2026-12-25"), day("2027-01-03"))
            .unwrap();
        assert_eq!(
            got,
            [Near {
                occasion: "birthday".into(),
                day: day("2026-12-28"),
                state: State::Sent,
            }]
        );
        // One range scan of the (customer, occurrence) index, not the table.
        let plan: Vec<String> = l
            .conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT occasion, occurrence, state FROM greetings
                 WHERE customer = ?1 AND occurrence BETWEEN ?2 AND ?3 AND length(occurrence) = 10",
            )
            .unwrap()
            .query_map(params!["C1", "2026-12-25", "2027-01-03"], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("greetings_by_customer")),
            "{plan:?}"
        );
        // The read-only view answers the same.
        drop(l);
        let view = View::open(&dir.path().join("greet-ledger.sqlite")).unwrap();
        assert_eq!(
            view.around("C1", day("2026-12-25"), day("2027-01-03"))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn around_reads_an_older_ledger_as_it_is() {
        // `preview` before any run of this build: schema 1, no index by customer.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("greet-ledger.sqlite");
        v1_ledger(&path);
        let view = View::open(&path).unwrap();
        assert_eq!(
            view.around("C1", day("2026-03-10"), day("2026-12-31"))
                .unwrap(),
            [Near {
                occasion: "birthday".into(),
                day: day("2026-03-14"),
                state: State::Sent,
            }],
            "the Christmas campaign (2026) is not among them"
        );
        assert!(
            view.around("C2", day("2026-03-15"), day("2026-03-20"))
                .unwrap()
                .is_empty()
        );
        assert_eq!(schema_of(&Connection::open(&path).unwrap()).unwrap(), 1);
    }

    #[test]
    fn a_spaced_greeting_is_kept_once_never_sent_and_replaces_only_a_deferred_one() {
        let dir = tempfile::tempdir().unwrap();
        let l = locked(&dir);
        assert!(
            l.record_spaced(&key("C1"), "a@x.gr", "birthday on 2026-03-13, sent")
                .unwrap()
        );
        assert!(!l.record_spaced(&key("C1"), "a@x.gr", "again").unwrap());
        assert_eq!(l.state(&key("C1")).unwrap(), Some(State::Spaced));
        assert!(!may_go_again(State::Spaced, true));
        assert!(!State::Spaced.went_out());
        assert_eq!(
            l.reserve(&key("C1"), "a@x.gr", "<1@x>", true).unwrap(),
            Reservation::Skip(State::Spaced)
        );
        let h = l.history(None).unwrap();
        assert_eq!(h[0].reply.as_deref(), Some("birthday on 2026-03-13, sent"));
        // A deferred greeting becomes spaced; a sent one stays sent.
        l.reserve(&key("C2"), "b@x.gr", "<2@x>", false).unwrap();
        l.record(
            &key("C2"),
            &Outcome::Deferred {
                reply: "451 later".into(),
            },
        )
        .unwrap();
        assert!(l.record_spaced(&key("C2"), "b@x.gr", "x").unwrap());
        assert_eq!(l.state(&key("C2")).unwrap(), Some(State::Spaced));
        sent(&l, "C3", "2026-03-14", "c@x.gr");
        assert!(!l.record_spaced(&key("C3"), "c@x.gr", "x").unwrap());
        assert_eq!(l.state(&key("C3")).unwrap(), Some(State::Sent));
    }

    fn token(id: &str) -> String {
        crate::inbox::token_of(id).unwrap().to_string()
    }

    fn bounce_of(to: Option<&str>, status: &str, original: Option<&str>) -> Verdict {
        Verdict::Bounce(Bounce {
            recipient: to.map(str::to_string),
            status: status.into(),
            permanent: status.starts_with('5'),
            diagnostic: format!("550 {status} no such user"),
            original_message_id: original.map(str::to_string),
        })
    }

    fn count(l: &Ledger, sql: &str) -> i64 {
        l.conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// A ledger exactly as greet before schema 2 wrote it, with rows in
    /// every state, owner-added suppressions and the first run.
    fn v1_ledger(path: &Path) {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch(SCHEMA_1).unwrap();
        conn.execute_batch(
            "INSERT INTO greetings VALUES
               ('birthday','C1','2026-03-14','sent','maria@example.gr','<a1.birthday.2026-03-14@shop.gr>','250 ok',1,'2026-03-14T07:00:01Z'),
               ('birthday','C2','2026-03-14','failed','nikos@example.gr','<a2.birthday.2026-03-14@shop.gr>','550 5.1.1 no',1,'2026-03-14T07:00:02Z'),
               ('birthday','C3','2026-03-14','deferred','eleni@example.gr','<a3.birthday.2026-03-14@shop.gr>','451 later',2,'2026-03-14T07:00:03Z'),
               ('birthday','C4','2026-03-14','uncertain','armen@example.am','<a4.birthday.2026-03-14@shop.gr>',NULL,1,'2026-03-14T07:00:04Z'),
               ('christmas','C1','2026','sending','maria@example.gr','<a5.christmas.2026@shop.gr>',NULL,3,'2026-12-25T07:00:05Z');
             INSERT INTO suppressed VALUES ('stamatis@example.gr','2026-02-01T10:00:00Z'), ('sarah@example.co.il','2026-02-02T10:00:00Z');
             INSERT INTO meta VALUES ('first_run','2026-03-01');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }

    fn dump(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            Ok((0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    #[test]
    fn a_v1_ledger_with_rows_is_migrated_to_the_current_schema_and_nothing_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("greet-ledger.sqlite");
        v1_ledger(&path);
        let columns = "occasion, customer, occurrence, state, recipient, message_id, reply, attempts, updated_at";
        let (greetings, suppressed, meta) = {
            let c = Connection::open(&path).unwrap();
            (
                dump(
                    &c,
                    &format!("SELECT {columns} FROM greetings ORDER BY 1,2,3"),
                ),
                dump(&c, "SELECT email, added_at FROM suppressed ORDER BY 1"),
                dump(&c, "SELECT * FROM meta"),
            )
        };
        let l = Ledger::open(&path).unwrap();
        assert_eq!(schema_of(&l.conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(
            dump(
                &l.conn,
                &format!("SELECT {columns} FROM greetings ORDER BY 1,2,3")
            ),
            greetings
        );
        // Schema 3: no greeting from before gift codes carried one.
        assert_eq!(
            dump(
                &l.conn,
                "SELECT count(*) FROM greetings WHERE gift_code IS NOT NULL OR gift_valid_until IS NOT NULL OR gift_redeemed_at IS NOT NULL"
            ),
            ["Integer(0)"]
        );
        assert_eq!(
            dump(&l.conn, "SELECT email, added_at FROM suppressed ORDER BY 1"),
            suppressed
        );
        assert_eq!(dump(&l.conn, "SELECT * FROM meta"), meta);
        assert_eq!(greetings.len(), 5);
        // The old rows' reasons are unknown: NULL, shown as "unsubscribed".
        let s = l.suppressions().unwrap();
        assert_eq!(s.len(), 2);
        assert!(s.iter().all(|s| s.reason.is_none()), "{s:?}");
        assert_eq!(s[0].describe(), "unsubscribed on 2026-02-02");
        assert!(l.is_suppressed("Stamatis@Example.GR").unwrap());
        // The rebuilt table keeps its key, its CHECK (now with bounced) and its indexes.
        assert!(
            l.conn
                .execute("UPDATE greetings SET state = 'bounced' WHERE customer = 'C1' AND occasion = 'birthday'", [])
                .is_ok()
        );
        assert!(
            l.conn
                .execute(
                    "UPDATE greetings SET state = 'lost' WHERE customer = 'C2'",
                    []
                )
                .is_err()
        );
        assert!(
            l.conn
                .execute(
                    "INSERT INTO greetings (occasion, customer, occurrence, state, recipient, message_id) VALUES ('birthday','C2','2026-03-14','sent','x','y')",
                    []
                )
                .is_err(),
            "the primary key survived the rebuild"
        );
        assert_eq!(
            count(
                &l,
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'greetings_by_%'"
            ),
            // state, message_id, recipient (schema 2), customer (schema 3), gift (schema 4)
            5
        );
        assert_eq!(
            l.first_run_recorded().unwrap().as_deref(),
            Some("2026-03-01")
        );
        assert_eq!(l.integrity().unwrap(), "ok");
        drop(l);
        // Opening again changes nothing.
        let again = Ledger::open(&path).unwrap();
        assert_eq!(again.history(None).unwrap().len(), 5);
    }

    #[test]
    fn a_migration_that_cannot_finish_leaves_the_v1_ledger_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("greet-ledger.sqlite");
        v1_ledger(&path);
        // Something in the way of step 2 (a table of that name made by hand).
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE inbox_seen (x); PRAGMA user_version = 1;")
            .unwrap();
        let err = Ledger::open(&path).err().expect("the migration fails");
        assert!(format!("{err:#}").contains("schema 2"), "{err:#}");
        let c = Connection::open(&path).unwrap();
        assert_eq!(schema_of(&c).unwrap(), 1);
        assert_eq!(dump(&c, "SELECT state FROM greetings").len(), 5);
        let columns = dump(&c, "SELECT name FROM pragma_table_info('greetings')");
        assert!(!columns.iter().any(|c| c.contains("bounce")), "{columns:?}");
        assert_eq!(
            dump(
                &c,
                "SELECT name FROM sqlite_master WHERE name = 'greetings_v2'"
            )
            .len(),
            0
        );
    }

    #[test]
    fn a_v1_ledger_is_read_without_being_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("greet-ledger.sqlite");
        v1_ledger(&path);
        let view = View::open(&path).unwrap();
        assert!(view.is_suppressed("sarah@example.co.il"));
        assert_eq!(
            view.suppression("sarah@example.co.il").unwrap().reason,
            None
        );
        let ro = Ledger::open_read_only(&path).unwrap();
        assert_eq!(ro.history(None).unwrap().len(), 5);
        assert_eq!(schema_of(&Connection::open(&path).unwrap()).unwrap(), 1);
    }

    #[test]
    fn a_mailbox_message_is_applied_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = locked(&dir);
        let id = sent(&l, "C1", "2026-03-14", "maria@example.gr");
        let policy = BouncePolicy::default();
        let verdicts = [
            bounce_of(Some("maria@example.gr"), "5.1.1", Some(&id)),
            Verdict::Unsubscribe {
                from: "maria@example.gr".into(),
                token: Some(token(&id)),
            },
            Verdict::AutoReply,
            Verdict::Reply {
                from: "maria@example.gr".into(),
            },
        ];
        for (uid, v) in (1..).zip(&verdicts) {
            assert!(!l.inbox_seen("INBOX", 7, uid).unwrap());
            let first = l.apply_inbox("INBOX", 7, uid, v, &policy).unwrap();
            assert_ne!(first, Applied::AlreadySeen);
            assert!(l.inbox_seen("INBOX", 7, uid).unwrap());
            for _ in 0..3 {
                assert_eq!(
                    l.apply_inbox("INBOX", 7, uid, v, &policy).unwrap(),
                    Applied::AlreadySeen
                );
            }
        }
        // One effect each: one bounce kept, one suppression, four seen rows.
        assert_eq!(count(&l, "SELECT count(*) FROM bounces"), 1);
        assert_eq!(count(&l, "SELECT count(*) FROM suppressed"), 1);
        assert_eq!(count(&l, "SELECT count(*) FROM inbox_seen"), 4);
        // The same uid under another UIDVALIDITY, or in another folder, is another message.
        assert!(!l.inbox_seen("INBOX", 8, 1).unwrap());
        assert!(!l.inbox_seen("Archive", 7, 1).unwrap());
        assert_eq!(
            l.apply_inbox("INBOX", 8, 1, &Verdict::AutoReply, &policy)
                .unwrap(),
            Applied::Ignored
        );
        let verdict: String = l
            .conn
            .query_row(
                "SELECT verdict FROM inbox_seen WHERE mailbox = 'INBOX' AND uidvalidity = 7 AND uid = 2",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(verdict, "unsubscribe");
    }

    #[test]
    fn the_message_id_of_a_seen_message_is_kept_when_given() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = locked(&dir);
        l.apply_inbox_with_id(
            "INBOX",
            1,
            9,
            Some("<CAF1@mail.example.gr>"),
            &Verdict::AutoReply,
            &BouncePolicy::default(),
        )
        .unwrap();
        let kept: String = l
            .conn
            .query_row("SELECT message_id FROM inbox_seen", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, "<CAF1@mail.example.gr>");
    }

    #[test]
    fn a_message_moved_to_another_folder_or_uid_is_applied_once_by_its_message_id() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = locked(&dir);
        let id = sent(&l, "C1", "2026-03-14", "maria@example.gr");
        let policy = BouncePolicy::default();
        let notice = bounce_of(None, "4.2.2", Some(&id));
        let dsn_id = Some("<20261201070007.7C1A2B3D4E@mail.example.gr>");
        let first = l
            .apply_inbox_with_id("INBOX", 1, 10, dsn_id, &notice, &policy)
            .unwrap();
        assert!(matches!(first, Applied::Bounced { .. }), "{first:?}");
        for (mailbox, uidvalidity, uid) in [("greet/processed", 3, 1), ("INBOX", 2, 10)] {
            assert_eq!(
                l.apply_inbox_with_id(mailbox, uidvalidity, uid, dsn_id, &notice, &policy)
                    .unwrap(),
                Applied::AlreadySeen
            );
            assert!(l.inbox_seen(mailbox, uidvalidity, uid).unwrap());
        }
        assert_eq!(count(&l, "SELECT count(*) FROM bounces"), 1);
        // Messages without a Message-ID are told apart by their uid alone.
        for uid in [20, 21] {
            let got = l
                .apply_inbox_with_id("INBOX", 1, uid, None, &notice, &policy)
                .unwrap();
            assert!(matches!(got, Applied::Bounced { .. }), "{got:?}");
        }
        assert_eq!(count(&l, "SELECT count(*) FROM bounces"), 3);
    }

    #[test]
    fn a_bounce_finds_its_greeting_by_message_id_else_by_the_latest_greeting_to_its_recipient() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = locked(&dir);
        let old = sent(&l, "C1", "2025-03-14", "maria@example.gr");
        let new = sent(&l, "C1", "2026-03-14", "maria@example.gr");
        l.conn
            .execute(
                "UPDATE greetings SET updated_at = '2025-03-14T07:00:00Z' WHERE occurrence = '2025-03-14'",
                [],
            )
            .unwrap();
        let eleni = sent(&l, "C2", "2026-03-14", "ελένη@παράδειγμα.ελ");
        let policy = BouncePolicy::default();
        let state_of_id = |l: &Ledger, id: &str| -> String {
            l.conn
                .query_row(
                    "SELECT state || ' ' || coalesce(bounce_status, '-') FROM greetings WHERE message_id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .unwrap()
        };
        // By the bounced message's id: the old greeting, even though a newer one exists;
        // the id's domain may be written in another case.
        let upper = old.replace("fournos.example.gr", "FOURNOS.Example.GR");
        let got = l
            .apply_inbox(
                "INBOX",
                1,
                1,
                &bounce_of(None, "4.2.2", Some(&upper)),
                &policy,
            )
            .unwrap();
        assert_eq!(
            got,
            Applied::Bounced {
                email: "maria@example.gr".into(),
                suppressed: false
            }
        );
        assert_eq!(state_of_id(&l, &old), "bounced 4.2.2");
        assert_eq!(state_of_id(&l, &new), "sent -");
        // By the recipient (written differently): the latest greeting to it.
        let got = l
            .apply_inbox(
                "INBOX",
                1,
                2,
                &bounce_of(Some("MARIA@Example.GR"), "5.1.1", None),
                &policy,
            )
            .unwrap();
        assert_eq!(
            got,
            Applied::Bounced {
                email: "maria@example.gr".into(),
                suppressed: true
            }
        );
        assert_eq!(state_of_id(&l, &new), "bounced 5.1.1");
        // A Unicode address, reported by its A-label.
        let got = l
            .apply_inbox(
                "INBOX",
                1,
                3,
                &bounce_of(Some("ελένη@xn--hxajbheg2az3al.xn--qxam"), "5.1.1", None),
                &policy,
            )
            .unwrap();
        assert_eq!(
            got,
            Applied::Bounced {
                email: "ελένη@παράδειγμα.ελ".into(),
                suppressed: true
            }
        );
        assert_eq!(state_of_id(&l, &eleni), "bounced 5.1.1");
        // Neither a known id nor a greeted address: nothing happens.
        for (uid, b) in [
            (4, bounce_of(Some("stranger@example.com"), "5.1.1", None)),
            (
                5,
                bounce_of(
                    None,
                    "5.1.1",
                    Some("<0000.birthday.2026-03-14@fournos.example.gr>"),
                ),
            ),
            (6, bounce_of(None, "5.1.1", None)),
        ] {
            assert_eq!(
                l.apply_inbox("INBOX", 1, uid, &b, &policy).unwrap(),
                Applied::Unmatched
            );
        }
        assert!(!l.is_suppressed("stranger@example.com").unwrap());
        // A bounced greeting is never sent again, whatever is asked.
        let k = GreetingKey {
            occasion: "birthday".into(),
            customer: "C1".into(),
            occurrence: "2026-03-14".into(),
        };
        assert_eq!(
            l.reserve(&k, "maria@example.gr", &new, true).unwrap(),
            Reservation::Skip(State::Bounced)
        );
        let h = l.history(None).unwrap();
        let e = h.iter().find(|e| e.message_id == new).unwrap();
        assert_eq!(e.state, State::Bounced);
        let b = e.bounce.as_ref().unwrap();
        assert_eq!(
            (b.status.as_str(), b.diagnostic.as_str()),
            ("5.1.1", "550 5.1.1 no such user")
        );
        assert_eq!(b.at.len(), 20, "{}", b.at);
    }

    #[test]
    fn a_permanent_failure_suppresses_at_once_and_temporary_ones_only_when_repeated_within_the_span()
     {
        let dir = tempfile::tempdir().unwrap();
        let mut l = locked(&dir);
        let policy = BouncePolicy {
            soft_limit: 3,
            soft_days: 14,
        };
        let ids: Vec<String> = (1..=4)
            .map(|i| sent(&l, "C1", &format!("2026-0{i}-01"), "nikos@example.com"))
            .collect();
        let mut uid = 0;
        let mut soft = |l: &mut Ledger, id: &str| {
            uid += 1;
            l.apply_inbox(
                "INBOX",
                1,
                uid,
                &bounce_of(None, "4.2.2", Some(id)),
                &policy,
            )
            .unwrap()
        };
        let not_yet = Applied::Bounced {
            email: "nikos@example.com".into(),
            suppressed: false,
        };
        // Three notices about one greeting are one failure.
        for _ in 0..3 {
            assert_eq!(soft(&mut l, &ids[0]), not_yet);
        }
        // A failure older than the span is not counted.
        l.conn
            .execute(
                "UPDATE bounces SET at = strftime('%Y-%m-%dT%H:%M:%SZ','now','-15 days')",
                [],
            )
            .unwrap();
        assert_eq!(soft(&mut l, &ids[1]), not_yet);
        assert_eq!(soft(&mut l, &ids[2]), not_yet);
        assert!(!l.is_suppressed("nikos@example.com").unwrap());
        // The third greeting failing within 14 days does it.
        assert_eq!(
            soft(&mut l, &ids[3]),
            Applied::Bounced {
                email: "nikos@example.com".into(),
                suppressed: true
            }
        );
        let s = l.suppression("nikos@example.com").unwrap().unwrap();
        assert_eq!(
            (s.reason, s.detail.as_deref()),
            (Some(Reason::Bounced), Some("4.2.2"))
        );
        assert!(
            s.describe().starts_with("bounced 4.2.2 on 20"),
            "{}",
            s.describe()
        );
        assert!(
            s.describe().ends_with("(failed again and again)"),
            "{}",
            s.describe()
        );

        // A limit of 0 never suppresses for temporary failures; a permanent one always does.
        let never = BouncePolicy {
            soft_limit: 0,
            soft_days: 14,
        };
        let ids: Vec<String> = (1..=5)
            .map(|i| sent(&l, "C2", &format!("2026-0{i}-02"), "eleni@example.gr"))
            .collect();
        for (i, id) in ids.iter().enumerate() {
            let got = l
                .apply_inbox(
                    "INBOX",
                    2,
                    i as u32,
                    &bounce_of(None, "4.4.1", Some(id)),
                    &never,
                )
                .unwrap();
            assert!(
                matches!(
                    got,
                    Applied::Bounced {
                        suppressed: false,
                        ..
                    }
                ),
                "{got:?}"
            );
        }
        let got = l
            .apply_inbox(
                "INBOX",
                2,
                99,
                &bounce_of(None, "5.2.1", Some(&ids[0])),
                &never,
            )
            .unwrap();
        assert!(
            matches!(
                got,
                Applied::Bounced {
                    suppressed: true,
                    ..
                }
            ),
            "{got:?}"
        );
        let s = l.suppression("eleni@example.gr").unwrap().unwrap();
        assert!(
            s.describe().starts_with("bounced 5.2.1 on 20"),
            "{}",
            s.describe()
        );
    }

    #[test]
    fn suppression_is_per_address_and_resubscribe_lifts_any_reason() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = locked(&dir);
        let id = sent(&l, "C1", "2026-03-14", "maria@example.gr");
        let policy = BouncePolicy::default();
        l.apply_inbox("INBOX", 1, 1, &bounce_of(None, "5.1.1", Some(&id)), &policy)
            .unwrap();
        assert!(l.is_suppressed("maria@example.gr").unwrap());
        // The customer's new address in the list is another address: not suppressed.
        assert!(!l.is_suppressed("maria.p@example.gr").unwrap());
        // Owner unsubscribe of an address already kept out: the first reason stays.
        assert!(!l.suppress("maria@example.gr").unwrap());
        assert_eq!(
            l.suppression("maria@example.gr").unwrap().unwrap().reason,
            Some(Reason::Bounced)
        );
        assert!(l.unsuppress("Maria@Example.gr").unwrap());
        assert!(!l.is_suppressed("maria@example.gr").unwrap());
        // The owner's own unsubscribe has its reason.
        l.suppress("eleni@example.gr").unwrap();
        let s = l.suppression("eleni@example.gr").unwrap().unwrap();
        assert_eq!(s.reason, Some(Reason::Unsubscribed));
        assert!(
            s.describe().starts_with("unsubscribed by the owner on 20"),
            "{}",
            s.describe()
        );
    }

    #[test]
    fn a_request_to_stop_suppresses_the_greeted_address_and_never_a_strangers() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = locked(&dir);
        let maria = sent(&l, "C1", "2026-03-14", "maria@example.gr");
        sent(&l, "C2", "2026-03-14", "ελένη@παράδειγμα.ελ");
        sent(&l, "C3", "2026-03-14", "Armen@Example.AM");
        let policy = BouncePolicy::default();
        let unsub = |from: &str, token: Option<String>| Verdict::Unsubscribe {
            from: from.into(),
            token,
        };
        let cases = [
            // The token names the greeting: its recipient, whoever writes.
            (
                unsub("maria.forwarded@other.example", Some(token(&maria))),
                Applied::Unsubscribed {
                    email: "maria@example.gr".into(),
                },
            ),
            // A plain word from a greeted address (compared as addresses are).
            (
                unsub("ελένη@xn--hxajbheg2az3al.xn--qxam", None),
                Applied::Unsubscribed {
                    email: "ελένη@παράδειγμα.ελ".into(),
                },
            ),
            (
                unsub("armen@example.am", None),
                Applied::Unsubscribed {
                    email: "Armen@Example.AM".into(),
                },
            ),
            // A token that names no greeting, from a stranger: nothing.
            (
                unsub(
                    "stranger@example.com",
                    Some("ffff.birthday.2026-03-14".into()),
                ),
                Applied::Unmatched,
            ),
            // "stop" from someone greet never greeted: nothing.
            (unsub("stranger@example.com", None), Applied::Unmatched),
            (unsub("", None), Applied::Unmatched),
        ];
        for (uid, (v, want)) in (1..).zip(cases) {
            assert_eq!(
                l.apply_inbox("INBOX", 1, uid, &v, &policy).unwrap(),
                want,
                "{v:?}"
            );
        }
        for (addr, kept) in [
            ("maria@example.gr", true),
            ("ελένη@παράδειγμα.ελ", true),
            ("armen@example.am", true),
            ("stranger@example.com", false),
            ("maria.forwarded@other.example", false),
        ] {
            assert_eq!(l.is_suppressed(addr).unwrap(), kept, "{addr}");
        }
        let s = l.suppression("maria@example.gr").unwrap().unwrap();
        assert_eq!(s.reason, Some(Reason::UnsubscribeReply));
        assert_eq!(s.detail, Some(token(&maria)));
        let view = View::open(&dir.path().join("greet-ledger.sqlite")).unwrap();
        assert!(
            view.suppression("MARIA@example.gr")
                .unwrap()
                .describe()
                .starts_with("asked to stop on 20")
        );
    }

    #[test]
    fn auto_replies_are_ignored_and_replies_are_counted_for_the_owner() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = locked(&dir);
        sent(&l, "C1", "2026-03-14", "maria@example.gr");
        let policy = BouncePolicy::default();
        assert_eq!(
            l.apply_inbox("INBOX", 1, 1, &Verdict::AutoReply, &policy)
                .unwrap(),
            Applied::Ignored
        );
        assert_eq!(
            l.apply_inbox(
                "INBOX",
                1,
                2,
                &Verdict::Reply {
                    from: "maria@example.gr".into()
                },
                &policy
            )
            .unwrap(),
            Applied::Replied {
                from: "maria@example.gr".into()
            }
        );
        assert_eq!(count(&l, "SELECT count(*) FROM suppressed"), 0);
        assert_eq!(
            count(&l, "SELECT count(*) FROM greetings WHERE state = 'sent'"),
            1
        );
    }
}
