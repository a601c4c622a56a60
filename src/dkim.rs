//! DKIM signing (RFC 6376; Ed25519 as RFC 8463 has it) of the bytes greet
//! hands to a transport, right before it hands them over.
//!
//! Why signing lives here, as a [`Deliver`] wrapped around the transport:
//! every message greet sends goes through `Deliver::deliver` — the
//! dispatcher's greetings, a reviewed batch's files (read back from disk,
//! proven unchanged) and `--test-to` greetings (marked on the bytes) — so
//! wrapping that one call signs all of them, over exactly the bytes that
//! leave, and no transport (SMTP, sendmail, the outbox) knows about DKIM.
//! A retried delivery is signed again, so the bytes handed over are always
//! the bytes signed.
//!
//! Why greet signs itself instead of with lettre's `dkim` feature: lettre
//! signs a `lettre::Message` it is about to format, and here greet has raw
//! RFC 5322 bytes (a batch is files, a test greeting is edited bytes); it
//! also reads RSA keys as PKCS#1 only. `mail-auth` signs raw bytes but
//! brings a DNS resolver, a mail parser and builder, zip and flate2 along.
//! What DKIM needs is small: relaxed canonicalisation (below, unit-tested
//! on RFC 6376's own example), SHA-256 (`sha2`) and the signature (ring,
//! already here, constant-time: RSASSA-PKCS1-v1_5 and Ed25519). The `rsa`
//! crate reads PEM keys (PKCS#1 or PKCS#8) and makes new ones
//! (`greet dkim keygen`). An independent verifier (Python's dkimpy, with the
//! key served from a DNS server) checks the result in the integration tests.
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use lettre::address::Envelope;
use ring::signature::{Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use sha2::{Digest, Sha256};

use crate::config::{Config, DkimSettings};
use crate::transport::{Deliver, Delivery, Reply};

/// The header fields signed, in this order, each as often as the message
/// has it (absent ones are left out): what a reader sees and what says how
/// to read the body. `From` is listed once more than it occurs, so that a
/// second From added on the way breaks the signature (RFC 6376 §8.15).
pub const SIGNED: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// Weakest RSA key greet signs with: RFC 8301 says signers MUST use at
/// least 1024 bits, and Gmail's and Yahoo's sender rules ask for 2048.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA key: verifiers need not handle more (RFC 8301 §3.2), and a
/// larger key no longer fits a DNS record comfortably.
pub const MAX_RSA_BITS: usize = 4096;

enum KeyPair {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl KeyPair {
    fn algorithm(&self) -> &'static str {
        match self {
            KeyPair::Rsa(_) => "rsa-sha256",
            KeyPair::Ed25519(_) => "ed25519-sha256",
        }
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            KeyPair::Rsa(key) => {
                let mut sig = vec![0; key.public().modulus_len()];
                key.sign(
                    &RSA_PKCS1_SHA256,
                    &ring::rand::SystemRandom::new(),
                    data,
                    &mut sig,
                )
                .map_err(|_| "the RSA signature could not be made".to_string())?;
                Ok(sig)
            }
            // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the header data.
            KeyPair::Ed25519(key) => Ok(key.sign(&Sha256::digest(data)).as_ref().to_vec()),
        }
    }
}

/// Read an RSA private key from PEM, PKCS#1 (`BEGIN RSA PRIVATE KEY`) or
/// PKCS#8 (`BEGIN PRIVATE KEY`), of 2048 to 4096 bits; `Err` says why not,
/// in words for the owner that follow the file's name ("is …").
fn read_rsa(pem: &str) -> Result<RsaKeyPair, String> {
    use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    let pem = pem.trim();
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(
            "is encrypted with a passphrase; greet needs it unencrypted (and kept chmod 600): openssl pkey -in KEY -out NEW_KEY"
                .into(),
        );
    }
    let key = rsa::RsaPrivateKey::from_pkcs1_pem(pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs8_pem(pem))
        .map_err(|_| {
            "is not an RSA private key in PEM (\"BEGIN RSA PRIVATE KEY\" or \"BEGIN PRIVATE KEY\"); make one with `greet dkim keygen`"
                .to_string()
        })?;
    let bits = key.n().bits();
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "is a {bits}-bit RSA key: too weak, receivers want at least {MIN_RSA_BITS} bits; make a new one with `greet dkim keygen`"
        ));
    }
    if bits > MAX_RSA_BITS {
        return Err(format!(
            "is a {bits}-bit RSA key: receivers need not check keys over {MAX_RSA_BITS} bits; use a {MIN_RSA_BITS}-bit key (`greet dkim keygen`)"
        ));
    }
    let der = key
        .to_pkcs1_der()
        .map_err(|e| format!("cannot be used as an RSA key: {e}"))?;
    RsaKeyPair::from_der(der.as_bytes()).map_err(|e| format!("cannot be used as an RSA key: {e}"))
}

/// Read an Ed25519 private key from PKCS#8 PEM (`BEGIN PRIVATE KEY`, as
/// `openssl genpkey -algorithm ed25519` writes it).
fn read_ed25519(pem: &str) -> Result<Ed25519KeyPair, String> {
    let not = || {
        "is not an Ed25519 private key in PEM (\"BEGIN PRIVATE KEY\"; make one with `openssl genpkey -algorithm ed25519`)"
            .to_string()
    };
    let (label, der) =
        rsa::pkcs8::der::pem::decode_vec(pem.trim().as_bytes()).map_err(|_| not())?;
    if label != "PRIVATE KEY" {
        return Err(not());
    }
    Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).map_err(|_| not())
}

/// The keys and names a message is signed with.
pub struct Signer {
    /// `d=`: the signing domain, as an A-label.
    domain: String,
    /// (`s=`, key): the RSA signature first, then the Ed25519 one, if any.
    keys: Vec<(String, KeyPair)>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|(s, k)| format!("{s} ({})", k.algorithm()))
            .collect();
        f.debug_struct("Signer")
            .field("domain", &self.domain)
            .field("keys", &keys)
            .finish()
    }
}

/// Why a key file cannot be used: which `[dkim]` key, and the words.
pub type KeyProblem = (&'static str, String);

impl Signer {
    /// Read the keys `[dkim]` names. Every problem is returned: a file that
    /// others can read, that is missing, or that holds no usable key.
    pub fn load(settings: &DkimSettings) -> Result<Signer, Vec<KeyProblem>> {
        let mut problems = Vec::new();
        let rsa = read_key(&settings.key_file, "key_file", read_rsa, &mut problems);
        let ed25519 = settings.ed25519.as_ref().and_then(|(selector, path)| {
            read_key(path, "ed25519_key_file", read_ed25519, &mut problems)
                .map(|k| (selector.clone(), KeyPair::Ed25519(k)))
        });
        match rsa {
            Some(rsa) if problems.is_empty() => Ok(Signer {
                domain: settings.domain.clone(),
                keys: std::iter::once((settings.selector.clone(), KeyPair::Rsa(rsa)))
                    .chain(ed25519)
                    .collect(),
            }),
            _ => Err(problems),
        }
    }

    /// `message` with its DKIM-Signature header fields in front, signed at
    /// `time` (seconds since 1970). Bare CR or LF line ends are made CRLF
    /// first (greet's own messages have none): the bytes returned are the
    /// bytes signed.
    pub fn sign(&self, message: &[u8], time: u64) -> Result<Vec<u8>, String> {
        let message = crlf(message);
        let (head, body) = split(&message);
        let fields = fields(head);
        let bh = B64.encode(Sha256::digest(relaxed_body(body)));
        let names = signed_names(&fields);
        let data = selected(&fields, &names);
        let mut out = Vec::with_capacity(message.len() + 1024);
        for (selector, key) in &self.keys {
            let unsigned =
                unsigned_header(key.algorithm(), &self.domain, selector, time, &names, &bh);
            let mut hashed = data.clone();
            hashed.extend_from_slice(&relaxed_header(unsigned.as_bytes()));
            let signature = key.sign(&hashed)?;
            out.extend_from_slice(unsigned.as_bytes());
            out.extend_from_slice(fold_base64(&B64.encode(signature)).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(&message);
        Ok(out)
    }
}

fn read_key<K>(
    path: &Path,
    key: &'static str,
    read: fn(&str) -> Result<K, String>,
    problems: &mut Vec<KeyProblem>,
) -> Option<K> {
    let located = |why: String| (key, format!("[dkim] {key}: {why}"));
    if let Err(why) = crate::config::secret_file_problem(path) {
        problems.push(located(why));
        return None;
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(located(format!("cannot read {}: {e}", path.display())));
            return None;
        }
    };
    match read(&text) {
        Ok(k) => Some(k),
        Err(why) => {
            problems.push(located(format!("{} {why}", path.display())));
            None
        }
    }
}

/// The transport with every message signed before it is handed over.
pub struct Signing {
    inner: Box<dyn Deliver>,
    signer: Signer,
}

/// The configured transport, signing when `[dkim]` is set; a key that
/// cannot be used is exit 2 (`send` has checked the keys before anything
/// was touched, with located messages).
pub fn signing(inner: Box<dyn Deliver>, config: &Config) -> anyhow::Result<Box<dyn Deliver>> {
    let Some(settings) = &config.dkim else {
        return Ok(inner);
    };
    let signer = Signer::load(settings).map_err(|problems| {
        let file = config.path.display().to_string();
        crate::problem::fail_on(
            problems
                .into_iter()
                .map(|(key, why)| settings.problem(&file, key, why))
                .collect(),
        )
    })?;
    Ok(Box::new(Signing { inner, signer }))
}

impl Deliver for Signing {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn prepare(&mut self) -> Result<(), Delivery> {
        self.inner.prepare()
    }
    fn deliver(&mut self, envelope: &Envelope, bytes: &[u8], name: &str) -> Delivery {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        match self.signer.sign(bytes, now) {
            Ok(signed) => self.inner.deliver(envelope, &signed, name),
            // Nothing was handed over; the run stops with the greeting deferred.
            Err(why) => Delivery::Halt(Reply::parse(&format!("DKIM signing failed: {why}"))),
        }
    }
}

/// The DNS TXT record for an RSA public key (SubjectPublicKeyInfo, as
/// every verifier reads it), split into strings of at most 255 bytes as
/// DNS requires.
pub fn txt_record(spki_der: &[u8]) -> Vec<String> {
    let value = format!("v=DKIM1; k=rsa; p={}", B64.encode(spki_der));
    value
        .as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

/// Whether `selector` can stand before `._domainkey.` (and whether an
/// A-label domain is a host name): DNS labels of letters, digits and
/// hyphens (not at either end), separated by dots.
pub fn is_selector(selector: &str) -> bool {
    !selector.is_empty()
        && selector.len() <= 200
        && selector.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

// ---- canonicalisation (RFC 6376 §3.4), on bytes ----

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Every line end as CRLF (a bare CR or LF becomes CRLF).
fn crlf(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut i = 0;
    while i < message.len() {
        match message[i] {
            b'\r' if message.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The header block (each field ending in CRLF) and the body.
fn split(message: &[u8]) -> (&[u8], &[u8]) {
    if let Some(body) = message.strip_prefix(b"\r\n") {
        return (&[], body);
    }
    match message.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (&message[..i + 2], &message[i + 4..]),
        None => (message, &[]),
    }
}

/// A header field: its name, and all of it as written (folded lines
/// included, the last CRLF not).
struct Field<'a> {
    name: &'a [u8],
    raw: &'a [u8],
}

fn fields(head: &[u8]) -> Vec<Field<'_>> {
    let mut out: Vec<Field<'_>> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    // Field boundaries: a CRLF not followed by WSP.
    while i + 1 < head.len() {
        if head[i] == b'\r' && head[i + 1] == b'\n' && !head.get(i + 2).is_some_and(|b| is_wsp(*b))
        {
            let raw = &head[start..i];
            if let Some(colon) = raw.iter().position(|b| *b == b':') {
                let name = &raw[..colon];
                let name =
                    &name[..name.len() - name.iter().rev().take_while(|b| is_wsp(**b)).count()];
                out.push(Field { name, raw });
            }
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

/// A header field in the "relaxed" form: name lower-cased, lines unfolded,
/// runs of WSP made one space, none at either end of the value or around
/// the colon. No CRLF at the end.
fn relaxed_header(raw: &[u8]) -> Vec<u8> {
    let colon = raw.iter().position(|b| *b == b':').unwrap_or(raw.len());
    let name = &raw[..colon];
    let mut out: Vec<u8> = name
        .iter()
        .copied()
        .filter(|b| !is_wsp(*b))
        .map(|b| b.to_ascii_lowercase())
        .collect();
    out.push(b':');
    let value = raw.get(colon + 1..).unwrap_or_default();
    let (mut space, mut started) = (false, false);
    for &b in value {
        match b {
            b'\r' | b'\n' => {}
            b if is_wsp(b) => space = true,
            b => {
                if space && started {
                    out.push(b' ');
                }
                (space, started) = (false, true);
                out.push(b);
            }
        }
    }
    out
}

/// The body in the "relaxed" form: WSP runs made one space, none at line
/// ends, no empty lines at the end, and a final CRLF unless it is empty.
fn relaxed_body(body: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (line, next) = match rest.windows(2).position(|w| w == b"\r\n") {
            Some(i) => (&rest[..i], &rest[i + 2..]),
            None => (rest, &rest[rest.len()..]),
        };
        let mut out = Vec::with_capacity(line.len());
        let mut space = false;
        for &b in line {
            if is_wsp(b) {
                space = true;
            } else {
                if space {
                    out.push(b' ');
                }
                space = false;
                out.push(b);
            }
        }
        lines.push(out);
        rest = next;
    }
    while lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    let mut out = Vec::with_capacity(body.len());
    for line in lines {
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `h=`: each of [`SIGNED`] as often as the message has it, lower-cased,
/// and `from` once more.
fn signed_names(fields: &[Field<'_>]) -> Vec<String> {
    let mut names = Vec::new();
    for name in SIGNED {
        let n = fields
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
            .count();
        names.extend(std::iter::repeat_n(name.to_ascii_lowercase(), n));
    }
    names.push("from".into());
    names
}

/// The header data hashed for `h=`: for each name, the next field of that
/// name from the bottom up (RFC 6376 §5.4.2), relaxed, with CRLF; a name
/// with none left adds nothing.
fn selected(fields: &[Field<'_>], names: &[String]) -> Vec<u8> {
    let mut used = vec![false; fields.len()];
    let mut out = Vec::new();
    for name in names {
        let found = (0..fields.len())
            .rev()
            .find(|&i| !used[i] && fields[i].name.eq_ignore_ascii_case(name.as_bytes()));
        if let Some(i) = found {
            used[i] = true;
            out.extend_from_slice(&relaxed_header(fields[i].raw));
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// The DKIM-Signature field up to and including `b=`, folded to short lines.
fn unsigned_header(
    algorithm: &str,
    domain: &str,
    selector: &str,
    time: u64,
    names: &[String],
    bh: &str,
) -> String {
    let mut out = format!(
        "DKIM-Signature: v=1; a={algorithm}; c=relaxed/relaxed;\r\n\td={domain}; s={selector}; t={time};\r\n\th="
    );
    let mut line = 3;
    for (i, name) in names.iter().enumerate() {
        let piece = if i + 1 < names.len() {
            format!("{name}:")
        } else {
            format!("{name};")
        };
        if line + piece.len() > 76 {
            out.push_str("\r\n\t ");
            line = 2;
        }
        out.push_str(&piece);
        line += piece.len();
    }
    out.push_str(&format!("\r\n\tbh={bh};\r\n\tb="));
    out
}

/// The signature's base64, in lines of at most 72 characters.
fn fold_base64(b64: &str) -> String {
    b64.as_bytes()
        .chunks(72)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\r\n\t ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6376 §3.4.6, the worked example of relaxed canonicalisation.
    #[test]
    fn relaxed_canonicalisation_gives_what_rfc_6376_shows_for_its_example() {
        let message = b"A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
        let (head, body) = split(message);
        let fields = fields(head);
        let heads: Vec<Vec<u8>> = fields.iter().map(|f| relaxed_header(f.raw)).collect();
        assert_eq!(heads, vec![b"a:X".to_vec(), b"b:Y Z".to_vec()]);
        assert_eq!(relaxed_body(body), b" C\r\nD E\r\n");
    }

    #[test]
    fn the_relaxed_body_of_every_edge_case_is_as_rfc_6376_says() {
        for (body, want) in [
            (&b""[..], &b""[..]),
            (b"\r\n", b""),
            (b"\r\n\r\n\r\n", b""),
            (b"abc", b"abc\r\n"),
            (b"abc\r\n", b"abc\r\n"),
            (b"abc \t \r\n\r\n", b"abc\r\n"),
            (b"\r\nabc\r\n", b"\r\nabc\r\n"),
            (b"a  b\tc\r\n \r\nd", b"a b c\r\n\r\nd\r\n"),
            (
                " Χρόνια  πολλά \r\n".as_bytes(),
                " Χρόνια πολλά\r\n".as_bytes(),
            ),
        ] {
            assert_eq!(
                relaxed_body(body),
                want,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn header_fields_are_found_with_their_folded_lines_and_names_without_space() {
        let head = b"From: a@x.gr\r\nSubject: one\r\n two\r\nTo : b@x.gr\r\n";
        let f = fields(head);
        let names: Vec<&[u8]> = f.iter().map(|f| f.name).collect();
        assert_eq!(names, vec![&b"From"[..], b"Subject", b"To"]);
        assert_eq!(f[1].raw, b"Subject: one\r\n two");
        assert_eq!(relaxed_header(f[2].raw), b"to:b@x.gr");
        assert_eq!(relaxed_header(b"Subject:  a : b  "), b"subject:a : b");
    }

    #[test]
    fn a_message_without_a_body_or_without_headers_splits_cleanly() {
        assert_eq!(split(b"A: b\r\n"), (&b"A: b\r\n"[..], &b""[..]));
        assert_eq!(split(b"\r\nbody"), (&b""[..], &b"body"[..]));
        assert_eq!(split(b"A: b\r\n\r\n"), (&b"A: b\r\n"[..], &b""[..]));
    }

    #[test]
    fn bare_line_ends_become_crlf_and_crlf_stays() {
        assert_eq!(crlf(b"a\nb\rc\r\nd\n\n"), b"a\r\nb\r\nc\r\nd\r\n\r\n");
        assert_eq!(crlf(b"a\r\nb\r\n"), b"a\r\nb\r\n");
    }

    #[test]
    fn the_signed_names_follow_the_message_and_oversign_from() {
        let head = b"Date: d\r\nFrom: a\r\nTo: b\r\nTo: c\r\nX-Other: y\r\nList-Unsubscribe: <mailto:a>\r\n";
        let names = signed_names(&fields(head));
        assert_eq!(
            names,
            vec!["from", "to", "to", "date", "list-unsubscribe", "from"]
        );
        // The bottom-most To is hashed first; the second `from` adds nothing.
        let data = selected(&fields(head), &names);
        assert_eq!(
            data,
            b"from:a\r\nto:c\r\nto:b\r\ndate:d\r\nlist-unsubscribe:<mailto:a>\r\n"
        );
    }

    #[test]
    fn selectors_are_dns_labels() {
        for ok in ["greet", "2026-12", "a.b", "s1"] {
            assert!(is_selector(ok), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "-a",
            "a-",
            "a..b",
            "a_b",
            "κ",
            "a;b",
            &"x".repeat(64),
        ] {
            assert!(!is_selector(bad), "{bad}");
        }
    }

    #[test]
    fn a_txt_record_is_split_into_strings_of_at_most_255_bytes_that_join_back() {
        for len in [0, 1, 100, 162, 294, 550, 1000] {
            let der: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let parts = txt_record(&der);
            assert!(parts.iter().all(|p| p.len() <= 255 && !p.is_empty()));
            assert_eq!(
                parts.concat(),
                format!("v=DKIM1; k=rsa; p={}", B64.encode(&der))
            );
        }
    }

    #[test]
    fn the_unsigned_header_is_folded_to_short_lines_and_ends_in_b() {
        let names: Vec<String> = SIGNED.iter().map(|n| n.to_ascii_lowercase()).collect();
        let h = unsigned_header("rsa-sha256", "shop.gr", "greet", 1, &names, &"x".repeat(44));
        assert!(h.ends_with("\r\n\tb="));
        for line in h.split("\r\n") {
            assert!(line.len() <= 78, "{line:?}");
        }
        // Unfolded, the tags read as written.
        let relaxed = String::from_utf8(relaxed_header(h.as_bytes())).unwrap();
        assert!(relaxed.contains(
            "h=from:to:subject:date:message-id:mime-version:content-type: content-transfer-encoding:list-unsubscribe:list-unsubscribe-post;"
        ), "{relaxed}");
    }

    fn rsa_pem(bits: usize, pkcs8: bool) -> String {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        use rsa::pkcs8::EncodePrivateKey as _;
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).unwrap();
        let lf = rsa::pkcs8::LineEnding::LF;
        if pkcs8 {
            key.to_pkcs8_pem(lf).unwrap().to_string()
        } else {
            key.to_pkcs1_pem(lf).unwrap().to_string()
        }
    }

    fn ed25519_pem() -> String {
        let doc = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
        rsa::pkcs8::der::pem::encode_string("PRIVATE KEY", rsa::pkcs8::LineEnding::LF, doc.as_ref())
            .unwrap()
    }

    #[test]
    fn keys_are_read_in_either_pem_form_and_weak_or_foreign_keys_are_refused() {
        let pkcs1 = rsa_pem(2048, false);
        let pkcs8 = rsa_pem(2048, true);
        let ed = ed25519_pem();
        assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));
        for ok in [
            &pkcs1,
            &pkcs8,
            &format!("\n{pkcs1}\n\n"),
            &pkcs1.replace('\n', "\r\n"),
        ] {
            assert!(read_rsa(ok).is_ok(), "{ok}");
        }
        assert!(read_ed25519(&ed).is_ok());
        let refused = [
            (rsa_pem(1024, false), "is a 1024-bit RSA key: too weak"),
            (rsa_pem(2047, true), "is a 2047-bit RSA key: too weak"),
            (ed.clone(), "is not an RSA private key in PEM"),
            ("hello".into(), "is not an RSA private key in PEM"),
            (String::new(), "is not an RSA private key in PEM"),
            (pkcs1[..pkcs1.len() / 2].to_string(), "is not an RSA private key in PEM"),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n".into(),
                "is encrypted with a passphrase",
            ),
        ];
        for (pem, words) in refused {
            let why = read_rsa(&pem).err().unwrap_or_default();
            assert!(why.starts_with(words), "{words}: {why}");
        }
        for pem in [
            &pkcs1,
            &pkcs8,
            &"hello".to_string(),
            &ed.replace("PRIVATE KEY", "PUBLIC KEY"),
        ] {
            let why = read_ed25519(pem).err().unwrap_or_default();
            assert!(why.starts_with("is not an Ed25519 private key"), "{why}");
        }
    }

    #[test]
    fn what_is_signed_is_the_message_unchanged_under_its_signatures() {
        let signer = Signer {
            domain: "shop.gr".into(),
            keys: vec![
                (
                    "greet".into(),
                    KeyPair::Rsa(read_rsa(&rsa_pem(2048, false)).unwrap()),
                ),
                (
                    "ed".into(),
                    KeyPair::Ed25519(read_ed25519(&ed25519_pem()).unwrap()),
                ),
            ],
        };
        for message in [
            &b"From: a@shop.gr\r\nTo: b@x.gr\r\nSubject: hi\r\n\r\nbody\r\n"[..],
            b"From: a@shop.gr\r\n\r\n",
            b"From: a@shop.gr\r\n",
        ] {
            let signed = signer.sign(message, 1_800_000_000).unwrap();
            assert!(signed.ends_with(message));
            let head = String::from_utf8(signed[..signed.len() - message.len()].to_vec()).unwrap();
            let sigs: Vec<&str> = head
                .split("DKIM-Signature: ")
                .filter(|s| !s.is_empty())
                .collect();
            assert_eq!(sigs.len(), 2, "{head}");
            assert!(sigs[0].starts_with("v=1; a=rsa-sha256; c=relaxed/relaxed;"));
            assert!(sigs[1].starts_with("v=1; a=ed25519-sha256; c=relaxed/relaxed;"));
            assert!(
                sigs.iter()
                    .all(|s| s.contains("d=shop.gr;") && s.contains("t=1800000000;"))
            );
            // Each a header field of its own: folded lines only, CRLF at the end.
            for line in head.split_inclusive("\r\n") {
                assert!(line.ends_with("\r\n") && line.len() <= 80, "{line:?}");
            }
        }
        // Bare LF line ends are sent as CRLF, and signed as sent.
        let signed = signer
            .sign(b"From: a@shop.gr\nSubject: x\n\nbody\n", 1)
            .unwrap();
        assert!(signed.ends_with(b"From: a@shop.gr\r\nSubject: x\r\n\r\nbody\r\n"));
    }

    fn wsp() -> impl Strategy<Value = String> {
        prop::collection::vec(prop_oneof![Just(" "), Just("\t")], 1..4).prop_map(|v| v.concat())
    }

    proptest! {
        /// What relaxed canonicalisation forgives (refolding, more or other
        /// whitespace, trailing whitespace, empty lines at the end), a
        /// signature made before a relay's rewrite must survive.
        #[test]
        fn relaxed_forms_ignore_refolding_and_whitespace(
            words in prop::collection::vec("[A-Za-zΑ-ω0-9<>@.=?-]{1,12}", 1..12),
            seps in prop::collection::vec(wsp(), 12),
            folds in prop::collection::vec(any::<bool>(), 12),
            trailing in wsp(),
            empty_lines in 0usize..4,
        ) {
            let plain = format!("Subject: {}", words.join(" "));
            let mut messy = String::from("SUBJECT :");
            for (i, w) in words.iter().enumerate() {
                messy.push_str(if folds[i] { "\r\n" } else { "" });
                messy.push_str(&seps[i]);
                messy.push_str(w);
            }
            messy.push_str(&trailing);
            prop_assert_eq!(relaxed_header(plain.as_bytes()), relaxed_header(messy.as_bytes()));

            let body = format!("{}\r\n", words.join(" "));
            let mut messy_body = String::new();
            for (i, w) in words.iter().enumerate() {
                messy_body.push_str(w);
                messy_body.push_str(&seps[i]);
            }
            messy_body.push_str("\r\n");
            messy_body.push_str(&"\r\n".repeat(empty_lines));
            prop_assert_eq!(relaxed_body(body.as_bytes()), relaxed_body(messy_body.as_bytes()));
        }
    }
}
