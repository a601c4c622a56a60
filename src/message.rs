//! Stage 5: a rendered greeting → a standards-correct message (lettre).
//!
//! Every header is built through lettre's typed builder, never by parsing
//! rendered text, so customer data can only ever be a header *value*. The
//! Message-ID and the MIME boundary derive from the greeting's key: the same
//! greeting always composes to the same bytes (for a given Date), which is
//! what lets a preview be compared with what is sent.
use chrono::DateTime;
use chrono_tz::Tz;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use sha2::{Digest, Sha256};

use crate::config::Sender;
use crate::render::{Rendered, header_value};
use crate::unsubscribe::Links;

/// The identity of one greeting: (occasion, customer key, occurrence).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GreetingKey {
    pub occasion: String,
    pub customer: String,
    pub occurrence: String,
}

impl GreetingKey {
    fn digest_hex(&self) -> String {
        let mut h = Sha256::new();
        for part in [&self.occasion, &self.customer, &self.occurrence] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 32];
        for (i, b) in h.finalize()[..16].iter().enumerate() {
            hex[2 * i] = HEX[usize::from(b >> 4)];
            hex[2 * i + 1] = HEX[usize::from(b & 15)];
        }
        String::from_utf8(hex.to_vec()).unwrap_or_default()
    }

    /// `<3f2a….birthday.2026-03-14@shop.gr>`: on the sender's domain, the
    /// same for a deliberate resend of the same greeting.
    pub fn message_id(&self, domain: &str) -> String {
        format!("<{}@{domain}>", self.token())
    }

    /// The Message-ID's local part, `3f2a….birthday.2026-03-14`: the
    /// greeting's unsubscribe token (`greet inbox` matches replies by it).
    pub fn token(&self) -> String {
        let occ: String = self
            .occasion
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        format!("{}.{occ}.{}", self.digest_hex(), self.occurrence)
    }

    fn boundary(&self) -> String {
        format!("greet-{}", self.digest_hex())
    }
}

/// A domain as every relay and mail reader accepts it: an internationalised
/// domain as its A-label (`παράδειγμα.ελ` → `xn--hxajbheg2az3al.xn--qxam`),
/// an ASCII one as it is.
pub fn ascii_domain(domain: &str) -> String {
    if domain.is_ascii() {
        return domain.to_string();
    }
    idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_string())
}

/// An address with its domain as an A-label (RFC 5890); the local part is
/// kept as written (a UTF-8 local part needs SMTPUTF8 whatever is done).
pub fn ascii_address(addr: &str) -> String {
    match addr.rsplit_once('@') {
        Some((local, domain)) if !domain.is_ascii() => format!("{local}@{}", ascii_domain(domain)),
        _ => addr.to_string(),
    }
}

/// An address for the envelope and the headers: the domain in punycode
/// (xn--…), so that no 8-bit domain reaches a relay or a header (RFC 6531
/// allows U-labels only with SMTPUTF8; the A-label is valid everywhere).
fn header_address(addr: &str) -> Result<Address, String> {
    if let Some((_, domain)) = addr.rsplit_once('@')
        && !domain.is_ascii()
    {
        idna::domain_to_ascii(domain).map_err(|e| format!("address \"{addr}\": domain: {e}"))?;
    }
    ascii_address(addr)
        .parse()
        .map_err(|e| format!("address \"{addr}\": {e}"))
}

/// The SMTP envelope: the domain in punycode (xn--…), which every relay accepts.
pub fn envelope(from: &Address, to_email: &str) -> Result<lettre::address::Envelope, String> {
    let to = header_address(to_email)?;
    lettre::address::Envelope::new(Some(from.clone()), vec![to])
        .map_err(|e| format!("address \"{to_email}\": {e}"))
}

/// The one name of a greeting's .eml file, in an outbox and in a reviewed
/// batch (where `index` puts the files in reading order):
/// `0001-birthday-2026-03-14-maria@example.gr.eml`.
pub fn eml_name(key: &GreetingKey, index: Option<usize>) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '@' | '.' | '-' | '_' | '+') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let mut stem = format!(
        "{}-{}-{}",
        safe(&key.occasion),
        safe(&key.occurrence),
        safe(&key.customer)
    );
    // A file name has at most 255 bytes, and an address alone may have 254:
    // a long name keeps its beginning and ends with a digest of the whole,
    // so it stays readable and one per greeting.
    if stem.len() > MAX_STEM {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(stem.as_bytes());
        let mut cut = MAX_STEM - 17;
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        stem.truncate(cut);
        stem.push('-');
        for b in &digest[..8] {
            stem.push_str(&format!("{b:02x}"));
        }
    }
    match index {
        Some(i) => format!("{i:04}-{stem}.eml"),
        None => format!("{stem}.eml"),
    }
}

/// The longest file name stem, in bytes: with a batch's `0001-` in front,
/// `.eml` after, and the outbox's temporary `.` and `.tmp` around it, a name
/// stays well within the 255 bytes file systems allow.
const MAX_STEM: usize = 200;

/// A composed message as it goes out: the envelope it was built with and
/// its bytes.
pub fn into_parts(message: Message) -> (lettre::address::Envelope, Vec<u8>) {
    let envelope = message.envelope().clone();
    (envelope, message.formatted())
}

/// Compose the message. `date` is the Date header, in the business's time zone.
pub fn compose(
    sender: &Sender,
    to_name: &str,
    to_email: &str,
    key: &GreetingKey,
    rendered: &Rendered,
    date: DateTime<Tz>,
    unsubscribe: Option<&Links>,
) -> Result<Message, String> {
    let from_addr = header_address(&sender.email).map_err(|e| format!("sender {e}"))?;
    let to_addr = header_address(to_email)?;
    let envelope = envelope(&from_addr, to_email)?;
    let display = header_value(to_name);
    let from_name = header_value(&sender.name);
    let builder = Message::builder()
        .from(Mailbox::new(
            (!from_name.is_empty()).then_some(from_name),
            from_addr,
        ))
        .to(Mailbox::new(
            (!display.is_empty()).then_some(display),
            to_addr,
        ))
        .subject(header_value(&rendered.subject))
        .message_id(Some(key.message_id(sender.domain())))
        .envelope(envelope);
    let text = SinglePart::plain(rendered.text.clone());
    let mut message = match &rendered.html {
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .boundary(key.boundary())
                .singlepart(text)
                .singlepart(SinglePart::html(html.clone())),
        ),
        None => builder.singlepart(text),
    }
    .map_err(|e| format!("cannot compose the message: {e}"))?;
    // lettre writes Date in UTC; the business's own offset reads better and is equally valid.
    let headers = message.headers_mut();
    headers.remove_raw("Date");
    headers.insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("Date"),
        date.to_rfc2822(),
    ));
    // RFC 2369 / RFC 8058. The value is printable ASCII made only of the
    // config's addresses and the greeting's token, percent-encoded
    // ([`crate::unsubscribe`]); lettre folds it at the space between the
    // links when the line would pass 78 characters.
    if let Some(links) = unsubscribe {
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            links.header(),
        ));
        if links.one_click() {
            headers.insert_raw(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_string(),
            ));
        }
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_key_gives_a_file_name_within_the_limit_and_one_per_greeting() {
        let long = |customer: String| GreetingKey {
            occasion: "birthday".into(),
            occurrence: "2026-03-14".into(),
            customer,
        };
        let local = "α".repeat(32); // 64 bytes
        let label = "β".repeat(30);
        let domain = format!("{label}.{label}.{label}.example.gr");
        let mut names = std::collections::BTreeSet::new();
        for tail in ["a", "b", "ab", "ba"] {
            for customer in [
                format!("{local}@{domain}{tail}"),
                format!("{}{tail}@example.gr", "x".repeat(64)),
                format!("{}{tail}", "C".repeat(400)),
            ] {
                for index in [None, Some(1), Some(9999)] {
                    let name = eml_name(&long(customer.clone()), index);
                    let temporary = format!(".{name}.tmp");
                    assert!(temporary.len() <= 255, "{} bytes: {name}", temporary.len());
                    assert!(name.ends_with(".eml"), "{name}");
                    assert!(name.contains("birthday-2026-03-14-"), "{name}");
                    if index.is_none() {
                        assert!(names.insert(name.clone()), "the same name twice: {name}");
                    }
                }
            }
        }
        // A short key keeps its plain name.
        assert_eq!(
            eml_name(&long("C001".into()), Some(3)),
            "0003-birthday-2026-03-14-C001.eml"
        );
    }
    use chrono::TimeZone;

    fn sender() -> Sender {
        Sender {
            name: "Φούρνος της Μαρίνας".into(),
            email: "hello@fournos.example.gr".into(),
            signature: Default::default(),
        }
    }

    fn key() -> GreetingKey {
        GreetingKey {
            occasion: "birthday".into(),
            customer: "C001".into(),
            occurrence: "2026-03-14".into(),
        }
    }

    fn date() -> DateTime<Tz> {
        chrono_tz::Europe::Athens
            .with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
            .unwrap()
    }

    #[test]
    fn message_id_is_stable_and_on_the_sender_domain() {
        let id = key().message_id("fournos.example.gr");
        assert_eq!(id, key().message_id("fournos.example.gr"));
        assert!(
            id.ends_with(".birthday.2026-03-14@fournos.example.gr>"),
            "{id}"
        );
        let other = GreetingKey {
            customer: "C002".into(),
            ..key()
        };
        assert_ne!(id, other.message_id("fournos.example.gr"));
    }

    #[test]
    fn an_idn_domain_is_punycode_in_the_envelope_and_in_the_header() {
        let r = Rendered {
            subject: "Γεια".into(),
            text: "x".into(),
            html: None,
        };
        let m = compose(
            &sender(),
            "Ελένη",
            "eleni@παράδειγμα.ελ",
            &key(),
            &r,
            date(),
            None,
        )
        .unwrap();
        assert_eq!(
            m.envelope().to()[0].to_string(),
            "eleni@xn--hxajbheg2az3al.xn--qxam"
        );
        let head = String::from_utf8(m.formatted()).unwrap();
        assert!(
            head.contains("<eleni@xn--hxajbheg2az3al.xn--qxam>"),
            "{head}"
        );
        assert!(head.is_ascii(), "no 8-bit byte in the message: {head}");
    }

    #[test]
    fn a_name_with_line_breaks_adds_no_header_and_no_recipient() {
        let r = Rendered {
            subject: "Hi\r\nBcc: x@evil.example".into(),
            text: "body".into(),
            html: None,
        };
        let m = compose(
            &sender(),
            "Maria\r\nBcc: x@evil.example",
            "maria@example.gr",
            &key(),
            &r,
            date(),
            None,
        )
        .unwrap();
        let bytes = String::from_utf8(m.formatted()).unwrap();
        let head = bytes.split("\r\n\r\n").next().unwrap();
        assert!(!head.lines().any(|l| l.starts_with("Bcc")), "{head}");
        assert_eq!(m.envelope().to().len(), 1);
        assert!(
            head.contains("Date: Sat, 14 Mar 2026 09:00:00 +0200"),
            "{head}"
        );
    }
}
