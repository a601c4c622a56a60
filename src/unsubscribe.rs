//! How a customer asks to hear no more: the `List-Unsubscribe` header
//! (RFC 2369), one-click unsubscribe (RFC 8058) and `{{ unsubscribe }}`.
//!
//! Every greeting names a `mailto:` to the shop's own mailbox, with the
//! greeting's token in the subject (`greet inbox` reads the replies), and,
//! when the owner runs a web page for it, an `https:` URL carrying the same
//! token, announced with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
//!
//! The token is the local part of the greeting's Message-ID
//! (`3f2a….birthday.2026-03-14`): it names the greeting without naming the
//! customer, and is made of the digest, the occasion's name and the date —
//! never of anything a customer wrote. Everything that goes into a link is
//! percent-encoded here, so a header built from it is plain printable ASCII
//! without a space, a comma or an angle bracket inside the `<…>`.
use crate::config::OccasionKind;
use crate::message::GreetingKey;

/// Where the token goes in a configured URL.
pub const TOKEN: &str = "{token}";

/// The longest unsubscribe URL greet accepts, in bytes as it is sent. A
/// header line may hold at most 998 characters (RFC 5322 §2.1.1); folded,
/// each link of `List-Unsubscribe` stands on a line of its own, with the
/// token (about 60 characters) added.
pub const MAX_URL: usize = 800;

/// `[unsubscribe]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// The address replies go to, its domain in ASCII (A-labels).
    pub mailto: String,
    /// The https URL, as sent, with `{token}` where the token goes (greet
    /// adds `?token={token}` or `&token={token}` when the owner wrote none).
    pub url: Option<String>,
    /// Birthdays, anniversaries and name days carry the links too (default).
    pub dated_occasions: bool,
    /// Where `dated_occasions = false` is written (line, column), for the warning.
    pub dated_at: Option<(u64, u64)>,
}

impl Unsubscribe {
    /// The default: a mailto to the sender's own address, no URL, on every greeting.
    pub fn to_sender(sender_email: &str) -> Unsubscribe {
        Unsubscribe {
            mailto: sender_email.to_string(),
            url: None,
            dated_occasions: true,
            dated_at: None,
        }
    }

    /// Whether greetings of this kind carry the links: campaigns always;
    /// dated occasions unless the owner switched them off.
    pub fn applies_to(&self, kind: OccasionKind) -> bool {
        // A holiday goes to the whole list, like a campaign.
        matches!(kind, OccasionKind::Campaign | OccasionKind::Holiday) || self.dated_occasions
    }

    /// The links of one greeting, or `None` when its kind goes without.
    pub fn for_greeting(&self, kind: OccasionKind, key: &GreetingKey) -> Option<Links> {
        self.applies_to(kind).then(|| self.links(&key.token()))
    }

    /// The links for a token.
    pub fn links(&self, token: &str) -> Links {
        let token = pct(token, unreserved);
        Links {
            mailto: mailto_uri(&self.mailto, &token),
            https: self.url.as_ref().map(|u| u.replace(TOKEN, &token)),
        }
    }
}

/// The unsubscribe links of one greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// `mailto:shop@example.gr?subject=unsubscribe%20TOKEN`
    pub mailto: String,
    /// The owner's https URL with the token in it.
    pub https: Option<String>,
}

impl Links {
    /// What `{{ unsubscribe }}` prints: the web page when there is one (a
    /// click does it), else the mailto.
    pub fn for_template(&self) -> &str {
        self.https.as_deref().unwrap_or(&self.mailto)
    }

    /// The value of `List-Unsubscribe`: the https link first (the one
    /// RFC 8058 one-click uses), then the mailto.
    pub fn header(&self) -> String {
        match &self.https {
            Some(url) => format!("<{url}>, <{}>", self.mailto),
            None => format!("<{}>", self.mailto),
        }
    }

    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` goes only with an
    /// https link (RFC 8058 §3.1).
    pub fn one_click(&self) -> bool {
        self.https.is_some()
    }
}

/// RFC 3986 unreserved characters.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Characters an address keeps as they are in a mailto (RFC 6068 `qchar`,
/// narrowed: no `'`, `(`, `)`, `,`, `;`, `:`, which some readers of
/// headers take for syntax).
fn address_char(b: u8) -> bool {
    unreserved(b) || matches!(b, b'!' | b'$' | b'*' | b'+')
}

/// Percent-encode every byte `keep` refuses (UTF-8 bytes included).
fn pct(s: &str, keep: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `mailto:ADDRESS?subject=unsubscribe%20TOKEN` (RFC 6068); the domain in
/// ASCII, anything else outside the safe set percent-encoded. `token` is
/// already encoded.
pub fn mailto_uri(address: &str, token: &str) -> String {
    let address = crate::message::ascii_address(address);
    let (local, domain) = address.rsplit_once('@').unwrap_or((&address, ""));
    format!(
        "mailto:{}@{}?subject=unsubscribe%20{token}",
        pct(local, address_char),
        pct(domain, address_char)
    )
}

/// The address `[unsubscribe] mailto` names, checked and with its domain in
/// ASCII; `Err` says why it cannot be used.
pub fn check_mailto(written: &str) -> Result<String, String> {
    let normalised = crate::customer::email::normalise(written);
    let address = normalised.address.as_ref();
    if let Some(why) = crate::customer::email::problem(address) {
        return Err(format!("[unsubscribe] mailto: {why}"));
    }
    if let Some((_, domain)) = address.rsplit_once('@')
        && !domain.is_ascii()
        && idna::domain_to_ascii(domain).is_err()
    {
        return Err(format!(
            "[unsubscribe] mailto: the domain of \"{address}\" is not a valid internationalised domain"
        ));
    }
    Ok(crate::message::ascii_address(address))
}

/// The URL `[unsubscribe] url` names, as it will be sent: https only, a
/// host, no user name or password, no `#fragment` (never sent to the
/// server), `{token}` nowhere but in the path or query, and the token added
/// as `?token=`/`&token=` when it names no place for it. An international
/// host becomes its A-label, and any other character outside what a URL
/// may hold is percent-encoded.
pub fn check_url(written: &str) -> Result<String, String> {
    let shown = |w: &str| w.chars().flat_map(char::escape_debug).collect::<String>();
    let written_shown = shown(written);
    let trimmed = written.trim();
    if trimmed.is_empty() {
        return Err("[unsubscribe] url is empty; give an https:// address or remove url".into());
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "[unsubscribe] url \"{written_shown}\" contains a space or a control character"
        ));
    }
    // The placeholder survives URL parsing as it is (lower-case letters and
    // digits), so it can be put back afterwards.
    const MARK: &str = "greetunsubscribetoken0";
    let has_token = trimmed.contains(TOKEN);
    let marked = trimmed.replace(TOKEN, MARK);
    if marked.contains(['{', '}']) {
        return Err(format!(
            "[unsubscribe] url \"{written_shown}\" has a {{…}} other than {TOKEN}; write {TOKEN} where the greeting's token goes, or leave it out and greet adds ?token=…"
        ));
    }
    let scheme = marked.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("https") => {}
        Some("http") => {
            return Err(format!(
                "[unsubscribe] url \"{written_shown}\" is http; one-click unsubscribe (RFC 8058) works only over https: write https://…"
            ));
        }
        Some(other)
            if !other.is_empty()
                && other
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            return Err(format!(
                "[unsubscribe] url \"{written_shown}\" uses the {other}: scheme; the unsubscribe link must be an https:// web address"
            ));
        }
        _ => {
            return Err(format!(
                "[unsubscribe] url \"{written_shown}\" is not a web address; write it as https://…"
            ));
        }
    }
    let url = url::Url::parse(&marked)
        .map_err(|e| format!("[unsubscribe] url \"{written_shown}\" is not a web address: {e}"))?;
    let host = url.host_str().unwrap_or("");
    if host.is_empty() {
        return Err(format!(
            "[unsubscribe] url \"{written_shown}\" has no host; write it as https://shop.example/unsubscribe"
        ));
    }
    if host.contains(MARK) {
        return Err(format!(
            "[unsubscribe] url \"{written_shown}\": {TOKEN} may stand in the path or the query, not in the host"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "[unsubscribe] url \"{written_shown}\" carries a user name or password, which every recipient would see; remove it"
        ));
    }
    if url.fragment().is_some() {
        return Err(format!(
            "[unsubscribe] url \"{written_shown}\" has a #fragment, which never reaches the server; remove it"
        ));
    }
    // What a reader of mail headers could take for syntax — `(` opens a
    // comment, `,` separates links — is percent-encoded in the path and
    // query too (a web server decodes it the same).
    let (origin, rest) = url
        .as_str()
        .split_at(url[..url::Position::BeforePath].len());
    let mut sent = origin.to_string();
    for c in rest.chars() {
        match c {
            '(' | ')' | ',' | '\'' | '"' | '<' | '>' | '\\' | '[' | ']' | '{' | '}' | '|' | '^'
            | '`' => sent.push_str(&format!("%{:02X}", u32::from(c))),
            c => sent.push(c),
        }
    }
    let mut sent = sent.replace(MARK, TOKEN);
    if !has_token {
        sent.push(if url.query().is_some() { '&' } else { '?' });
        sent.push_str("token=");
        sent.push_str(TOKEN);
    }
    if sent.len() > MAX_URL {
        return Err(format!(
            "[unsubscribe] url is {} bytes long; a mail header line holds at most 998 characters, so keep it under {MAX_URL}",
            sent.len()
        ));
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: Option<&str>) -> Unsubscribe {
        Unsubscribe {
            url: url.map(|u| check_url(u).unwrap()),
            ..Unsubscribe::to_sender("hello@fournos.example.gr")
        }
    }

    #[test]
    fn a_url_gets_the_token_where_it_says_or_as_a_query_parameter() {
        let table = [
            ("https://shop.gr/u/{token}", "https://shop.gr/u/T.b.1"),
            (
                "https://shop.gr/u?t={token}&x=1",
                "https://shop.gr/u?t=T.b.1&x=1",
            ),
            ("https://shop.gr/u", "https://shop.gr/u?token=T.b.1"),
            ("https://shop.gr", "https://shop.gr/?token=T.b.1"),
            (
                "https://shop.gr/u?list=a",
                "https://shop.gr/u?list=a&token=T.b.1",
            ),
            ("HTTPS://Shop.GR/u", "https://shop.gr/u?token=T.b.1"),
            (
                "https://φούρνος.gr/u",
                "https://xn--yxadbght4c.gr/u?token=T.b.1",
            ),
            ("https://shop.gr/δ/{token}", "https://shop.gr/%CE%B4/T.b.1"),
            (
                "https://shop.gr:8443/u",
                "https://shop.gr:8443/u?token=T.b.1",
            ),
        ];
        for (written, want) in table {
            let links = settings(Some(written)).links("T.b.1");
            assert_eq!(links.https.as_deref(), Some(want), "{written}");
            assert!(links.header().is_ascii(), "{written}");
        }
    }

    #[test]
    fn only_an_https_url_with_a_host_is_accepted() {
        let refused = [
            ("http://shop.gr/u", "is http"),
            ("ftp://shop.gr/u", "uses the ftp: scheme"),
            ("mailto:a@b.gr", "uses the mailto: scheme"),
            ("javascript:alert(1)", "uses the javascript: scheme"),
            ("shop.gr/unsubscribe", "is not a web address"),
            ("//shop.gr/u", "is not a web address"),
            ("not a url", "contains a space"),
            ("https://", "not a web address"),
            ("https://shop.gr/u#x", "#fragment"),
            ("https://me:pw@shop.gr/u", "user name or password"),
            ("https://{token}.shop.gr/", "not in the host"),
            ("https://shop.gr/{tokn}", "other than {token}"),
            ("https://shop.gr/\r\nBcc: x@evil.gr", "control character"),
            ("", "is empty"),
        ];
        for (written, why) in refused {
            let e = check_url(written).unwrap_err();
            assert!(e.contains(why), "{written:?}: {e}");
            assert!(!e.ends_with('.'), "{e}");
            assert!(!e.contains('\n') && !e.contains('\r'), "{e:?}");
        }
        let long = format!("https://shop.gr/{}", "a".repeat(MAX_URL));
        assert!(check_url(&long).unwrap_err().contains("998"));
    }

    #[test]
    fn the_mailto_names_the_token_and_keeps_the_address_safe() {
        let table = [
            (
                "hello@fournos.example.gr",
                "mailto:hello@fournos.example.gr?subject=unsubscribe%20T.b.1",
            ),
            (
                "μαρίνα@φούρνος.gr",
                "mailto:%CE%BC%CE%B1%CF%81%CE%AF%CE%BD%CE%B1@xn--yxadbght4c.gr?subject=unsubscribe%20T.b.1",
            ),
            (
                "a+b@shop.gr",
                "mailto:a+b@shop.gr?subject=unsubscribe%20T.b.1",
            ),
            (
                "o'neil&co=x?y#z/w@shop.gr",
                "mailto:o%27neil%26co%3Dx%3Fy%23z%2Fw@shop.gr?subject=unsubscribe%20T.b.1",
            ),
        ];
        for (address, want) in table {
            let links = Unsubscribe::to_sender(address).links("T.b.1");
            assert_eq!(links.mailto, want);
            assert_eq!(links.header(), format!("<{want}>"));
            assert!(!links.one_click());
            assert_eq!(links.for_template(), want);
        }
    }

    #[test]
    fn the_header_holds_only_safe_ascii_whatever_the_token() {
        let u = settings(Some("https://shop.gr/u/{token}"));
        for token in ["a.b.1", "x\r\ny", "<>,;\"", "Ω\u{2028}\u{202e}", " "] {
            let links = u.links(token);
            let header = links.header();
            let inside = |s: &str| {
                s.bytes()
                    .all(|b| b.is_ascii_graphic() && !b"<>,\"()".contains(&b))
            };
            assert!(inside(&links.mailto), "{token:?}: {header}");
            assert!(
                inside(links.https.as_deref().unwrap()),
                "{token:?}: {header}"
            );
            assert!(links.one_click());
            assert_eq!(links.for_template(), links.https.as_deref().unwrap());
        }
    }

    #[test]
    fn dated_occasions_may_go_without_and_campaigns_never_do() {
        let key = GreetingKey {
            occasion: "birthday".into(),
            customer: "C1".into(),
            occurrence: "2026-03-14".into(),
        };
        let off = Unsubscribe {
            dated_occasions: false,
            ..settings(None)
        };
        for kind in [
            OccasionKind::Birthday,
            OccasionKind::Anniversary,
            OccasionKind::Nameday,
        ] {
            assert!(off.for_greeting(kind, &key).is_none());
            assert!(settings(None).for_greeting(kind, &key).is_some());
        }
        assert!(off.for_greeting(OccasionKind::Campaign, &key).is_some());
        // A holiday goes to the whole list: it carries them like a campaign.
        assert!(off.for_greeting(OccasionKind::Holiday, &key).is_some());
    }

    #[test]
    fn a_mailto_that_is_not_an_address_is_refused() {
        for bad in ["", "shop", "a@@b.gr", "a b@shop.gr", "<a@b.gr>", "a@b"] {
            assert!(check_mailto(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_mailto(" unsubscribe@φούρνος.gr ").unwrap(),
            "unsubscribe@xn--yxadbght4c.gr"
        );
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the owner writes that greet accepts, and whatever the
        /// greeting, the composed message carries the links in one
        /// List-Unsubscribe field that a mail parser reads back exactly,
        /// One-Click only with https, every line within 998 bytes.
        #[test]
        fn any_accepted_setting_composes_a_header_that_reads_back_exactly(
            local in "[\\p{L}\\p{N}!#$%&'*+/=?^_`{|}~.-]{1,20}",
            path in "[\\p{L}\\p{N}/?&=%:;,@!$'()*+ ._~\\[\\]<>\"-]{0,40}",
            with_token in any::<bool>(),
            with_url in any::<bool>(),
            occasion in "[a-z][a-z0-9-]{0,12}",
            customer in "\\PC{0,30}",
            name in "\\PC{0,30}",
        ) {
            let Ok(mailto) = check_mailto(&format!("{local}@φούρνος.example.gr")) else {
                return Ok(());
            };
            let url = if with_url {
                let token = if with_token { TOKEN } else { "" };
                match check_url(&format!("https://shop.example.gr/{path}{token}")) {
                    Ok(u) => Some(u),
                    Err(_) => return Ok(()),
                }
            } else {
                None
            };
            let settings = Unsubscribe { mailto, url, dated_occasions: true, dated_at: None };
            let key = GreetingKey { occasion, customer, occurrence: "2026-03-14".into() };
            let links = settings.for_greeting(OccasionKind::Campaign, &key).unwrap();
            let sender = crate::config::Sender {
                name: "Φούρνος".into(),
                email: "hello@shop.example.gr".into(),
                signature: Default::default(),
            };
            let rendered = crate::render::Rendered { subject: "Hi".into(), text: "x".into(), html: None };
            let date = chrono::TimeZone::with_ymd_and_hms(&chrono_tz::Europe::Athens, 2026, 3, 14, 9, 0, 0).unwrap();
            let m = crate::message::compose(&sender, &name, "c@example.gr", &key, &rendered, date, Some(&links)).unwrap();
            let bytes = m.formatted();
            let head = String::from_utf8(bytes.clone()).unwrap();
            let head = head.split("\r\n\r\n").next().unwrap();
            prop_assert!(head.is_ascii());
            prop_assert!(head.split("\r\n").all(|l| l.len() <= 998));
            prop_assert_eq!(head.matches("\r\nList-Unsubscribe:").count(), 1);
            prop_assert_eq!(
                head.matches("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n").count(),
                usize::from(links.one_click())
            );
            let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            let read: Vec<String> = parsed
                .list_unsubscribe()
                .as_address()
                .map(|a| a.iter().filter_map(|a| a.address()).map(str::to_string).collect())
                .unwrap_or_default();
            let mut want: Vec<String> = links.https.iter().cloned().collect();
            want.push(links.mailto.clone());
            prop_assert_eq!(read, want);
            let subject = format!("?subject=unsubscribe%20{}", key.token());
            prop_assert!(links.mailto.ends_with(&subject));
            if let Some(https) = &links.https {
                prop_assert!(https.contains(&key.token()));
                prop_assert!(!https.contains(TOKEN));
            }
        }
    }
}
