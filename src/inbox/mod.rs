//! What came back to the shop's mailbox: bounces, unsubscribe requests,
//! auto-replies and replies from people — told apart without any I/O
//! ([`classify`]); what the ledger does with each is
//! [`crate::ledger::Ledger::apply_inbox`].
pub mod classify;
mod words;

pub use classify::{classify, message_id};

/// What one message in the shop's mailbox is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A delivery status notification about one of our greetings.
    Bounce(Bounce),
    /// The customer asks to stop (reply to the List-Unsubscribe mailto, token
    /// matched; or a plain unsubscribe word from any address).
    Unsubscribe { from: String, token: Option<String> },
    /// Out of office / Auto-Submitted / X-Autoreply / Precedence: auto_reply — ignored.
    AutoReply,
    /// An ordinary reply from a person: left for the owner, counted.
    Reply { from: String },
}

impl Verdict {
    /// The short name kept in the ledger's `inbox_seen.verdict`:
    /// `bounce`, `unsubscribe`, `auto-reply`, `reply`.
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::Bounce(_) => "bounce",
            Verdict::Unsubscribe { .. } => "unsubscribe",
            Verdict::AutoReply => "auto-reply",
            Verdict::Reply { .. } => "reply",
        }
    }
}

/// One failed (or delayed) recipient of a delivery status notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The address that could not be reached (`Final-Recipient`, or read from the text).
    pub recipient: Option<String>,
    /// The enhanced status code, `5.1.1`; `5.0.0`/`4.0.0` when only the class is known.
    pub status: String,
    /// A permanent failure (5.x.x and not `Action: delayed`).
    pub permanent: bool,
    /// What the remote server said (`Diagnostic-Code` without its type, or
    /// the line of the text that says it), on one line.
    pub diagnostic: String,
    /// The Message-ID of the message that bounced, with its angle brackets,
    /// when the notice carries its headers.
    pub original_message_id: Option<String>,
}

/// The unsubscribe token of a greeting's Message-ID: its local part
/// (`<3f2a….birthday.2026-03-14@shop.gr>` → `3f2a….birthday.2026-03-14`).
pub fn token_of(message_id: &str) -> Option<&str> {
    let id = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let (local, _domain) = id.rsplit_once('@')?;
    (!local.is_empty()).then_some(local)
}
