//! Stage 6: handing a composed message to the world — SMTP, the local MTA
//! (sendmail), or an outbox folder — and saying what happened in the terms
//! the ledger needs.
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use lettre::Transport as _;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use crate::config::{Config, PasswordSource, Security, SmtpSettings, TransportKind};

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
    /// Get ready to send (SMTP: connect, STARTTLS, AUTH), so that a server
    /// that cannot be reached or refuses the account stops the run before
    /// any greeting is marked as being sent.
    fn prepare(&mut self) -> Result<(), Delivery> {
        Ok(())
    }
    /// `name` is a readable file name (file transport only).
    fn deliver(&mut self, envelope: &Envelope, bytes: &[u8], name: &str) -> Delivery;
}

/// The transport the config names, with the settings resolved at load.
pub fn open(config: &Config) -> anyhow::Result<Box<dyn Deliver>> {
    Ok(match &config.transport.kind {
        TransportKind::File { dir } => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            Box::new(Outbox { dir: dir.clone() })
        }
        TransportKind::Sendmail { command } => Box::new(Sendmail {
            inner: lettre::SendmailTransport::new_with_command(command.as_os_str()),
            command: command.clone(),
        }),
        TransportKind::Smtp(settings) => Box::new(Smtp::new(settings, config.sender.domain())?),
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

/// SMTP through one connection kept open across messages (lettre's
/// `SmtpConnection`, driven step by step so that every failure is known to
/// have happened before or after the final "." — the line between "try
/// again" and "uncertain").
struct Smtp {
    host: String,
    port: u16,
    security: Security,
    tls: Option<TlsParameters>,
    hello: ClientId,
    credentials: Option<Credentials>,
    timeout: Duration,
    conn: Option<SmtpConnection>,
    label: String,
}

/// The SMTP password: from the environment variable or the file the config
/// names — never from the command line. A file readable by others is refused
/// (`Config::transport_problems` has said so before anything was touched;
/// this is the last guard).
fn password(source: &PasswordSource) -> anyhow::Result<Option<String>> {
    match source {
        PasswordSource::None => Ok(None),
        PasswordSource::Env(var) => {
            let pw = std::env::var(var).with_context(|| {
                format!("[transport] password_env names {var}, which is not set in the environment")
            })?;
            Ok(Some(pw))
        }
        PasswordSource::File(path) => {
            // The same rule `check` applies (missing, empty, readable by others).
            crate::config::secret_file_problem(path).map_err(anyhow::Error::msg)?;
            let pw = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Some(pw.trim_end_matches(['\r', '\n']).to_string()))
        }
    }
}

impl Smtp {
    /// `hello`: the domain greet names itself by (EHLO), the sender's.
    fn new(s: &SmtpSettings, hello: &str) -> anyhow::Result<Smtp> {
        let how = match s.security {
            Security::Starttls => "STARTTLS",
            Security::Tls => "TLS",
            Security::None => "no encryption",
        };
        let tls = match s.security {
            Security::None => None,
            Security::Starttls | Security::Tls => {
                let mut params = TlsParameters::builder(s.host.clone());
                if let Some(ca) = &s.ca_file {
                    let pem = std::fs::read(ca)
                        .with_context(|| format!("cannot read {}", ca.display()))?;
                    let cert = Certificate::from_pem(&pem)
                        .with_context(|| format!("{}: not a PEM certificate", ca.display()))?;
                    params = params.add_root_certificate(cert);
                }
                Some(params.build()?)
            }
        };
        let credentials = match &s.username {
            None => None,
            Some(_) if s.security == Security::None => anyhow::bail!(
                "[transport] security = \"none\" with a username: greet never sends a password without TLS"
            ),
            Some(user) => {
                let pw = password(&s.password)?
                    .context("[transport] username is set: name password_env or password_file")?;
                Some(Credentials::new(user.clone(), pw))
            }
        };
        Ok(Smtp {
            label: format!("{}:{} ({how})", s.host, s.port),
            host: s.host.clone(),
            port: s.port,
            security: s.security,
            tls,
            hello: ClientId::Domain(hello.to_string()),
            credentials,
            timeout: s.timeout,
            conn: None,
        })
    }

    /// Open a connection: greeting, EHLO, STARTTLS (required when
    /// configured), AUTH PLAIN (only over TLS).
    fn connect(&self) -> Result<SmtpConnection, Delivery> {
        let wrapper = match self.security {
            Security::Tls => self.tls.as_ref(),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &self.hello,
            wrapper,
            None,
        )
        .map_err(|e| at_connect(&e))?;
        if self.security == Security::Starttls {
            let params = self.tls.as_ref().expect("built with the transport");
            if !conn.can_starttls() {
                conn.abort();
                return Err(Delivery::Insecure(
                    "the server does not offer STARTTLS".into(),
                ));
            }
            conn.starttls(params, &self.hello)
                .map_err(|e| at_connect(&e))?;
        }
        if let Some(credentials) = &self.credentials
            && let Err(e) = conn.auth(&[Mechanism::Plain], credentials)
        {
            conn.abort();
            return Err(at_connect(&e));
        }
        Ok(conn)
    }

    /// MAIL, RCPT, DATA on an open connection; then the message and its
    /// final "." in a single write, and the server's verdict.
    /// `smtputf8`: the envelope has a non-ASCII address (the server offers it).
    fn transaction(
        conn: &mut SmtpConnection,
        envelope: &Envelope,
        bytes: &[u8],
        smtputf8: bool,
    ) -> Result<String, (Step, lettre::transport::smtp::Error)> {
        let info = conn.server_info();
        let mut params = Vec::new();
        if smtputf8 {
            params.push(MailParameter::SmtpUtfEight);
        }
        if !bytes.is_ascii() && info.supports_feature(Extension::EightBitMime) {
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let envelope_step =
            |r: Result<_, lettre::transport::smtp::Error>| r.map_err(|e| (Step::Envelope, e));
        envelope_step(conn.command(Mail::new(envelope.from().cloned(), params)))?;
        for to in envelope.to() {
            envelope_step(conn.command(Rcpt::new(to.clone(), vec![])))?;
        }
        envelope_step(conn.command(Data))?;
        let reply = conn.command(Body(bytes)).map_err(|e| (Step::Body, e))?;
        Ok(format!(
            "{} {}",
            reply.code(),
            reply.message().collect::<Vec<_>>().join(" ")
        ))
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.quit();
        }
    }
}

/// Whether an address in the envelope has a non-ASCII local part or domain.
fn needs_smtputf8(envelope: &Envelope) -> bool {
    envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a| !<lettre::Address as AsRef<str>>::as_ref(a).is_ascii())
}

/// Where in a transaction an error happened.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    /// MAIL, RCPT or DATA: the message itself has not been handed over.
    Envelope,
    /// The message and its final "." were written; the reply was awaited.
    Body,
}

/// The message as DATA content: dot-stuffed, CRLF-terminated, followed by
/// the final "." — written in one piece, so that it leaves in one go.
struct Body<'a>(&'a [u8]);

impl std::fmt::Display for Body<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = String::from_utf8_lossy(self.0);
        for line in text.split_inclusive('\n') {
            if line.starts_with('.') {
                f.write_str(".")?;
            }
            f.write_str(line)?;
        }
        if !text.ends_with("\r\n") {
            f.write_str("\r\n")?;
        }
        f.write_str(".\r\n")
    }
}

/// The server's own words for an error ("550 5.1.1 no such user"), or the
/// deepest cause lettre recorded.
fn words(e: &lettre::transport::smtp::Error) -> String {
    let code = e.status().map(u16::from);
    let mut inner = None;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        inner = Some(s.to_string());
        source = s.source();
    }
    match (code, inner) {
        (Some(code), Some(words)) => format!("{code} {words}"),
        (None, Some(words)) => {
            format!("{e}: {words}").replace(&format!(": {words}: {words}"), &format!(": {words}"))
        }
        (_, None) => e.to_string(),
    }
}

/// The I/O error underneath a network failure, if there is one.
fn io_kind(e: &lettre::transport::smtp::Error) -> Option<std::io::ErrorKind> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

/// An error while opening the connection (greeting, EHLO, STARTTLS, AUTH).
fn at_connect(e: &lettre::transport::smtp::Error) -> Delivery {
    let text = words(e);
    if e.status().is_none() {
        let lower = text.to_lowercase();
        if e.is_tls()
            || lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
        {
            return Delivery::Insecure(text);
        }
    }
    match classify(
        e.status().map(u16::from),
        &text,
        e.is_transient(),
        e.is_permanent(),
    ) {
        // A refusal at connection time is about the service, not a recipient.
        Delivery::Permanent(t) => Delivery::Halt(t),
        Delivery::Uncertain(t) => Delivery::Unreachable(t),
        other => other,
    }
}

/// An error inside a transaction: the step decides between "not handed
/// over" (try again) and "in doubt".
fn in_transaction(step: Step, e: &lettre::transport::smtp::Error) -> Delivery {
    let text = words(e);
    if e.status().is_some() || e.is_client() {
        return classify(
            e.status().map(u16::from),
            &text,
            e.is_transient(),
            e.is_permanent(),
        );
    }
    let kind = io_kind(e);
    let timeout = matches!(
        kind,
        Some(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
    );
    match step {
        Step::Envelope if timeout => Delivery::Transient(format!(
            "the server did not answer within the timeout before the message was sent ({text})"
        )),
        Step::Envelope => Delivery::Transient(text),
        // A reset (or a write that failed) means the server dropped data it
        // had not read: it never read the final ".", so nothing was accepted.
        Step::Body
            if matches!(
                kind,
                Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe)
            ) =>
        {
            Delivery::Transient(format!(
                "the connection was cut before the server read the whole message ({text})"
            ))
        }
        Step::Body if timeout => Delivery::Uncertain(format!(
            "no reply within the timeout after the message was sent ({text})"
        )),
        Step::Body => Delivery::Uncertain(format!(
            "the connection ended after the message was sent, before the reply ({text})"
        )),
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
    fn prepare(&mut self) -> Result<(), Delivery> {
        if self.conn.is_none() {
            self.conn = Some(self.connect()?);
        }
        Ok(())
    }
    fn deliver(&mut self, envelope: &Envelope, bytes: &[u8], _: &str) -> Delivery {
        let non_ascii = needs_smtputf8(envelope);
        // A kept connection may have been closed by the server while idle:
        // one fresh connection is tried before anything of this message went out.
        for reused in [self.conn.is_some(), false] {
            let mut conn = match self.conn.take() {
                Some(c) => c,
                None => match self.connect() {
                    Ok(c) => c,
                    Err(d) => return d,
                },
            };
            if non_ascii && !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                self.conn = Some(conn);
                return Delivery::Permanent(
                    "not sent: the address needs SMTPUTF8, which this server does not offer".into(),
                );
            }
            match Smtp::transaction(&mut conn, envelope, bytes, non_ascii) {
                Ok(reply) => {
                    self.conn = Some(conn);
                    return Delivery::Sent(reply);
                }
                Err((Step::Envelope, e)) if e.status().is_some() => {
                    // A refusal with a reply code: the session is still good.
                    if conn.command(Rset).is_ok() {
                        self.conn = Some(conn);
                    } else {
                        conn.abort();
                    }
                    return in_transaction(Step::Envelope, &e);
                }
                Err((step, e)) => {
                    conn.abort();
                    if reused && step == Step::Envelope {
                        continue;
                    }
                    return in_transaction(step, &e);
                }
            }
        }
        unreachable!("the second pass always returns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_lines_starting_with_a_dot_are_stuffed_and_the_end_is_marked() {
        assert_eq!(
            Body(b"Subject: x\r\n\r\n.hidden\r\nok\r\n..\r\n").to_string(),
            "Subject: x\r\n\r\n..hidden\r\nok\r\n...\r\n.\r\n"
        );
        assert_eq!(Body(b"no newline").to_string(), "no newline\r\n.\r\n");
    }

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
