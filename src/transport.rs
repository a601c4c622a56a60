//! Stage 6: handing a composed message to the world — SMTP, the local MTA
//! (sendmail), or an outbox folder — and saying what happened in the terms
//! the ledger needs.
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use lettre::Transport as _;
use lettre::address::Envelope;
use lettre::transport::smtp::SmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;

use crate::config::{Config, Security, TransportKind};

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted (the server's reply).
    Sent(String),
    /// A temporary refusal (4xx, a connection lost before the end of DATA): try again.
    Transient(String),
    /// This recipient is refused for good (5xx).
    Permanent(String),
    /// The account cannot send (authentication, quota, throttling): stop the run.
    Halt(String),
    /// The connection ended after the message was handed over and before
    /// the reply: it may or may not have been delivered.
    Uncertain(String),
    /// The server could not be reached at all.
    Unreachable(String),
    /// TLS could not be set up as configured (no STARTTLS offered, a
    /// certificate that does not verify): nothing was sent in clear.
    Insecure(String),
}

pub trait Deliver {
    /// "smtp.example.gr:587 (STARTTLS)", for the confirmation and summary.
    fn describe(&self) -> String;
    /// `name` is a readable file name (file transport only).
    fn deliver(&mut self, envelope: &Envelope, bytes: &[u8], name: &str) -> Delivery;
}

/// The transport the config names.
pub fn open(config: &Config) -> anyhow::Result<Box<dyn Deliver>> {
    let t = &config.transport;
    Ok(match t.kind {
        TransportKind::File => {
            let dir = t
                .dir
                .clone()
                .unwrap_or_else(|| config.ledger.with_file_name("outbox"));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            Box::new(Outbox { dir })
        }
        TransportKind::Sendmail => {
            let command = t
                .command
                .clone()
                .unwrap_or_else(|| PathBuf::from("/usr/sbin/sendmail"));
            Box::new(Sendmail {
                inner: lettre::SendmailTransport::new_with_command(command.as_os_str()),
                command,
            })
        }
        TransportKind::Smtp => Box::new(Smtp::new(config)?),
    })
}

struct Outbox {
    dir: PathBuf,
}

impl Deliver for Outbox {
    fn describe(&self) -> String {
        format!("the outbox folder {}", self.dir.display())
    }
    fn deliver(&mut self, _: &Envelope, bytes: &[u8], name: &str) -> Delivery {
        let path = self.dir.join(name);
        match std::fs::write(&path, bytes) {
            Ok(()) => Delivery::Sent(format!("written to {}", path.display())),
            Err(e) => Delivery::Halt(format!("cannot write {}: {e}", path.display())),
        }
    }
}

struct Sendmail {
    inner: lettre::SendmailTransport,
    command: PathBuf,
}

impl Deliver for Sendmail {
    fn describe(&self) -> String {
        format!("the local mail system ({})", self.command.display())
    }
    fn deliver(&mut self, envelope: &Envelope, bytes: &[u8], _: &str) -> Delivery {
        match self.inner.send_raw(envelope, bytes) {
            Ok(()) => Delivery::Sent("handed to the local MTA".into()),
            // The MTA refusing the hand-over is not a verdict on the recipient.
            Err(e) => Delivery::Transient(format!(
                "{} refused the message: {e}",
                self.command.display()
            )),
        }
    }
}

struct Smtp {
    inner: SmtpTransport,
    label: String,
}

/// The SMTP password: from the environment variable or the file the config
/// names — never from the command line. A file readable by others is refused.
fn password(config: &Config) -> anyhow::Result<Option<String>> {
    let t = &config.transport;
    if let Some(var) = &t.password_env {
        let pw = std::env::var(var).with_context(|| {
            format!("[transport] password_env names {var}, which is not set in the environment")
        })?;
        return Ok(Some(pw));
    }
    if let Some(path) = &t.password_file {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                anyhow::bail!(
                    "{} can be read by other users; run `chmod 600 {}` first",
                    path.display(),
                    path.display()
                );
            }
        }
        let pw = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(Some(pw.trim_end_matches(['\r', '\n']).to_string()));
    }
    Ok(None)
}

impl Smtp {
    fn new(config: &Config) -> anyhow::Result<Smtp> {
        let t = &config.transport;
        let host = t.host.trim();
        let (builder, port, how) = match t.security {
            Security::Starttls => (
                SmtpTransport::starttls_relay(host)?,
                t.port.unwrap_or(587),
                "STARTTLS",
            ),
            Security::Tls => (SmtpTransport::relay(host)?, t.port.unwrap_or(465), "TLS"),
            Security::None => (
                SmtpTransport::builder_dangerous(host),
                t.port.unwrap_or(25),
                "no encryption",
            ),
        };
        let mut builder = builder;
        if let Some(ca) = &t.ca_file {
            use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
            let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
            let cert = Certificate::from_pem(&pem)
                .with_context(|| format!("{}: not a PEM certificate", ca.display()))?;
            let params = TlsParameters::builder(host.to_string())
                .add_root_certificate(cert)
                .build()?;
            builder = match t.security {
                Security::Starttls => builder.tls(Tls::Required(params)),
                Security::Tls => builder.tls(Tls::Wrapper(params)),
                Security::None => builder,
            };
        }
        let mut builder = builder
            .port(port)
            .hello_name(ClientId::Domain(config.sender.domain().to_string()))
            .timeout(Some(Duration::from_secs(t.timeout.unwrap_or(30))));
        if let Some(user) = &t.username {
            if t.security == Security::None {
                anyhow::bail!(
                    "[transport] security = \"none\" with a username: greet never sends a password without TLS"
                );
            }
            let pw = password(config)?
                .context("[transport] username is set: name password_env or password_file")?;
            // PLAIN over TLS: what every current relay offers; a failure is a quick 535.
            builder = builder
                .credentials(Credentials::new(user.clone(), pw))
                .authentication(vec![
                    lettre::transport::smtp::authentication::Mechanism::Plain,
                ]);
        }
        Ok(Smtp {
            inner: builder.build(),
            label: format!("{host}:{port} ({how})"),
        })
    }
}

/// Sort an SMTP error into what the run must do (RELIABILITY rule 3).
pub fn classify(code: Option<u16>, text: &str, transient: bool, permanent: bool) -> Delivery {
    let text = text.trim().to_string();
    let account = matches!(code, Some(535 | 530 | 534 | 454))
        || ["5.7.8", "5.4.5", "5.2.0", "QuotaExceeded", "Throttl"]
            .iter()
            .any(|m| text.contains(m));
    if account {
        return Delivery::Halt(text);
    }
    if text.contains("does not support SMTPUTF8") || text.contains("does not support 8BITMIME") {
        // Refused here, before MAIL: this server cannot carry this address.
        return Delivery::Permanent(format!(
            "not sent: the address needs SMTPUTF8, which this server does not offer ({text})"
        ));
    }
    if transient {
        return Delivery::Transient(text);
    }
    if permanent {
        return Delivery::Permanent(text);
    }
    let lower = text.to_lowercase();
    if lower.contains("starttls") || lower.contains("certificate") || lower.contains("tls error") {
        return Delivery::Insecure(text);
    }
    if lower.contains("connection refused")
        || lower.contains("could not connect")
        || lower.contains("failed to lookup")
        || lower.contains("name or service")
    {
        return Delivery::Unreachable(text);
    }
    // A read timeout shows as "os error 11" (WouldBlock) in lettre.
    if lower.contains("incomplete response")
        || lower.contains("timed out")
        || lower.contains("os error 11)")
    {
        return Delivery::Uncertain(text);
    }
    Delivery::Transient(text)
}

impl Deliver for Smtp {
    fn describe(&self) -> String {
        self.label.clone()
    }
    fn deliver(&mut self, envelope: &Envelope, bytes: &[u8], _: &str) -> Delivery {
        match self.inner.send_raw(envelope, bytes) {
            Ok(resp) => {
                let msg: Vec<&str> = resp.message().collect();
                Delivery::Sent(format!("{} {}", resp.code(), msg.join(" ")))
            }
            Err(e) => {
                let code = e.status().map(u16::from);
                // The server's own words: "550 5.1.1 no such user".
                let mut inner = None;
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    inner = Some(s.to_string());
                    source = s.source();
                }
                let text = match (code, inner) {
                    (Some(code), Some(words)) => format!("{code} {words}"),
                    (None, Some(words)) => format!("{e}: {words}")
                        .replace(&format!(": {words}: {words}"), &format!(": {words}")),
                    (_, None) => e.to_string(),
                };
                classify(code, &text, e.is_transient(), e.is_permanent())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_classified_as_the_reliability_rules_say() {
        assert!(matches!(
            classify(Some(550), "550 5.1.1 no such user", false, true),
            Delivery::Permanent(_)
        ));
        assert!(matches!(
            classify(Some(451), "451 try later", true, false),
            Delivery::Transient(_)
        ));
        assert!(matches!(
            classify(Some(535), "535 5.7.8 bad credentials", false, true),
            Delivery::Halt(_)
        ));
        assert!(matches!(
            classify(
                Some(550),
                "550 5.4.5 Daily sending quota exceeded",
                false,
                true
            ),
            Delivery::Halt(_)
        ));
        assert!(matches!(
            classify(Some(454), "454 Throttling failure", true, false),
            Delivery::Halt(_)
        ));
        assert!(matches!(
            classify(None, "incomplete response", false, false),
            Delivery::Uncertain(_)
        ));
        assert!(matches!(
            classify(None, "Connection refused (os error 111)", false, false),
            Delivery::Unreachable(_)
        ));
        assert!(matches!(
            classify(None, "Connection reset by peer", false, false),
            Delivery::Transient(_)
        ));
    }
}
