//! Today is the business's day: read once at the start of a run, in the
//! configured time zone — never the host's, never UTC by accident.
//!
//! `GREET_NOW` (RFC 3339, e.g. `2026-03-14T09:00:00+02:00`) pins the clock,
//! for tests and for reproducing a past run.
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The current instant in the business's time zone.
pub fn now(tz: Tz) -> anyhow::Result<DateTime<Tz>> {
    let utc = match std::env::var("GREET_NOW") {
        Ok(s) if !s.is_empty() => DateTime::parse_from_rfc3339(s.trim())
            .map_err(|e| {
                crate::exit::Halt::invalid(format!(
                    "GREET_NOW \"{s}\" is not a time greet can use ({e}); write it as RFC 3339, e.g. 2026-03-14T09:00:00+02:00, or unset it"
                ))
            })?
            .with_timezone(&Utc),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(crate::exit::Halt::invalid(
                "GREET_NOW is not UTF-8 text; write it as RFC 3339, e.g. 2026-03-14T09:00:00+02:00, or unset it",
            ));
        }
        _ => Utc::now(),
    };
    Ok(utc.with_timezone(&tz))
}
