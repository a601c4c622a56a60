//! Today is the business's day: read once at the start of a run, in the
//! configured time zone — never the host's, never UTC by accident.
//!
//! `GREET_NOW` (RFC 3339, e.g. `2026-03-14T09:00:00+02:00`) pins the clock,
//! for tests and for reproducing a past run.
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The current instant in the business's time zone.
pub fn now(tz: Tz) -> anyhow::Result<DateTime<Tz>> {
    let utc = match std::env::var("GREET_NOW") {
        Ok(s) if !s.is_empty() => DateTime::parse_from_rfc3339(&s)
            .with_context(|| format!("GREET_NOW \"{s}\" is not an RFC 3339 time"))?
            .with_timezone(&Utc),
        _ => Utc::now(),
    };
    Ok(utc.with_timezone(&tz))
}
