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
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::{self, response::Response};

use crate::config::{Config, PasswordSource, Security, SmtpSettings, TransportKind};

/// What became of one message, with the server's reply (or greet's own
/// words when there was none: a lost connection, a file written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted (the server's reply).
    Sent(Reply),
    /// A temporary refusal (4xx, a connection lost before the end of DATA): try again.
    Transient(Reply),
    /// This recipient is refused for good (5xx).
    Permanent(Reply),
    /// The account cannot send (authentication, quota, throttling): stop the run.
    Halt(Reply),
    /// The connection ended after the message was handed over and before
    /// the reply: it may or may not have been delivered.
    Uncertain(Reply),
    /// The server could not be reached at all.
    Unreachable(Reply),
    /// TLS could not be set up as configured (no STARTTLS offered, a
    /// certificate that does not verify): nothing was sent in clear.
    Insecure(Reply),
}

impl Delivery {
    /// The reply (or note) this outcome carries.
    pub fn reply(&self) -> &Reply {
        match self {
            Delivery::Sent(r)
            | Delivery::Transient(r)
            | Delivery::Permanent(r)
            | Delivery::Halt(r)
            | Delivery::Uncertain(r)
            | Delivery::Unreachable(r)
            | Delivery::Insecure(r) => r,
        }
    }

    pub fn into_reply(self) -> Reply {
        match self {
            Delivery::Sent(r)
            | Delivery::Transient(r)
            | Delivery::Permanent(r)
            | Delivery::Halt(r)
            | Delivery::Uncertain(r)
            | Delivery::Unreachable(r)
            | Delivery::Insecure(r) => r,
        }
    }

    /// The server said 421: the whole service is closing the channel (RFC
    /// 5321 §3.8), so the next messages would fare no better right now.
    pub fn service_unavailable(&self) -> bool {
        self.reply().code == Some(421)
    }
}

/// An RFC 3463 enhanced status code, `class.subject.detail` ("5.7.8").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Enhanced {
    /// 2 success, 4 persistent transient failure, 5 permanent failure.
    pub class: u8,
    /// 0 other, 1 addressing, 2 mailbox, 3 mail system, 4 network and
    /// routing, 5 protocol, 6 content, 7 security or policy.
    pub subject: u16,
    pub detail: u16,
}

impl Enhanced {
    /// Exactly one code, nothing around it: "5.1.1" (RFC 3463 §2: class is
    /// 2, 4 or 5; subject and detail are one to three digits).
    pub fn parse(word: &str) -> Option<Enhanced> {
        let mut parts = word.split('.');
        let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !matches!(class, "2" | "4" | "5") {
            return None;
        }
        let number = |s: &str| {
            (1..=3)
                .contains(&s.len())
                .then_some(s)
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u16>().ok())
        };
        Some(Enhanced {
            class: class.as_bytes()[0] - b'0',
            subject: number(subject)?,
            detail: number(detail)?,
        })
    }
}

impl std::fmt::Display for Enhanced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// A server's reply with its numbers read once, so that nothing downstream
/// ever looks at the words: the basic code (RFC 5321 §4.2, "550") and the
/// enhanced status code (RFC 3463, "5.1.1") when the server gave one.
/// Displayed as the server said it, on one line: "550 5.1.1 no such user".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: Option<u16>,
    pub enhanced: Option<Enhanced>,
    /// What follows the code: every line's text joined by a space (an
    /// enhanced code repeated on each line is kept once). Without a code,
    /// greet's own account of what happened.
    pub text: String,
}

impl Reply {
    /// A reply as it came over the wire, one line or several
    /// ("250-first\r\n250 last\r\n"). Anything that is not a reply (no
    /// valid code on its first line) is kept, trimmed, as text with no code.
    pub fn parse(raw: &str) -> Reply {
        let lines: Vec<&str> = raw
            .split('\n')
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty())
            .collect();
        let Some(code) = lines.first().and_then(|l| reply_code(l)) else {
            return Reply::note(lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" "));
        };
        let texts: Vec<&str> = lines
            .iter()
            .map(|l| match reply_code(l) {
                Some(c) if c == code => l.get(4..).unwrap_or(""),
                _ => l,
            })
            .collect();
        Reply::from_lines(code, &texts)
    }

    /// greet's own words, for an outcome that had no reply.
    pub fn note(text: impl Into<String>) -> Reply {
        Reply {
            code: None,
            enhanced: None,
            text: text.into(),
        }
    }

    /// 2xx or 3xx.
    pub fn is_positive(&self) -> bool {
        matches!(self.code, Some(200..=399))
    }

    fn from_lines(code: u16, texts: &[&str]) -> Reply {
        let enhanced = texts
            .first()
            .and_then(|t| t.split_ascii_whitespace().next())
            .and_then(Enhanced::parse);
        let repeated = enhanced.map(|e| e.to_string());
        let mut text = String::new();
        for (i, t) in texts.iter().enumerate() {
            let t = t.trim();
            let t = match &repeated {
                Some(e) if i > 0 => t
                    .strip_prefix(e.as_str())
                    .filter(|rest| rest.is_empty() || rest.starts_with(' '))
                    .map_or(t, str::trim_start),
                _ => t,
            };
            if t.is_empty() {
                continue;
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(t);
        }
        Reply {
            code: Some(code),
            enhanced,
            text,
        }
    }

    fn from_response(response: &Response) -> Reply {
        let lines: Vec<&str> = response.message().collect();
        Reply::from_lines(u16::from(response.code()), &lines)
    }

    /// The reply inside a lettre error: its code, and its lines as lettre
    /// joined them; without a code, the deepest cause lettre recorded.
    fn from_error(e: &smtp::Error) -> Reply {
        match e.status() {
            Some(code) => {
                let joined = deepest_cause(e).unwrap_or_default();
                Reply::from_lines(u16::from(code), &[joined.as_str()])
            }
            None => Reply::note(words(e)),
        }
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.text.is_empty()) {
            (Some(code), true) => write!(f, "{code}"),
            (Some(code), false) => write!(f, "{code} {}", self.text),
            (None, _) => f.write_str(&self.text),
        }
    }
}

/// The code at the start of a reply line: three digits, 2–5 then 0–5 then
/// any (RFC 5321 §4.2), followed by a space, a hyphen or the end.
fn reply_code(line: &str) -> Option<u16> {
    let b = line.as_bytes();
    let valid = b.len() >= 3
        && (b'2'..=b'5').contains(&b[0])
        && (b'0'..=b'5').contains(&b[1])
        && b[2].is_ascii_digit()
        && matches!(b.get(3), None | Some(b' ' | b'-'));
    valid.then(|| {
        u16::from(b[0] - b'0') * 100 + u16::from(b[1] - b'0') * 10 + u16::from(b[2] - b'0')
    })
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
            let folder = std::fs::File::open(dir)
                .with_context(|| format!("cannot open {}", dir.display()))?;
            Box::new(Outbox {
                dir: dir.clone(),
                folder,
            })
        }
        TransportKind::Sendmail { command } => Box::new(Sendmail {
            inner: lettre::SendmailTransport::new_with_command(command.as_os_str()),
            command: command.clone(),
        }),
        TransportKind::Smtp(settings) => Box::new(Smtp::new(settings, config.sender.domain())?),
    })
}

/// The outbox: one .eml file per greeting, written as a mail queue writes
/// its files. Each message goes to a hidden temporary sibling
/// (`.NAME.tmp`), is flushed to the disk, renamed into place and the
/// folder flushed too — all before `deliver` answers "written". So whoever
/// picks files up from the folder never sees half a message, and the
/// ledger never records a greeting whose file a power cut could still take
/// away (the ledger's outcome is committed after `deliver` returns).
struct Outbox {
    dir: PathBuf,
    /// The folder itself, kept open to flush its entries.
    folder: std::fs::File,
}

/// The temporary name a greeting's file is written under.
fn outbox_temporary(name: &str) -> String {
    format!(".{name}.tmp")
}

/// A temporary file a run left behind when it was killed mid-write.
fn is_outbox_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".eml.tmp")
}

impl Outbox {
    fn write(&self, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        use std::io::Write as _;
        let path = self.dir.join(name);
        let tmp = self.dir.join(outbox_temporary(name));
        let written = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_data()?;
            std::fs::rename(&tmp, &path)?;
            self.folder.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map(|()| path)
    }
}

impl Deliver for Outbox {
    fn describe(&self) -> String {
        format!("the outbox folder {}", self.dir.display())
    }
    /// Clear what a killed run left half-written (never a finished .eml).
    fn prepare(&mut self) -> Result<(), Delivery> {
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                if entry.file_name().to_str().is_some_and(is_outbox_temporary) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }
    fn deliver(&mut self, _: &Envelope, bytes: &[u8], name: &str) -> Delivery {
        match self.write(name, bytes) {
            Ok(path) => Delivery::Sent(Reply::note(format!("written to {}", path.display()))),
            // Not the account's fault: the folder itself cannot take it.
            Err(e) => Delivery::Unreachable(Reply::note(format!(
                "cannot write {}: {e}",
                self.dir.join(name).display()
            ))),
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
            Ok(()) => Delivery::Sent(Reply::note("handed to the local MTA")),
            // The MTA refusing the hand-over is not a verdict on the recipient.
            Err(e) => Delivery::Transient(Reply::note(format!(
                "{} refused the message: {e}",
                self.command.display()
            ))),
        }
    }
}

/// SMTP through one connection kept open across messages (lettre's
/// `SmtpConnection`, driven command by command so that every failure is
/// known to have happened before or after the final "." — the line between
/// "try again" and "uncertain"). When the server offers PIPELINING (RFC
/// 2920), MAIL, RCPT and DATA leave in one write and their replies are read
/// in order; the message itself waits for the 354.
struct Smtp {
    host: String,
    port: u16,
    security: Security,
    tls: Option<TlsParameters>,
    hello: ClientId,
    login: Login,
    timeout: Duration,
    conn: Option<Session>,
    label: String,
}

/// How a connection signs in.
enum Login {
    None,
    /// AUTH PLAIN with the password.
    Password(Credentials),
    /// AUTH XOAUTH2 with an access token from the token file.
    OAuth {
        user: String,
        signer: Box<crate::oauth::Signer>,
    },
}

/// An open connection and what its server offers beyond what lettre tracks.
struct Session {
    conn: SmtpConnection,
    pipelining: bool,
}

/// A password (`table`: `[transport]` or `[inbox]`): from the environment
/// variable or the file the config names — never from the command line. A
/// file readable by others is refused (the config check has said so before
/// anything was touched; this is the last guard).
pub fn password(source: &PasswordSource, table: &str) -> anyhow::Result<Option<String>> {
    match source {
        PasswordSource::None => Ok(None),
        PasswordSource::Env(var) => {
            let pw = std::env::var(var).with_context(|| {
                format!("{table} password_env names {var}, which is not set in the environment")
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
        let login = match (&s.username, &s.oauth) {
            (None, _) => Login::None,
            (Some(_), _) if s.security == Security::None => anyhow::bail!(
                "[transport] security = \"none\" with a username: greet never sends a password without TLS"
            ),
            (Some(user), Some(oauth)) => Login::OAuth {
                user: user.clone(),
                signer: Box::new(crate::oauth::Signer::new(oauth, user)),
            },
            (Some(user), None) => {
                let pw = password(&s.password, "[transport]")?
                    .context("[transport] username is set: name password_env or password_file")?;
                Login::Password(Credentials::new(user.clone(), pw))
            }
        };
        Ok(Smtp {
            label: format!("{}:{} ({how})", s.host, s.port),
            host: s.host.clone(),
            port: s.port,
            security: s.security,
            tls,
            hello: ClientId::Domain(hello.to_string()),
            login,
            timeout: s.timeout,
            conn: None,
        })
    }

    /// Open a signed-in connection. With a token (XOAUTH2) that the server
    /// refuses, the token is refreshed and the connection opened once more:
    /// a token can be refused before the time it was said to expire (the
    /// server's clock, a revocation it knows of first).
    fn connect(&self) -> Result<Session, Delivery> {
        let Login::OAuth { user, signer } = &self.login else {
            return self.open(None).map_err(Opened::into_delivery);
        };
        let token = signer.access_token(None).map_err(signed_out)?;
        match self.open(Some((user, &token))) {
            Err(Opened::TokenRefused(first)) => {
                let again = signer.access_token(Some(&token)).map_err(signed_out)?;
                self.open(Some((user, &again))).map_err(|refused| match refused {
                    Opened::TokenRefused(second) => Delivery::Halt(Reply::note(format!(
                        "the server refuses the signed-in account's token, fresh or not ({}); run `greet login` to sign in again",
                        second.or(first).map_or_else(|| "no reason given".into(), |r| r.to_string())
                    ))),
                    Opened::Other(d) => d,
                })
            }
            other => other.map_err(Opened::into_delivery),
        }
    }

    /// Open a connection: greeting, EHLO, STARTTLS (required when
    /// configured), then AUTH (only over TLS): PLAIN with the password, or
    /// XOAUTH2 with `token` for `user`.
    fn open(&self, token: Option<(&String, &String)>) -> Result<Session, Opened> {
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
        .map_err(|e| Opened::Other(at_connect(&e)))?;
        if self.security == Security::Starttls {
            let params = self.tls.as_ref().expect("built with the transport");
            if !conn.can_starttls() {
                conn.abort();
                return Err(Opened::Other(Delivery::Insecure(Reply::note(
                    "the server does not offer STARTTLS",
                ))));
            }
            conn.starttls(params, &self.hello)
                .map_err(|e| Opened::Other(at_connect(&e)))?;
        }
        // lettre keeps only the extensions it uses itself, so the EHLO is
        // asked once more (RFC 5321 §4.1.4 allows it; before AUTH, so that
        // nothing is reset after it) to learn whether PIPELINING is offered.
        let pipelining = match conn.command(Ehlo::new(self.hello.clone())) {
            Ok(reply) => reply.message().any(|line| {
                line.split_ascii_whitespace()
                    .next()
                    .is_some_and(|k| k.eq_ignore_ascii_case("PIPELINING"))
            }),
            Err(e) => {
                conn.abort();
                return Err(Opened::Other(at_connect(&e)));
            }
        };
        let auth = match (&self.login, token) {
            (Login::Password(credentials), _) => Some(conn.auth(&[Mechanism::Plain], credentials)),
            (Login::OAuth { .. }, Some((user, token))) => Some(conn.auth(
                &[Mechanism::Xoauth2],
                &Credentials::new(user.clone(), token.clone()),
            )),
            _ => None,
        };
        if let Some(Err(e)) = auth {
            conn.abort();
            // XOAUTH2: a refused token is answered by a 334 challenge (with
            // the error in JSON) that lettre does not take, or by 535 / 534 /
            // 530 — the token is what to renew. 454 and others are not about it.
            if token.is_some()
                && (e.is_client() || matches!(e.status().map(u16::from), Some(530 | 534 | 535)))
            {
                return Err(Opened::TokenRefused(
                    e.status().map(|_| Reply::from_error(&e)),
                ));
            }
            return Err(Opened::Other(at_connect(&e)));
        }
        Ok(Session { conn, pipelining })
    }
}

/// Why a connection did not open.
enum Opened {
    /// The server refused the XOAUTH2 token (its reply, if it gave one).
    TokenRefused(Option<Reply>),
    Other(Delivery),
}

impl Opened {
    fn into_delivery(self) -> Delivery {
        match self {
            Opened::TokenRefused(reply) => Delivery::Halt(reply.unwrap_or_else(|| {
                Reply::note("the server refuses the signed-in account's token")
            })),
            Opened::Other(d) => d,
        }
    }
}

/// No token to sign in with: the run stops before anything is marked.
fn signed_out(e: crate::oauth::SignInError) -> Delivery {
    match e {
        crate::oauth::SignInError::NeedsLogin(_) => Delivery::Halt(Reply::note(e.to_string())),
        crate::oauth::SignInError::Unreachable(_) => {
            Delivery::Unreachable(Reply::note(e.to_string()))
        }
    }
}

impl Session {
    /// One message on an open connection: the envelope (MAIL, RCPT, DATA —
    /// in one write when the server pipelines), then the message and its
    /// final "." once the server has said 354, and the server's verdict.
    /// `smtputf8`: the envelope has a non-ASCII address (the server offers it).
    fn transaction(
        &mut self,
        envelope: &Envelope,
        bytes: &[u8],
        smtputf8: bool,
    ) -> Result<Reply, Stopped> {
        let conn = &mut self.conn;
        let mut params = Vec::new();
        if smtputf8 {
            params.push(MailParameter::SmtpUtfEight);
        }
        if !bytes.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let mail = Mail::new(envelope.from().cloned(), params);
        if self.pipelining {
            envelope_in_one_write(conn, mail, envelope)?;
        } else {
            let step = |stage: Stage, r: Result<Response, smtp::Error>| match r {
                Ok(_) => Ok(()),
                Err(error) if error.status().is_some() => Err(Stopped::Refused {
                    at: stage,
                    error,
                    in_sync: true,
                }),
                Err(error) => Err(Stopped::Broken {
                    step: Step::Envelope,
                    error,
                }),
            };
            step(Stage::Mail, conn.command(mail))?;
            for to in envelope.to() {
                step(Stage::Rcpt, conn.command(Rcpt::new(to.clone(), vec![])))?;
            }
            step(Stage::Data, conn.command(Data))?;
        }
        match send_message(conn, bytes) {
            Ok(reply) => Ok(Reply::from_response(&reply)),
            Err(error) if error.status().is_some() => Err(Stopped::Refused {
                at: Stage::EndOfData,
                error,
                in_sync: true,
            }),
            Err(error) => Err(Stopped::Broken {
                step: Step::Body,
                error,
            }),
        }
    }
}

/// RFC 2920: MAIL, every RCPT and DATA (which must end a group) in one
/// write, then every reply read, in order, whatever the earlier ones said —
/// so that the session stays in step. The first refusal decides.
fn envelope_in_one_write(
    conn: &mut SmtpConnection,
    mail: Mail,
    envelope: &Envelope,
) -> Result<(), Stopped> {
    let mut group = mail.to_string();
    let mut stages = vec![Stage::Mail];
    for to in envelope.to() {
        group.push_str(&Rcpt::new(to.clone(), vec![]).to_string());
        stages.push(Stage::Rcpt);
    }
    group.push_str(&Data.to_string());
    stages.push(Stage::Data);

    let mut refused: Option<(Stage, smtp::Error)> = None;
    let mut data_open = false;
    for (i, &stage) in stages.iter().enumerate() {
        // `command` writes the whole group and reads the first reply.
        let reply = if i == 0 {
            conn.command(&group)
        } else {
            conn.read_response()
        };
        match reply {
            Ok(_) => data_open = stage == Stage::Data,
            Err(error) if error.status().is_some() => {
                refused.get_or_insert((stage, error));
            }
            // The connection failed inside the group: the message itself
            // was never written. A refusal already read still decides.
            Err(error) => {
                return Err(match refused {
                    Some((at, error)) => Stopped::Refused {
                        at,
                        error,
                        in_sync: false,
                    },
                    None => Stopped::Broken {
                        step: Step::Envelope,
                        error,
                    },
                });
            }
        }
    }
    match refused {
        None => Ok(()),
        // A server that opens DATA after refusing MAIL or RCPT (RFC 2920
        // §3.1 allows it) would take a "." as an empty message for whoever
        // it did accept: the session is dropped instead, unfinished.
        Some((at, error)) => Err(Stopped::Refused {
            at,
            error,
            in_sync: !data_open,
        }),
    }
}

/// The message after the 354: dot-stuffed, CRLF-terminated, then ".".
/// A UTF-8 message (all of greet's own) leaves in one write through
/// `command`, which takes text; any other bytes go through lettre's
/// `message`, which stuffs the same way and adds "\r\n.\r\n" in a second
/// write — lettre gives no other way to write bytes.
fn send_message(conn: &mut SmtpConnection, bytes: &[u8]) -> Result<Response, smtp::Error> {
    match String::from_utf8(dot_stuff(bytes)) {
        Ok(wire) => conn.command(wire),
        Err(_) => conn.message(bytes.strip_suffix(b"\r\n").unwrap_or(bytes)),
    }
}

/// The message as DATA content (RFC 5321 §4.5.2): a "." is added before
/// every line that starts with one — the first line, and every line after
/// a CRLF — on the bytes as they are, so that no 8-bit byte is altered;
/// then a CRLF unless the message ends with one, and the final ".".
fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 5);
    let mut line_start = true;
    let mut after_cr = false;
    for &b in message {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = after_cr && b == b'\n';
        after_cr = b == b'\r';
    }
    if !message.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

impl Drop for Smtp {
    fn drop(&mut self) {
        if let Some(mut session) = self.conn.take() {
            let _ = session.conn.quit();
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

/// Where in a transaction a connection failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    /// MAIL, RCPT or DATA: the message itself has not been handed over.
    Envelope,
    /// The message and its final "." were written; the reply was awaited.
    Body,
}

/// The command a reply answers, which decides what a refusal means.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stage {
    /// The greeting, EHLO, STARTTLS or AUTH: a refusal is about the service
    /// or the account, never a recipient.
    Connect,
    /// MAIL FROM: the sender, the same for every greeting.
    Mail,
    Rcpt,
    /// The DATA command, before any of the message.
    Data,
    /// The final ".": the verdict on the message.
    EndOfData,
}

/// How a transaction ended short of an accepted message.
enum Stopped {
    /// A reply refused it at `at`. `in_sync`: every reply of the exchange
    /// was read and nothing is pending, so the session can go on.
    Refused {
        at: Stage,
        error: smtp::Error,
        in_sync: bool,
    },
    /// The connection failed (no reply, or none that could be read).
    Broken { step: Step, error: smtp::Error },
}

/// The deepest cause lettre recorded: for a reply, its lines as lettre
/// joined them; for a failure, the system's or TLS library's own words.
fn deepest_cause(e: &smtp::Error) -> Option<String> {
    let mut inner = None;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        inner = Some(s.to_string());
        source = s.source();
    }
    inner
}

/// greet's words for an error that carries no reply: lettre's, with the
/// cause once ("network error: Connection refused (os error 111)").
fn words(e: &smtp::Error) -> String {
    match deepest_cause(e) {
        Some(words) => {
            format!("{e}: {words}").replace(&format!(": {words}: {words}"), &format!(": {words}"))
        }
        None => e.to_string(),
    }
}

/// The I/O error underneath a network failure, if there is one.
fn io_error(e: &smtp::Error) -> Option<&std::io::Error> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = s.source();
    }
    None
}

/// Whether TLS itself failed: lettre's TLS kind, or a rustls error (a
/// certificate that does not verify, a server that does not speak TLS)
/// carried inside the I/O error of the read or write that ran the handshake.
fn tls_failed(e: &smtp::Error) -> bool {
    e.is_tls()
        || io_error(e)
            .and_then(|io| io.get_ref())
            .is_some_and(|inner| inner.is::<rustls::Error>())
}

/// An error while opening the connection (greeting, EHLO, STARTTLS, AUTH).
fn at_connect(e: &smtp::Error) -> Delivery {
    if e.status().is_some() {
        return classify(Reply::from_error(e), Stage::Connect);
    }
    let reply = Reply::note(words(e));
    if tls_failed(e) {
        Delivery::Insecure(reply)
    } else if e.is_client() {
        // lettre refusing to go on: no authentication mechanism it can use.
        Delivery::Halt(reply)
    } else {
        // Refused, timed out, reset, no such host, closed before the greeting.
        Delivery::Unreachable(reply)
    }
}

/// A connection that failed inside a transaction: the step decides between
/// "not handed over" (try again) and "in doubt".
fn broken(step: Step, e: &smtp::Error) -> Delivery {
    use std::io::ErrorKind::{
        BrokenPipe, ConnectionAborted, ConnectionReset, TimedOut, WouldBlock,
    };
    let text = words(e);
    let kind = io_error(e).map(std::io::Error::kind);
    // A read timeout is WouldBlock on Linux (EAGAIN), TimedOut elsewhere.
    let timeout = matches!(kind, Some(WouldBlock | TimedOut));
    let note = |s: String| Reply::note(s);
    match step {
        Step::Envelope if timeout => Delivery::Transient(note(format!(
            "the server did not answer within the timeout before the message was sent ({text})"
        ))),
        Step::Envelope => Delivery::Transient(note(text)),
        // A reset (or a write that failed) means the server dropped data it
        // had not read: it never read the final ".", so nothing was accepted.
        Step::Body if matches!(kind, Some(ConnectionReset | BrokenPipe | ConnectionAborted)) => {
            Delivery::Transient(note(format!(
                "the connection was cut before the server read the whole message ({text})"
            )))
        }
        Step::Body if timeout => Delivery::Uncertain(note(format!(
            "no reply within the timeout after the message was sent ({text})"
        ))),
        // The server closed (end of file, "incomplete response") or sent
        // something that is not a reply, after the whole message.
        Step::Body => Delivery::Uncertain(note(format!(
            "the connection ended after the message was sent, before the reply ({text})"
        ))),
    }
}

/// Sort a server's reply into what the run must do (RELIABILITY rule 3),
/// by its numbers only.
///
/// | reply | at | outcome | why / source |
/// |---|---|---|---|
/// | 2xx, 3xx | any | `Sent` | |
/// | 530, 534, 535, 538, 454 | any | `Halt` | RFC 4954 §6: authentication required / mechanism too weak / credentials invalid / encryption required / temporary failure; 454 is also Amazon SES "Throttling failure" (rate and daily quota) |
/// | x.7.8, 4.7.12, x.7.13, 5.7.139 | any | `Halt` | RFC 4954 credentials invalid, password transition; RFC 5248 account disabled; Microsoft 365 "535 5.7.139 SmtpClientAuthentication is disabled" |
/// | 5.7.60, 5.7.501–503, 5.7.606–649, 5.7.705, 5.7.708, 5.7.750 | any | `Halt` | Microsoft 365: no right to send as this sender; sender banned for spam; sending IP banned; tenant over threshold; "traffic not accepted from this IP"; unregistered domain — the same for every greeting |
/// | 5.2.0, 5.2.252 | any | `Halt` | Microsoft 365 submission: "554 5.2.0 STOREDRV.Submission.Exception: SubmissionQuotaExceededException / OutboundSpamException", "SendAsDenied" — about the sending mailbox (4.2.0 is greylisting: transient) |
/// | x.4.5 | any | `Halt` | RFC 3463 "mail system congestion"; Gmail "550 5.4.5 Daily user sending limit exceeded" |
/// | 5xx but 552, 555, 5.6.x | MAIL | `Halt` | MAIL FROM names the sender, the same for every greeting (552 size, 555 parameters, 5.6.x content are about this message) |
/// | 5xx | greeting, EHLO, STARTTLS, AUTH | `Halt` | a refusal before any message is about the service or account |
/// | 421 | any | `Transient`, `service_unavailable()` | RFC 5321 §3.8 the service is closing the channel (Gmail "421 4.7.0 Try again later, closing connection", Yahoo "421 4.7.0 [TSS04] … temporarily deferred", Microsoft "421 4.3.2 Service not available") |
/// | 552 | RCPT | `Transient` | RFC 5321 §4.5.3.1.10: too many recipients, treat as 452 |
/// | other 4xx | any | `Transient` | greylisting "450 4.2.0", "451 4.7.1", Microsoft "451 4.7.500 Server busy", "432 4.3.2 recipient thread limit", "452 4.2.2 over quota" |
/// | x.7.0 alone | any | by its basic code | RFC 3463 "other security or policy status" is too broad to stop a run on: Gmail sends "552 5.7.0" for one blocked attachment; with 530 or 535 it halts by the rows above |
/// | other 4.7.x | any | `Transient` | policy deferrals: greylisting "451 4.7.1", Microsoft "451 4.7.500" |
/// | other 5xx | RCPT, DATA, "." | `Permanent` | "550 5.1.1 no such user", "554 5.7.1 rejected as spam", Yahoo "554 5.7.9 not accepted for policy reasons" (5.7.9 is RFC 4954's "mechanism too weak" only with 534) |
///
/// The basic code decides temporary or permanent; the enhanced code only
/// picks out the account-level replies (a mismatched class, "550 4.4.5",
/// still halts: the server is telling the account to stop either way).
pub fn classify(reply: Reply, at: Stage) -> Delivery {
    let Some(code) = reply.code else {
        // Not a reply at all: nothing can be concluded about the message.
        return Delivery::Transient(reply);
    };
    if reply.is_positive() {
        return Delivery::Sent(reply);
    }
    if code == 421 {
        // The service is closing the channel, whatever the enhanced code.
        return Delivery::Transient(reply);
    }
    let permanent = code >= 500;
    let account = matches!(code, 530 | 534 | 535 | 538 | 454)
        || reply.enhanced.is_some_and(|e| {
            matches!(
                (e.class, e.subject, e.detail),
                (4 | 5, 7, 8 | 13)
                    | (4, 7, 12)
                    | (5, 7, 60 | 139 | 501..=503 | 606..=649 | 705 | 708 | 750)
                    | (5, 2, 0 | 252)
                    | (_, 4, 5)
            )
        });
    let about_this_message =
        matches!(code, 552 | 555) || reply.enhanced.is_some_and(|e| e.subject == 6);
    if account
        || (permanent && at == Stage::Connect)
        || (permanent && at == Stage::Mail && !about_this_message)
    {
        return Delivery::Halt(reply);
    }
    if !permanent || (code == 552 && at == Stage::Rcpt) {
        return Delivery::Transient(reply);
    }
    Delivery::Permanent(reply)
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
            let mut session = match self.conn.take() {
                Some(s) => s,
                None => match self.connect() {
                    Ok(s) => s,
                    Err(d) => return d,
                },
            };
            if non_ascii
                && !session
                    .conn
                    .server_info()
                    .supports_feature(Extension::SmtpUtfEight)
            {
                self.conn = Some(session);
                return Delivery::Permanent(Reply::note(
                    "not sent: the address needs SMTPUTF8, which this server does not offer",
                ));
            }
            match session.transaction(envelope, bytes, non_ascii) {
                Ok(reply) => {
                    self.conn = Some(session);
                    return Delivery::Sent(reply);
                }
                Err(Stopped::Refused { at, error, in_sync }) => {
                    let reply = Reply::from_error(&error);
                    // A refusal with every reply read: the session is still
                    // good (after RSET, unless the transaction is over) —
                    // except after a 421, when the server is closing it.
                    let keep = in_sync
                        && reply.code != Some(421)
                        && (at == Stage::EndOfData || session.conn.command(Rset).is_ok());
                    if keep {
                        self.conn = Some(session);
                    } else {
                        session.conn.abort();
                    }
                    return classify(reply, at);
                }
                Err(Stopped::Broken { step, error }) => {
                    session.conn.abort();
                    if reused && step == Step::Envelope {
                        continue;
                    }
                    return broken(step, &error);
                }
            }
        }
        unreachable!("the second pass always returns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a server does with DATA content (RFC 5321 §4.5.2): the lines up
    /// to the lone ".", each with one leading "." removed.
    fn unstuff(wire: &[u8]) -> Vec<u8> {
        let body = wire
            .strip_suffix(b".\r\n")
            .expect("the content ends with the final \".\"");
        // A line, for SMTP, starts the content or follows a CRLF; a bare LF
        // does not end one.
        let mut out = Vec::new();
        for (i, &b) in body.iter().enumerate() {
            let line_start = i == 0 || (i >= 2 && &body[i - 2..i] == b"\r\n");
            if !(line_start && b == b'.') {
                out.push(b);
            }
        }
        out
    }

    /// The CRLF-separated lines of the content.
    fn lines(wire: &[u8]) -> Vec<&[u8]> {
        let mut lines = Vec::new();
        let mut start = 0;
        for i in 1..wire.len() {
            if wire[i - 1] == b'\r' && wire[i] == b'\n' {
                lines.push(&wire[start..i - 1]);
                start = i + 1;
            }
        }
        lines
    }

    #[test]
    fn lines_starting_with_a_dot_are_stuffed_and_the_end_is_marked() {
        let cases: &[(&[u8], &[u8])] = &[
            (
                b"Subject: x\r\n\r\n.hidden\r\nok\r\n..\r\n",
                b"Subject: x\r\n\r\n..hidden\r\nok\r\n...\r\n.\r\n",
            ),
            (b"no newline", b"no newline\r\n.\r\n"),
            (b".first line", b"..first line\r\n.\r\n"),
            (b".\r\n", b"..\r\n.\r\n"),
            (b"a\r\n.\r\nb\r\n", b"a\r\n..\r\nb\r\n.\r\n"),
            // A bare LF does not start an SMTP line: nothing to stuff.
            (b"a\n.b\r\n", b"a\n.b\r\n.\r\n"),
            (b"a\r.b", b"a\r.b\r\n.\r\n"),
            (b"", b"\r\n.\r\n"),
            // 8-bit ISO-8859-7 ("Καλημέρα") and invalid UTF-8 pass untouched.
            (
                b"\xca\xe1\xeb\xe7\xec\xdd\xf1\xe1\r\n.\xff\xfe\r\n",
                b"\xca\xe1\xeb\xe7\xec\xdd\xf1\xe1\r\n..\xff\xfe\r\n.\r\n",
            ),
        ];
        for (input, wire) in cases {
            assert_eq!(
                dot_stuff(input),
                wire.to_vec(),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn dot_stuffing_any_bytes_is_undone_by_the_server_and_ends_only_at_the_end(
            // Bytes rich in the characters that matter: CR, LF and ".".
            input in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), any::<u8>()],
                0..200,
            )
        ) {
            let wire = dot_stuff(&input);
            let mut expected = input.clone();
            if !expected.ends_with(b"\r\n") {
                expected.extend_from_slice(b"\r\n");
            }
            prop_assert_eq!(unstuff(&wire), expected);
            let lines = lines(&wire);
            let (last, before) = lines.split_last().expect("at least the final line");
            prop_assert_eq!(*last, &b"."[..]);
            prop_assert!(before.iter().all(|l| *l != b"."), "{:?}", String::from_utf8_lossy(&wire));
            prop_assert!(wire.ends_with(b"\r\n.\r\n") || wire == b"\r\n.\r\n");
        }
    }

    /// (who, the reply as it came over the wire, code, enhanced code, as shown)
    type Case = (
        &'static str,
        &'static str,
        Option<u16>,
        Option<(u8, u16, u16)>,
        &'static str,
    );

    /// Real replies as they come over the wire, and what is read from them.
    const REPLIES: &[Case] = &[
        (
            "Gmail",
            "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n550-5.1.1 double-checking the recipient's email address for typos or\r\n550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser - gsmtp\r\n",
            Some(550),
            Some((5, 1, 1)),
            "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser - gsmtp",
        ),
        (
            "Gmail",
            "535-5.7.8 Username and Password not accepted. For more information, go to\r\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials - gsmtp\r\n",
            Some(535),
            Some((5, 7, 8)),
            "535 5.7.8 Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials - gsmtp",
        ),
        (
            "Gmail",
            "421-4.7.0 Try again later, closing connection. (EHLO)\r\n421-4.7.0  For more information, go to\r\n421 4.7.0  https://support.google.com/a/answer/3221692 - gsmtp\r\n",
            Some(421),
            Some((4, 7, 0)),
            "421 4.7.0 Try again later, closing connection. (EHLO) For more information, go to https://support.google.com/a/answer/3221692 - gsmtp",
        ),
        (
            "Gmail",
            "550 5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852 - gsmtp",
            Some(550),
            Some((5, 4, 5)),
            "550 5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852 - gsmtp",
        ),
        (
            "Gmail",
            "530-5.7.0 Authentication Required. For more information, go to\r\n530 5.7.0  https://support.google.com/mail/?p=WantAuthError - gsmtp\r\n",
            Some(530),
            Some((5, 7, 0)),
            "530 5.7.0 Authentication Required. For more information, go to https://support.google.com/mail/?p=WantAuthError - gsmtp",
        ),
        (
            "Microsoft 365",
            "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message.",
            Some(554),
            Some((5, 2, 0)),
            "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message.",
        ),
        (
            "Microsoft 365",
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [AM0PR02CA0001.eurprd02.prod.outlook.com]\r\n",
            Some(535),
            Some((5, 7, 139)),
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [AM0PR02CA0001.eurprd02.prod.outlook.com]",
        ),
        (
            "Microsoft 365",
            "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(7171)",
            Some(550),
            Some((5, 7, 708)),
            "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(7171)",
        ),
        (
            "Microsoft 365",
            "421 4.3.2 Service not available, closing transmission channel",
            Some(421),
            Some((4, 3, 2)),
            "421 4.3.2 Service not available, closing transmission channel",
        ),
        (
            "Microsoft 365",
            "451 4.7.500 Server busy. Please try again later from [203.0.113.7]. (AS77712344)",
            Some(451),
            Some((4, 7, 500)),
            "451 4.7.500 Server busy. Please try again later from [203.0.113.7]. (AS77712344)",
        ),
        (
            "Yahoo",
            "421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
            Some(421),
            Some((4, 7, 0)),
            "421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
        ),
        (
            "Yahoo",
            "554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes",
            Some(554),
            Some((5, 7, 9)),
            "554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes",
        ),
        (
            "Postfix",
            "450 4.2.0 <narek@example.am>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.am.html\r\n",
            Some(450),
            Some((4, 2, 0)),
            "450 4.2.0 <narek@example.am>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.am.html",
        ),
        (
            "Postfix",
            "554 5.5.1 Error: no valid recipients\r\n",
            Some(554),
            Some((5, 5, 1)),
            "554 5.5.1 Error: no valid recipients",
        ),
        (
            "Postfix",
            "250 2.0.0 Ok: queued as 4FxK2T3xQnz9sWx\r\n",
            Some(250),
            Some((2, 0, 0)),
            "250 2.0.0 Ok: queued as 4FxK2T3xQnz9sWx",
        ),
        (
            "Exim",
            "550-Verification failed for <nobody@example.gr>\r\n550-Unrouteable address\r\n550 Sender verify failed\r\n",
            Some(550),
            None,
            "550 Verification failed for <nobody@example.gr> Unrouteable address Sender verify failed",
        ),
        (
            "Exim",
            "451 Temporary local problem - please try later\r\n",
            Some(451),
            None,
            "451 Temporary local problem - please try later",
        ),
        (
            "aiosmtpd",
            "250-127.0.0.1\r\n250-SIZE 33554432\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 HELP\r\n",
            Some(250),
            None,
            "250 127.0.0.1 SIZE 33554432 8BITMIME SMTPUTF8 HELP",
        ),
        (
            "aiosmtpd",
            "535 5.7.8 Authentication credentials invalid\r\n",
            Some(535),
            Some((5, 7, 8)),
            "535 5.7.8 Authentication credentials invalid",
        ),
        (
            "aiosmtpd",
            "354 End data with <CR><LF>.<CR><LF>\r\n",
            Some(354),
            None,
            "354 End data with <CR><LF>.<CR><LF>",
        ),
        ("bare code", "250\r\n", Some(250), None, "250"),
        (
            "LF only",
            "550 5.1.1 no such user\n",
            Some(550),
            Some((5, 1, 1)),
            "550 5.1.1 no such user",
        ),
        // Look-alikes that are not enhanced codes: text, not numbers.
        (
            "version",
            "220 mail.example.gr ESMTP 3.7.1 ready",
            Some(220),
            None,
            "220 mail.example.gr ESMTP 3.7.1 ready",
        ),
        ("class 3", "550 3.1.1 odd", Some(550), None, "550 3.1.1 odd"),
        (
            "four digits",
            "550 5.1.1000 odd",
            Some(550),
            None,
            "550 5.1.1000 odd",
        ),
        (
            "glued",
            "550 5.1.1: no such user",
            Some(550),
            None,
            "550 5.1.1: no such user",
        ),
        (
            "extra part",
            "550 5.1.1.1 odd",
            Some(550),
            None,
            "550 5.1.1.1 odd",
        ),
        // Not replies at all.
        ("garbage", "hello there\r\n", None, None, "hello there"),
        ("empty", "", None, None, ""),
        ("code 600", "600 5.1.1 nope", None, None, "600 5.1.1 nope"),
        ("code 260", "260 odd", None, None, "260 odd"),
        ("no separator", "550x5.1.1 no", None, None, "550x5.1.1 no"),
        ("two digits", "55 short", None, None, "55 short"),
        (
            "binary",
            "\u{0}\u{1}\u{fffd}\r\n",
            None,
            None,
            "\u{0}\u{1}\u{fffd}",
        ),
    ];

    #[test]
    fn replies_from_real_servers_are_read_into_their_numbers_and_shown_as_said() {
        for &(who, raw, code, enhanced, shown) in REPLIES {
            let reply = Reply::parse(raw);
            assert_eq!(reply.code, code, "{who}: {raw:?}");
            assert_eq!(
                reply.enhanced,
                enhanced.map(|(class, subject, detail)| Enhanced {
                    class,
                    subject,
                    detail
                }),
                "{who}: {raw:?}"
            );
            assert_eq!(reply.to_string(), shown, "{who}: {raw:?}");
            // What is shown reads back to the same numbers.
            let again = Reply::parse(&reply.to_string());
            assert_eq!(
                (again.code, again.enhanced),
                (code, reply.enhanced),
                "{who}"
            );
        }
    }

    #[test]
    fn enhanced_codes_are_three_numbers_of_the_right_sizes() {
        for (word, read) in [
            ("2.0.0", Some((2, 0, 0))),
            ("4.7.500", Some((4, 7, 500))),
            ("5.7.139", Some((5, 7, 139))),
            ("5.999.999", Some((5, 999, 999))),
            ("3.1.1", None),
            ("5.1", None),
            ("5..1", None),
            ("5.1.1.", None),
            ("5.1.1000", None),
            ("5.1000.1", None),
            ("55.1.1", None),
            ("5.1.x", None),
            ("5.+1.1", None),
            ("", None),
        ] {
            assert_eq!(
                Enhanced::parse(word).map(|e| (e.class, e.subject, e.detail)),
                read,
                "{word:?}"
            );
            if let Some(e) = Enhanced::parse(word) {
                assert_eq!(e.to_string(), word);
            }
        }
    }

    /// What each provider's reply means for the run, at the command it answers.
    #[test]
    fn replies_are_classified_by_their_numbers_as_the_reliability_rules_say() {
        use Stage::*;
        #[derive(Debug, PartialEq)]
        enum Is {
            Sent,
            Transient,
            Permanent,
            Halt,
        }
        let cases: &[(&str, Stage, Is)] = &[
            (
                "250 2.0.0 Ok: queued as 4FxK2T3xQnz9sWx",
                EndOfData,
                Is::Sent,
            ),
            ("354 go ahead", Data, Is::Sent),
            // Recipients.
            ("550 5.1.1 no such user", Rcpt, Is::Permanent),
            ("550 Unrouteable address", Rcpt, Is::Permanent),
            (
                "554 5.7.1 <x@example.gr>: Relay access denied",
                Rcpt,
                Is::Permanent,
            ),
            (
                "550 5.7.703 blocked by Tenant Allow Block List",
                Rcpt,
                Is::Permanent,
            ),
            ("552 5.2.2 mailbox full", Rcpt, Is::Transient),
            ("452 4.5.3 Too many recipients", Rcpt, Is::Transient),
            (
                "450 4.2.0 Recipient address rejected: Greylisted",
                Rcpt,
                Is::Transient,
            ),
            ("451 4.7.1 try again later", Rcpt, Is::Transient),
            (
                "432 4.3.2 STOREDRV.Deliver; recipient thread limit exceeded",
                Rcpt,
                Is::Transient,
            ),
            // Content.
            (
                "554 5.7.1 Message rejected as spam",
                EndOfData,
                Is::Permanent,
            ),
            (
                "554 5.7.9 Message not accepted for policy reasons",
                EndOfData,
                Is::Permanent,
            ),
            (
                "552-5.7.0 This message was blocked because its content presents a potential security issue",
                EndOfData,
                Is::Permanent,
            ),
            ("554 5.6.211 Invalid MIME Content", EndOfData, Is::Permanent),
            ("451 4.3.0 queue full", EndOfData, Is::Transient),
            (
                "451 4.7.500 Server busy. Please try again later",
                EndOfData,
                Is::Transient,
            ),
            ("554 5.5.1 Error: no valid recipients", Data, Is::Permanent),
            // The account, wherever it is said.
            (
                "535 5.7.8 Username and Password not accepted",
                Connect,
                Is::Halt,
            ),
            ("535 Incorrect authentication data", Connect, Is::Halt),
            ("530 5.7.0 Authentication Required", Mail, Is::Halt),
            (
                "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled",
                Connect,
                Is::Halt,
            ),
            (
                "454 4.7.0 Too many login attempts, please try again later",
                Connect,
                Is::Halt,
            ),
            (
                "454 Throttling failure: Daily message quota exceeded.",
                Mail,
                Is::Halt,
            ),
            (
                "432 4.7.12 A password transition is needed",
                Connect,
                Is::Halt,
            ),
            (
                "550 5.4.5 Daily user sending limit exceeded",
                Rcpt,
                Is::Halt,
            ),
            (
                "550 5.4.5 Daily user sending limit exceeded",
                EndOfData,
                Is::Halt,
            ),
            (
                "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException",
                EndOfData,
                Is::Halt,
            ),
            (
                "554 5.2.252 SendAsDenied; not allowed to send as this sender",
                EndOfData,
                Is::Halt,
            ),
            (
                "550 5.7.60 SMTP; Client does not have permissions to send as this sender",
                EndOfData,
                Is::Halt,
            ),
            (
                "550 5.7.708 Access denied, traffic not accepted from this IP",
                Rcpt,
                Is::Halt,
            ),
            (
                "550 5.7.501 Access denied, spam abuse detected",
                Mail,
                Is::Halt,
            ),
            (
                "550 5.7.606 Access denied, banned sending IP",
                Connect,
                Is::Halt,
            ),
            ("550 5.7.13 User account disabled", Mail, Is::Halt),
            // MAIL FROM is the sender, the same for every greeting.
            (
                "553 5.7.1 Sender address rejected: not owned by user",
                Mail,
                Is::Halt,
            ),
            ("550 5.1.0 Sender rejected", Mail, Is::Halt),
            (
                "555 5.5.4 Unsupported option: SMTPUTF8",
                Mail,
                Is::Permanent,
            ),
            (
                "552 5.3.4 Message size exceeds fixed limit",
                Mail,
                Is::Permanent,
            ),
            ("451 4.7.1 try again later", Mail, Is::Transient),
            // Before any message: the service.
            ("554 5.7.1 Client host rejected", Connect, Is::Halt),
            ("554 No SMTP service here", Connect, Is::Halt),
            (
                "450 4.7.1 Client host rejected: cannot find your hostname",
                Connect,
                Is::Transient,
            ),
            // 421: the service is closing, wherever it is said.
            (
                "421 4.7.0 Try again later, closing connection.",
                Connect,
                Is::Transient,
            ),
            (
                "421 4.7.0 [TSS04] Messages temporarily deferred",
                Mail,
                Is::Transient,
            ),
            (
                "421 4.3.2 Service not available, closing transmission channel",
                Rcpt,
                Is::Transient,
            ),
            (
                "421 4.4.5 Server busy, try again later.",
                Rcpt,
                Is::Transient,
            ),
        ];
        for (raw, at, expected) in cases {
            let reply = Reply::parse(raw);
            let d = classify(reply.clone(), *at);
            let is = match &d {
                Delivery::Sent(_) => Is::Sent,
                Delivery::Transient(_) => Is::Transient,
                Delivery::Permanent(_) => Is::Permanent,
                Delivery::Halt(_) => Is::Halt,
                other => panic!("{raw} at {at:?}: {other:?}"),
            };
            assert_eq!(&is, expected, "{raw} at {at:?}");
            assert_eq!(d.reply(), &reply, "the reply is carried unchanged");
            assert_eq!(
                d.service_unavailable(),
                raw.starts_with("421 "),
                "{raw} at {at:?}"
            );
        }
    }

    #[test]
    fn a_reply_without_a_code_is_never_taken_for_a_verdict() {
        for raw in ["", "hello", "incomplete response", "600 no"] {
            assert!(
                matches!(
                    classify(Reply::parse(raw), Stage::Rcpt),
                    Delivery::Transient(_)
                ),
                "{raw:?}"
            );
        }
    }
}
