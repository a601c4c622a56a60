//! `greet login`: sign in to the mailbox once, for `auth = "oauth2"`. The
//! sign-in is kept in `token_file` (owner-only); every run after this one,
//! scheduled ones too, takes its token from there.
use std::io::Write;

use super::load_config;
use crate::cli::Cli;
use crate::config::TransportKind;
use crate::exit::{Exit, Halt};

pub fn run(cli: &Cli) -> anyhow::Result<Exit> {
    let config = load_config(&cli.config)?;
    let shown = config.path.display().to_string();
    let refused = |why: String| {
        Halt::invalid(
            config
                .transport
                .problem(&shown, "transport", why)
                .to_string(),
        )
    };
    let (settings, account) = match &config.transport.kind {
        TransportKind::Smtp(s) => match (&s.oauth, &s.username) {
            (Some(oauth), Some(user)) => (oauth, user),
            _ => return Err(refused(
                "[transport] `greet login` signs in for auth = \"oauth2\", and this transport logs in with a password (or not at all); add auth = \"oauth2\" and the app registration's keys (the README shows how)".into(),
            )),
        },
        other => {
            return Err(refused(format!(
                "[transport] `greet login` signs in to an SMTP account, and this transport is kind = \"{}\"",
                other.name()
            )));
        }
    };
    let mut err = std::io::stderr().lock();
    crate::oauth::login(settings, account, &mut err)
        .map_err(|e| Halt::with(Exit::Failure, format!("{e:#}")))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "signed in to {account}; the sign-in is kept in {} (readable by you only). `greet check` shows it; `greet send` and the scheduled run use it.",
        settings.token_file.display()
    )?;
    Ok(Exit::Ok)
}
