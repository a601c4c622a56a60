//! Exit codes, as SPEC §6 fixes them. Cron and systemd read these, so each
//! mapping has a test.
use std::process::ExitCode;

/// What a run ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done.
    Ok = 0,
    /// Anything not covered below (an I/O error, a bug).
    Failure = 1,
    /// Bad usage, config, customer list or template; nothing was sent.
    Invalid = 2,
    /// Some messages failed, were deferred or are uncertain; the rest were sent.
    Partial = 3,
    /// Nothing was sent because of a temporary cause; run again later.
    TryLater = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// An error that already knows its exit code (bad input is `Invalid`).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Halt {
    pub exit: Exit,
    pub message: String,
}

impl Halt {
    pub fn with(exit: Exit, message: impl Into<String>) -> anyhow::Error {
        Halt {
            exit,
            message: message.into(),
        }
        .into()
    }

    pub fn invalid(message: impl Into<String>) -> anyhow::Error {
        Halt {
            exit: Exit::Invalid,
            message: message.into(),
        }
        .into()
    }
}

impl Exit {
    /// The exit code for an error that reached `main`.
    pub fn for_error(err: &anyhow::Error) -> Exit {
        if is_broken_pipe(err) {
            return Exit::Ok;
        }
        err.chain()
            .find_map(|e| e.downcast_ref::<Halt>().map(|h| h.exit))
            .unwrap_or(Exit::Failure)
    }
}

/// `greet preview | head` closes our stdout early; that is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_spec() {
        assert_eq!(Exit::Ok as u8, 0);
        assert_eq!(Exit::Failure as u8, 1);
        assert_eq!(Exit::Invalid as u8, 2);
        assert_eq!(Exit::Partial as u8, 3);
        assert_eq!(Exit::TryLater as u8, 4);
    }

    #[test]
    fn invalid_input_maps_to_two_even_when_wrapped() {
        let err = Halt::invalid("bad").context("while checking");
        assert_eq!(Exit::for_error(&err), Exit::Invalid);
    }

    #[test]
    fn unknown_errors_map_to_one() {
        assert_eq!(Exit::for_error(&anyhow::anyhow!("boom")), Exit::Failure);
    }

    #[test]
    fn broken_pipe_is_success_and_silent() {
        let err = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&err));
        assert_eq!(Exit::for_error(&err), Exit::Ok);
    }
}
