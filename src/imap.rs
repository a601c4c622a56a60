//! The shop's mailbox over IMAP, for `greet inbox`: TLS always (IMAPS on
//! 993, or STARTTLS on 143, required), verified against the system's
//! roots plus `[inbox] ca_file`; a login with the password or, with
//! `auth = "oauth2"`, SASL XOAUTH2 with the signed-in account's token.
//!
//! The IMAP protocol is the `imap` crate's, over a rustls stream of our
//! own (no OpenSSL). Messages are read with `BODY.PEEK[]`, so a reply the
//! owner has not read stays unread.
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};

use crate::config::{Inbox as InboxSettings, InboxSecurity};

/// How greet signs in to the mailbox.
pub enum Login {
    Password {
        user: String,
        password: String,
    },
    /// SASL XOAUTH2 with the signed-in account's token.
    OAuth {
        user: String,
        signer: Box<crate::oauth::Signer>,
    },
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Why the mailbox could not be opened. Each is "try later" for a run:
/// nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No connection, or no TLS (including a certificate not trusted).
    #[error("{0}")]
    Unreachable(String),
    /// The server refused the login.
    #[error("{0}")]
    Refused(String),
}

/// What a folder is when selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selected {
    pub uid_validity: u32,
    pub exists: u32,
    /// The folder takes keywords of our own (`PERMANENTFLAGS` has `\*`);
    /// Exchange's IMAP, notably, does not.
    pub keywords: bool,
}

/// A signed-in IMAP session.
pub struct Mailbox {
    session: imap::Session<Tls>,
    label: String,
    can_move: bool,
    can_uid_expunge: bool,
}

/// The rustls client config: the platform's verifier, with the PEM
/// certificates of `ca_file` trusted besides the system's roots.
fn tls_config(settings: &InboxSettings) -> Result<Arc<rustls::ClientConfig>, OpenError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = match &settings.ca_file {
        None => rustls_platform_verifier::Verifier::new(provider.clone()),
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<_, _>>())
                .map_err(|e| {
                    OpenError::Unreachable(format!(
                        "[inbox] ca_file {}: not a PEM certificate file ({e})",
                        path.display()
                    ))
                })?;
            rustls_platform_verifier::Verifier::new_with_extra_roots(certs, provider.clone())
        }
    }
    .map_err(|e| OpenError::Unreachable(format!("cannot set up TLS: {e}")))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| OpenError::Unreachable(format!("cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Words for a failed connection or handshake, saying plainly when the
/// certificate is the cause.
fn io_words(label: &str, e: &std::io::Error) -> String {
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(why)) => format!(
            "{label}: the server's certificate is not trusted ({why:?}); if the mailbox uses its own certificate authority, name its PEM file in [inbox] ca_file"
        ),
        Some(other) => format!("{label}: TLS failed: {other}"),
        None => format!("{label}: {e}"),
    }
}

fn connect_tcp(settings: &InboxSettings, label: &str) -> Result<TcpStream, OpenError> {
    let addrs: Vec<_> = (settings.host.as_str(), settings.port)
        .to_socket_addrs()
        .map_err(|e| OpenError::Unreachable(format!("{label}: {e}")))?
        .collect();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, settings.timeout) {
            Ok(tcp) => {
                tcp.set_read_timeout(Some(settings.timeout))
                    .and_then(|()| tcp.set_write_timeout(Some(settings.timeout)))
                    .map_err(|e| OpenError::Unreachable(format!("{label}: {e}")))?;
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(OpenError::Unreachable(match last {
        Some(e) => format!("{label}: cannot connect: {e}"),
        None => format!("{label}: the host name has no address"),
    }))
}

/// Wrap `tcp` in TLS and finish the handshake now, so a certificate that
/// is not trusted is told as such (not as a broken IMAP exchange).
fn handshake(settings: &InboxSettings, label: &str, mut tcp: TcpStream) -> Result<Tls, OpenError> {
    let config = tls_config(settings)?;
    let name = ServerName::try_from(settings.host.clone())
        .map_err(|e| OpenError::Unreachable(format!("{label}: {e}")))?;
    let mut conn = rustls::ClientConnection::new(config, name)
        .map_err(|e| OpenError::Unreachable(format!("{label}: {e}")))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)
            .map_err(|e| OpenError::Unreachable(io_words(label, &e)))?;
    }
    Ok(rustls::StreamOwned::new(conn, tcp))
}

/// STARTTLS on the plain connection: the greeting, `STARTTLS`, its OK.
fn starttls(label: &str, tcp: &TcpStream) -> Result<(), OpenError> {
    let broken = |e: std::io::Error| OpenError::Unreachable(format!("{label}: {e}"));
    let mut reader = BufReader::new(tcp);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(broken)?;
    if !line.starts_with("* OK") {
        return Err(OpenError::Unreachable(format!(
            "{label}: not an IMAP server ready for us (it said {:?})",
            line.trim_end()
        )));
    }
    let mut w = tcp;
    w.write_all(b"g0 STARTTLS\r\n").map_err(broken)?;
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(broken)? == 0 {
            return Err(OpenError::Unreachable(format!(
                "{label}: the server closed the connection at STARTTLS"
            )));
        }
        if let Some(rest) = line.strip_prefix("g0 ") {
            if rest.starts_with("OK") {
                // Nothing may follow the OK before the handshake; the
                // buffered reader holds nothing more (the server waits).
                return Ok(());
            }
            return Err(OpenError::Unreachable(format!(
                "{label}: the server refuses STARTTLS ({}); greet never signs in without TLS",
                rest.trim_end()
            )));
        }
    }
}

/// The SASL XOAUTH2 initial response.
struct XOAuth2<'a> {
    user: &'a str,
    token: &'a str,
}

impl imap::Authenticator for XOAuth2<'_> {
    type Response = String;
    fn process(&self, _challenge: &[u8]) -> String {
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

fn refused(label: &str, e: &imap::Error) -> OpenError {
    match e {
        imap::Error::No(no) => OpenError::Refused(format!(
            "{label}: the server refuses the login: {}",
            no.information
        )),
        imap::Error::Bad(bad) => OpenError::Refused(format!(
            "{label}: the server refuses the login: {}",
            bad.information
        )),
        other => OpenError::Unreachable(format!("{label}: {other}")),
    }
}

impl Mailbox {
    /// Connect, TLS (verified), sign in.
    pub fn open(settings: &InboxSettings, login: &Login) -> Result<Mailbox, OpenError> {
        let how = match settings.security {
            InboxSecurity::Tls => "TLS",
            InboxSecurity::Starttls => "STARTTLS",
        };
        let label = format!("{}:{} ({how})", settings.host, settings.port);
        let tcp = connect_tcp(settings, &label)?;
        if settings.security == InboxSecurity::Starttls {
            starttls(&label, &tcp)?;
        }
        let tls = handshake(settings, &label, tcp)?;
        let mut client = imap::Client::new(tls);
        if settings.security == InboxSecurity::Tls {
            client
                .read_greeting()
                .map_err(|e| OpenError::Unreachable(format!("{label}: {e}")))?;
        }
        let session = match login {
            Login::Password { user, password } => client
                .login(user, password)
                .map_err(|(e, _)| refused(&label, &e))?,
            Login::OAuth { user, signer } => {
                let token = signer
                    .access_token(None)
                    .map_err(|e| OpenError::Refused(format!("{label}: {e}")))?;
                match client.authenticate(
                    "XOAUTH2",
                    &XOAuth2 {
                        user,
                        token: &token,
                    },
                ) {
                    Ok(s) => s,
                    // A token can be refused before it was said to expire:
                    // once more with a fresh one, on a new connection.
                    Err((imap::Error::No(_), _)) => {
                        let again = signer
                            .access_token(Some(&token))
                            .map_err(|e| OpenError::Refused(format!("{label}: {e}")))?;
                        let tcp = connect_tcp(settings, &label)?;
                        if settings.security == InboxSecurity::Starttls {
                            starttls(&label, &tcp)?;
                        }
                        let mut client = imap::Client::new(handshake(settings, &label, tcp)?);
                        if settings.security == InboxSecurity::Tls {
                            client
                                .read_greeting()
                                .map_err(|e| OpenError::Unreachable(format!("{label}: {e}")))?;
                        }
                        client
                            .authenticate(
                                "XOAUTH2",
                                &XOAuth2 {
                                    user,
                                    token: &again,
                                },
                            )
                            .map_err(|(e, _)| refused(&label, &e))?
                    }
                    Err((e, _)) => return Err(refused(&label, &e)),
                }
            }
        };
        let mut mailbox = Mailbox {
            session,
            label,
            can_move: false,
            can_uid_expunge: false,
        };
        let caps = mailbox
            .session
            .capabilities()
            .map_err(|e| OpenError::Unreachable(format!("{}: {e}", mailbox.label)))?;
        mailbox.can_move = caps.has_str("MOVE");
        mailbox.can_uid_expunge = caps.has_str("UIDPLUS");
        Ok(mailbox)
    }

    /// `host:port (TLS)`, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn err(&self, what: &str, e: imap::Error) -> anyhow::Error {
        anyhow::anyhow!("{}: {what}: {e}", self.label)
    }

    /// SELECT `folder` (read-write).
    pub fn select(&mut self, folder: &str) -> anyhow::Result<Selected> {
        let mb = self
            .session
            .select(folder)
            .map_err(|e| self.err(&format!("cannot open the folder {folder:?}"), e))?;
        let uid_validity = mb.uid_validity.ok_or_else(|| {
            anyhow::anyhow!(
                "{}: the folder {folder:?} has no UIDVALIDITY; greet cannot tell its messages apart",
                self.label
            )
        })?;
        Ok(Selected {
            uid_validity,
            exists: mb.exists,
            keywords: mb.permanent_flags.contains(&imap::types::Flag::MayCreate),
        })
    }

    /// CREATE (and SUBSCRIBE) `folder` unless it exists.
    pub fn ensure_folder(&mut self, folder: &str) -> anyhow::Result<()> {
        let names = self
            .session
            .list(None, Some(folder))
            .map_err(|e| self.err("cannot list the folders", e))?;
        if names.iter().any(|n| n.name() == folder) {
            return Ok(());
        }
        self.session
            .create(folder)
            .map_err(|e| self.err(&format!("cannot create the folder {folder:?}"), e))?;
        // Mail programs show subscribed folders; a refusal here is no reason
        // to stop (the folder exists).
        let _ = self.session.subscribe(folder);
        Ok(())
    }

    /// The UIDs of the selected folder's messages that arrived on or after
    /// `since` and, when given, are without `keyword`; ascending.
    pub fn uids_since(
        &mut self,
        since: chrono::NaiveDate,
        without: Option<&str>,
    ) -> anyhow::Result<Vec<u32>> {
        let mut query = format!("SINCE {}", since.format("%-d-%b-%Y"));
        if let Some(keyword) = without {
            query.push_str(&format!(" UNKEYWORD {keyword}"));
        }
        let found = self
            .session
            .uid_search(query)
            .map_err(|e| self.err("cannot search the folder", e))?;
        let mut uids: Vec<u32> = found.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The whole message `uid`, without marking it read. `None`: it is
    /// gone (another program moved or deleted it meanwhile).
    pub fn fetch(&mut self, uid: u32) -> anyhow::Result<Option<Vec<u8>>> {
        let fetches = self
            .session
            .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
            .map_err(|e| self.err(&format!("cannot read message {uid}"), e))?;
        Ok(fetches
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.body())
            .map(<[u8]>::to_vec))
    }

    /// Add `keyword` to message `uid`.
    pub fn flag(&mut self, uid: u32, keyword: &str) -> anyhow::Result<()> {
        self.session
            .uid_store(uid.to_string(), format!("+FLAGS.SILENT ({keyword})"))
            .map_err(|e| self.err(&format!("cannot flag message {uid}"), e))?;
        Ok(())
    }

    /// Move message `uid` to `folder`: MOVE where the server has it, else
    /// COPY, \Deleted and an expunge of that message only (UIDPLUS).
    pub fn move_to(&mut self, uid: u32, folder: &str) -> anyhow::Result<()> {
        let set = uid.to_string();
        if self.can_move {
            return self
                .session
                .uid_mv(&set, folder)
                .map_err(|e| self.err(&format!("cannot move message {uid} to {folder:?}"), e));
        }
        self.session
            .uid_copy(&set, folder)
            .map_err(|e| self.err(&format!("cannot copy message {uid} to {folder:?}"), e))?;
        self.session
            .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
            .map_err(|e| self.err(&format!("cannot remove message {uid}"), e))?;
        if self.can_uid_expunge {
            self.session
                .uid_expunge(&set)
                .map_err(|e| self.err(&format!("cannot remove message {uid}"), e))?;
        }
        // Without UIDPLUS the original stays, marked \Deleted, for the
        // owner's mail program to remove: an EXPUNGE (or CLOSE) would also
        // remove every message the owner marked deleted.
        Ok(())
    }

    /// LOGOUT (which expunges nothing).
    pub fn close(mut self) {
        let _ = self.session.logout();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xoauth2_response_names_the_user_and_the_bearer_token() {
        let a = XOAuth2 {
            user: "shop@example.test",
            token: "tok.en",
        };
        assert_eq!(
            imap::Authenticator::process(&a, b""),
            "user=shop@example.test\x01auth=Bearer tok.en\x01\x01"
        );
    }
}
