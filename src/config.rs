//! `greet.toml` → [`Config`]: checked once, before any work.
//!
//! Unknown keys are refused (a typo must not silently fall back to a default),
//! and every problem is reported as `greet.toml:line:column`.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;
use toml::Spanned;

use crate::problem::{Problem, line_col};

/// The raw file, as serde reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_time_zone")]
    time_zone: Spanned<String>,
    #[serde(default = "default_language")]
    default_language: Spanned<String>,
    #[serde(default)]
    leap_day: LeapDay,
    #[serde(default = "default_templates")]
    templates: PathBuf,
    sender: RawSender,
    customers: RawCustomers,
    #[serde(default = "default_tiers")]
    tiers: Vec<Tier>,
    #[serde(default)]
    occasions: BTreeMap<String, Spanned<RawOccasion>>,
    #[serde(default = "default_ledger")]
    ledger: PathBuf,
    transport: Option<Spanned<RawTransport>>,
    /// `[vocative]`: "Κωνσταντίνος" = "Κωνσταντίνο" — the owner's form wins.
    #[serde(default)]
    vocative: BTreeMap<String, String>,
    /// `[salutations.el]` male / female / unknown = "Αγαπητέ {name}".
    #[serde(default)]
    salutations: BTreeMap<String, Salutation>,
    /// A CSV (`name,date`) adding to or overriding the built-in name days.
    namedays: Option<Spanned<PathBuf>>,
}

/// The words of a salutation in one language; `{name}` stands for the
/// name (in the vocative where the language has one).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Salutation {
    pub male: Option<String>,
    pub female: Option<String>,
    pub unknown: Option<String>,
}

fn default_ledger() -> PathBuf {
    PathBuf::from("greet-ledger.sqlite")
}

/// How messages leave: `[transport]` in greet.toml, as serde reads it (the
/// keys whose mistakes are reported keep their place in the file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransport {
    #[serde(default)]
    kind: TransportKind,
    #[serde(default)]
    host: Option<Spanned<String>>,
    port: Option<Spanned<u16>>,
    #[serde(default)]
    security: Option<Spanned<Security>>,
    username: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<PathBuf>>,
    command: Option<Spanned<PathBuf>>,
    dir: Option<PathBuf>,
    rate: Option<Spanned<String>>,
    max_per_run: Option<Spanned<usize>>,
    timeout: Option<Spanned<u64>>,
    ca_file: Option<Spanned<PathBuf>>,
    /// `security = "none"` to a host that is not this machine: only when
    /// the owner names that choice too (the password-less relay of a LAN).
    #[serde(default)]
    allow_unencrypted_remote: bool,
}

/// How messages leave: `[transport]` in greet.toml, checked.
#[derive(Debug, Clone)]
pub struct Transport {
    pub kind: TransportKind,
    /// smtp: the relay's host name.
    pub host: String,
    /// smtp: default 587 (starttls), 465 (tls), 25 (none).
    pub port: Option<u16>,
    pub security: Security,
    pub username: Option<String>,
    /// The environment variable holding the SMTP password.
    pub password_env: Option<String>,
    /// A file (readable by its owner only) holding the SMTP password.
    pub password_file: Option<PathBuf>,
    /// sendmail: the program (default /usr/sbin/sendmail).
    pub command: Option<PathBuf>,
    /// file: the outbox folder (default "outbox").
    pub dir: Option<PathBuf>,
    /// At most this many messages per minute or hour: "30/minute".
    pub rate: String,
    /// At most this many messages per run.
    pub max_per_run: Option<usize>,
    /// Seconds to wait for the server (default 30).
    pub timeout: Option<u64>,
    /// A PEM file of certificate authorities to trust besides the system's
    /// (a company relay with its own CA). Verification stays on.
    pub ca_file: Option<PathBuf>,
    pub allow_unencrypted_remote: bool,
    /// Where each key stands in greet.toml (line, column), for messages.
    pub at: BTreeMap<&'static str, (u64, u64)>,
}

fn default_rate() -> String {
    "30/minute".into()
}

impl Default for Transport {
    fn default() -> Self {
        Transport {
            kind: TransportKind::File,
            host: String::new(),
            port: None,
            security: Security::Starttls,
            username: None,
            password_env: None,
            password_file: None,
            command: None,
            dir: None,
            rate: default_rate(),
            max_per_run: None,
            timeout: None,
            ca_file: None,
            allow_unencrypted_remote: false,
            at: BTreeMap::new(),
        }
    }
}

/// Whether `host` names this machine (a relay that never crosses a network).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    let lower = h.to_ascii_lowercase();
    lower == "localhost"
        || lower.ends_with(".localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Smtp,
    Sendmail,
    /// .eml files in an outbox folder (the default: nothing leaves the machine).
    #[default]
    File,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// STARTTLS required (587).
    #[default]
    Starttls,
    /// Implicit TLS (465).
    Tls,
    /// Plain text: only when named, for a relay on this machine.
    None,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSender {
    name: String,
    email: Spanned<String>,
    #[serde(default)]
    signature: RawSignature,
}

/// `signature = "…"`, or one per language: `[sender.signature]` with `el = "…"`, `en = "…"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawSignature {
    One(String),
    PerLanguage(BTreeMap<String, String>),
}

impl Default for RawSignature {
    fn default() -> Self {
        RawSignature::One(String::new())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustomers {
    path: PathBuf,
    #[serde(default)]
    date_order: DateOrder,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    /// For lists that are neither UTF-8 nor BOM-marked: "windows-1253", "windows-1255", …
    encoding: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOccasion {
    kind: OccasionKind,
    template: Option<String>,
    segment: Option<Spanned<String>>,
}

fn default_time_zone() -> Spanned<String> {
    Spanned::new(0..0, "Europe/Athens".into())
}
fn default_language() -> Spanned<String> {
    Spanned::new(0..0, "en".into())
}
fn default_templates() -> PathBuf {
    PathBuf::from("templates")
}
fn default_tiers() -> Vec<Tier> {
    vec![
        Tier {
            name: "new".into(),
            from_years: 0,
        },
        Tier {
            name: "regular".into(),
            from_years: 1,
        },
        Tier {
            name: "loyal".into(),
            from_years: 5,
        },
    ]
}

/// What to do with a 29 February date in a common year.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeapDay {
    /// Celebrate on 28 February (the usual choice).
    #[default]
    Feb28,
    /// Celebrate on 1 March.
    Mar1,
}

/// How to read ambiguous numeric dates such as 03/04/1990.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    /// 03/04/1990 is 3 April (Europe, Israel, Armenia).
    #[default]
    Dmy,
    /// 03/04/1990 is 4 March (United States).
    Mdy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OccasionKind {
    /// Customers whose birthday falls on the date.
    Birthday,
    /// Customers whose `customer_since` month/day is the date, one year or more on.
    Anniversary,
    /// Customers whose first name is celebrated on the date (Greek Orthodox calendar).
    Nameday,
    /// Everyone eligible, when the owner runs it.
    Campaign,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub name: String,
    pub from_years: u32,
}

#[derive(Debug, Clone)]
pub struct Sender {
    pub name: String,
    pub email: String,
    /// Language → signature; the key "" holds a signature for every language.
    pub signature: BTreeMap<String, String>,
}

impl Sender {
    /// The signature in `lang`, else the one for all languages, else in `fallback`.
    pub fn signature_for(&self, lang: &str, fallback: &str) -> &str {
        [lang, "", fallback]
            .iter()
            .find_map(|l| self.signature.get(*l))
            .map_or("", String::as_str)
    }

    /// The domain of the From address: Message-IDs and EHLO use it.
    pub fn domain(&self) -> &str {
        self.email.rsplit_once('@').map_or("localhost", |(_, d)| d)
    }
}

#[derive(Debug, Clone)]
pub struct Occasion {
    pub name: String,
    pub kind: OccasionKind,
    pub template: String,
    /// A Tera expression, true for the customers a campaign should greet.
    pub segment: Option<String>,
    /// Where the segment expression starts in greet.toml (line, column).
    pub segment_at: (u64, u64),
}

/// The checked configuration; paths are resolved against the config file's folder.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub time_zone: chrono_tz::Tz,
    pub default_language: String,
    pub leap_day: LeapDay,
    pub templates: PathBuf,
    pub sender: Sender,
    pub customers: PathBuf,
    pub date_order: DateOrder,
    /// The legacy encoding named in the config, if any (a BOM still wins).
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// Canonical column name → the header used in the file.
    pub columns: BTreeMap<String, String>,
    /// Sorted by `from_years`, ascending.
    pub tiers: Vec<Tier>,
    pub occasions: BTreeMap<String, Occasion>,
    pub ledger: PathBuf,
    pub transport: Transport,
    /// Owner overrides of the vocative, by the name as lower-case text.
    pub vocative: BTreeMap<String, String>,
    pub salutations: BTreeMap<String, Salutation>,
    /// The Greek name-day calendar: built in, plus the owner's `namedays` file.
    pub namedays: std::sync::Arc<crate::i18n::nameday::Calendar>,
}

/// A bad row of the name-day file ("line 3, column 2: …") as `file:3:2: …`.
fn nameday_problem(path: &Path, e: &str) -> Problem {
    let shown = path.display().to_string();
    let located = e.strip_prefix("line ").and_then(|rest| {
        let (line, rest) = rest.split_once(", column ")?;
        let (col, msg) = rest.split_once(": ")?;
        Some((line.parse().ok()?, col.parse().ok()?, msg))
    });
    match located {
        Some((line, col, msg)) => Problem::error(&shown, msg).at(line, Some(col)),
        None => Problem::error(&shown, e),
    }
}

/// The canonical column names a `[customers.columns]` mapping may name.
pub const COLUMNS: &[&str] = &[
    "id",
    "email",
    "first_name",
    "last_name",
    "gender",
    "language",
    "birthday",
    "customer_since",
    "opt_out",
];

/// Where the keys of a table stand in the file.
struct Located<'a> {
    text: &'a str,
    at: &'a mut BTreeMap<&'static str, (u64, u64)>,
}

impl Located<'_> {
    /// The value of `key`, its (line, column) noted.
    fn take<T>(&mut self, key: &'static str, value: Option<Spanned<T>>) -> Option<T> {
        value.map(|v| {
            self.at.insert(key, line_col(self.text, v.span().start));
            v.into_inner()
        })
    }
}

/// `[transport]` checked: what the file itself gets wrong is a problem here,
/// located at its key; what depends on this machine (the password's
/// variable or file, the CA file) is checked by [`Config::transport_problems`].
fn transport(
    raw: Option<Spanned<RawTransport>>,
    text: &str,
    shown: &str,
    base: &Path,
    problems: &mut Vec<Problem>,
) -> Transport {
    let (table_at, raw) = match raw {
        Some(t) => (line_col(text, t.span().start), t.into_inner()),
        None => ((0, 0), RawTransport::default()),
    };
    let mut at: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    at.insert("transport", table_at);
    // Each key's value, its place in the file noted for messages.
    let mut located = Located { text, at: &mut at };
    let host = located.take("host", raw.host).map(|h| h.trim().to_string());
    let security = located.take("security", raw.security);
    let username = located.take("username", raw.username);
    let password_env = located
        .take("password_env", raw.password_env)
        .map(|v| v.trim().to_string());
    let password_file = located
        .take("password_file", raw.password_file)
        .map(|f| base.join(f));
    let ca_file = located.take("ca_file", raw.ca_file).map(|f| base.join(f));
    let rate = located.take("rate", raw.rate);
    let port = located.take("port", raw.port);
    let command = located.take("command", raw.command);
    let max_per_run = located.take("max_per_run", raw.max_per_run);
    let timeout = located.take("timeout", raw.timeout);
    let t = Transport {
        kind: raw.kind,
        host: host.unwrap_or_default(),
        port,
        security: security.unwrap_or_default(),
        username,
        password_env,
        password_file,
        command,
        dir: raw.dir.map(|d| base.join(d)),
        rate: rate.unwrap_or_else(default_rate),
        max_per_run,
        timeout,
        ca_file,
        allow_unencrypted_remote: raw.allow_unencrypted_remote,
        at,
    };
    let err = |key: &str, msg: String| t.problem(shown, key, msg);
    if crate::rate::Rate::parse(&t.rate).is_none() {
        problems.push(err(
            "rate",
            format!(
                "[transport] rate = \"{}\" should look like \"30/minute\" or \"500/hour\"",
                t.rate
            ),
        ));
    }
    if t.max_per_run == Some(0) {
        problems.push(err(
            "max_per_run",
            "[transport] max_per_run = 0 would never send anything; give a number from 1, or remove it".into(),
        ));
    }
    if t.kind != TransportKind::Smtp {
        return t;
    }
    if t.port == Some(0) {
        problems.push(err(
            "port",
            "[transport] port = 0 is not a port; use 587 (starttls), 465 (tls) or 25".into(),
        ));
    }
    if t.timeout == Some(0) {
        problems.push(err(
            "timeout",
            "[transport] timeout = 0 would give up at once; give seconds from 1 (default 30)"
                .into(),
        ));
    }
    if t.host.is_empty() {
        problems.push(err(
            "host",
            "[transport] kind = \"smtp\" needs host = \"…\"".into(),
        ));
    }
    if t.security == Security::None {
        if t.username.is_some() {
            problems.push(err(
                "username",
                "[transport] security = \"none\" with a username: greet never sends a password without TLS; use security = \"starttls\" or \"tls\", or remove the username".into(),
            ));
        }
        if !t.host.is_empty() && !is_loopback(&t.host) && !t.allow_unencrypted_remote {
            problems.push(err(
                "security",
                format!(
                    "[transport] security = \"none\" would send every greeting unencrypted across the network to {}; use \"starttls\" or \"tls\", or, for a relay you trust on your own network, add allow_unencrypted_remote = true",
                    t.host
                ),
            ));
        }
    }
    if (t.password_env.is_some() || t.password_file.is_some()) && t.username.is_none() {
        problems.push(err(
            if t.password_env.is_some() {
                "password_env"
            } else {
                "password_file"
            },
            "[transport] a password is named but no username; add username = \"…\"".into(),
        ));
    }
    if t.password_env.is_some() && t.password_file.is_some() {
        problems.push(err(
            "password_file",
            "[transport] name password_env or password_file, not both".into(),
        ));
    }
    if t.username.is_some() && t.password_env.is_none() && t.password_file.is_none() {
        problems.push(err(
            "username",
            "[transport] username is set: name password_env or password_file for its password"
                .into(),
        ));
    }
    t
}

impl Transport {
    /// A problem located at `key` in greet.toml (or at `[transport]`).
    pub fn problem(&self, file: &str, key: &str, message: String) -> Problem {
        let p = Problem::error(file, message);
        match self.at.get(key).or_else(|| self.at.get("transport")) {
            Some(&(l, c)) if l > 0 => p.at(l, Some(c)),
            _ => p,
        }
    }
}

impl Config {
    /// What this machine must provide for the transport to work: the
    /// password's environment variable or 0600 file, a readable CA file.
    /// `check` and `send` ask (before anything is touched); `preview` does not
    /// need them.
    pub fn transport_problems(&self) -> Vec<Problem> {
        let t = &self.transport;
        let shown = self.path.display().to_string();
        let mut problems = Vec::new();
        if t.kind == TransportKind::Sendmail {
            let command = t
                .command
                .clone()
                .unwrap_or_else(|| PathBuf::from("/usr/sbin/sendmail"));
            if !is_executable(&command) {
                problems.push(t.problem(
                    &shown,
                    "command",
                    format!(
                        "[transport] kind = \"sendmail\": {} is not a program on this machine; install the local mail system (Postfix, exim) or name its sendmail with command = \"…\"",
                        command.display()
                    ),
                ));
            }
        }
        if t.kind != TransportKind::Smtp {
            return problems;
        }
        if let Some(var) = &t.password_env {
            match std::env::var_os(var) {
                None => problems.push(t.problem(
                    &shown,
                    "password_env",
                    format!("[transport] password_env names {var}, which is not set in the environment of this run (export it, or load the scheduled run's file: set -a; . ./greet.env; set +a)"),
                )),
                Some(v) if v.is_empty() => problems.push(t.problem(
                    &shown,
                    "password_env",
                    format!("[transport] password_env names {var}, which is empty"),
                )),
                Some(_) => {}
            }
        }
        if let Some(path) = &t.password_file
            && let Err(why) = secret_file_problem(path)
        {
            problems.push(t.problem(
                &shown,
                "password_file",
                format!("[transport] password_file: {why}"),
            ));
        }
        if let Some(path) = &t.ca_file {
            match std::fs::read(path) {
                Err(e) => problems.push(t.problem(
                    &shown,
                    "ca_file",
                    format!("[transport] ca_file: cannot read {}: {e}", path.display()),
                )),
                Ok(pem) => {
                    let has_certificate =
                        pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----");
                    if !has_certificate
                        || lettre::transport::smtp::client::Certificate::from_pem(&pem).is_err()
                    {
                        problems.push(t.problem(
                            &shown,
                            "ca_file",
                            format!(
                                "[transport] ca_file: {} is not a PEM certificate",
                                path.display()
                            ),
                        ));
                    }
                }
            }
        }
        problems
    }
}

/// Whether `path` is a file this user may run.
fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// Why a file holding a secret cannot be used: missing, unreadable, empty,
/// or readable by group or others.
pub fn secret_file_problem(path: &Path) -> Result<(), String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "{} can be read by other users; run `chmod 600 {}` first",
                path.display(),
                path.display()
            ));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.trim_end_matches(['\r', '\n']).is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(())
}

impl Config {
    /// Read and check the config file. Every problem found is returned, not just the first.
    pub fn load(path: &Path) -> Result<Config, Vec<Problem>> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                " (run `greet init` to create one, or pass --config PATH)"
            } else {
                ""
            };
            vec![Problem::error(
                &shown,
                format!("cannot read the config: {e}{hint}"),
            )]
        })?;
        Self::parse(&text, path)
    }

    /// Parse config text; `path` locates it (for messages and relative paths).
    pub fn parse(text: &str, path: &Path) -> Result<Config, Vec<Problem>> {
        let shown = path.display().to_string();
        let at = |span: std::ops::Range<usize>, msg: String| {
            let (l, c) = line_col(text, span.start);
            Problem::error(&shown, msg).at(l, Some(c))
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let msg = e.message().trim_end_matches('\n').to_string();
            vec![match e.span() {
                Some(span) => at(span, msg),
                None => Problem::error(&shown, msg),
            }]
        })?;
        let mut problems = Vec::new();
        let base = path.parent().unwrap_or(Path::new("."));

        let time_zone = chrono_tz::Tz::from_str(raw.time_zone.get_ref()).unwrap_or_else(|_| {
            problems.push(at(
                raw.time_zone.span(),
                format!(
                    "time_zone \"{}\" is not an IANA time zone (e.g. \"Europe/Athens\", \"Asia/Jerusalem\", \"Asia/Yerevan\")",
                    raw.time_zone.get_ref()
                ),
            ));
            chrono_tz::UTC
        });
        let lang = raw.default_language.get_ref().trim().to_ascii_lowercase();
        if !is_language_tag(&lang) {
            problems.push(at(
                raw.default_language.span(),
                format!(
                    "default_language \"{lang}\" is not a language code such as el, hy, he or en"
                ),
            ));
        }
        let email = crate::message::ascii_address(raw.sender.email.get_ref().trim());
        if email.parse::<lettre::Address>().is_err() {
            problems.push(at(
                raw.sender.email.span(),
                format!("sender email \"{email}\" is not a valid address"),
            ));
        }
        for canonical in raw.customers.columns.keys() {
            if !COLUMNS.contains(&canonical.as_str()) {
                problems.push(Problem::error(
                    &shown,
                    format!(
                        "[customers.columns] names \"{canonical}\", which is not a column greet knows; use one of {}",
                        COLUMNS.join(", ")
                    ),
                ));
            }
        }
        let encoding = match &raw.customers.encoding {
            None => None,
            Some(label) => {
                match encoding_rs::Encoding::for_label(label.get_ref().trim().as_bytes()) {
                    Some(enc) => Some(enc),
                    None => {
                        problems.push(at(
                        label.span(),
                        format!(
                            "encoding \"{}\" is not one greet knows; for Excel lists use \"windows-1253\" (Greek) or \"windows-1255\" (Hebrew)",
                            label.get_ref()
                        ),
                    ));
                        None
                    }
                }
            }
        };
        let transport = transport(raw.transport, text, &shown, base, &mut problems);
        let mut namedays = crate::i18n::nameday::Calendar::builtin();
        if let Some(file) = &raw.namedays {
            let path = base.join(file.get_ref());
            match std::fs::read_to_string(&path) {
                Err(e) => problems.push(at(
                    file.span(),
                    format!("namedays: cannot read {}: {e}", path.display()),
                )),
                Ok(text) => {
                    if let Err(e) = namedays.apply_overrides(&text) {
                        problems.push(nameday_problem(&path, &e));
                    }
                }
            }
        }
        let mut tiers = raw.tiers;
        tiers.sort_by_key(|t| t.from_years);
        let mut occasions = BTreeMap::new();
        for (name, spanned) in raw.occasions {
            let span = spanned.span();
            let occ = spanned.into_inner();
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                problems.push(at(
                    span.clone(),
                    format!("occasion name \"{name}\" may hold only letters, digits, - and _"),
                ));
            }
            let mut segment_at = (0, 0);
            if let Some(seg) = &occ.segment {
                segment_at = line_col(text, seg.span().start);
                if occ.kind != OccasionKind::Campaign {
                    problems.push(at(
                        seg.span(),
                        format!("occasion \"{name}\": segment is only for kind = \"campaign\""),
                    ));
                }
            }
            occasions.insert(
                name.clone(),
                Occasion {
                    template: occ.template.unwrap_or_else(|| name.clone()),
                    name,
                    kind: occ.kind,
                    segment: occ.segment.map(Spanned::into_inner),
                    segment_at,
                },
            );
        }
        if occasions.is_empty() {
            problems.push(Problem::error(
                &shown,
                "no occasions: add one, e.g. [occasions.birthday] with kind = \"birthday\"",
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Config {
            path: path.to_path_buf(),
            time_zone,
            default_language: lang,
            leap_day: raw.leap_day,
            templates: base.join(raw.templates),
            sender: Sender {
                name: raw.sender.name,
                email,
                signature: match raw.sender.signature {
                    RawSignature::One(s) => BTreeMap::from([(String::new(), s)]),
                    RawSignature::PerLanguage(m) => m,
                },
            },
            customers: base.join(raw.customers.path),
            date_order: raw.customers.date_order,
            encoding,
            columns: raw.customers.columns,
            tiers,
            occasions,
            ledger: base.join(raw.ledger),
            transport,
            vocative: raw
                .vocative
                .into_iter()
                .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                .collect(),
            salutations: raw.salutations,
            namedays: std::sync::Arc::new(namedays),
        })
    }

    /// The occasion by name, or a message listing the ones that exist.
    pub fn occasion(&self, name: &str) -> Result<&Occasion, String> {
        self.occasions.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.occasions.keys().map(String::as_str).collect();
            format!(
                "{}: no occasion named \"{name}\"; the config has: {}",
                self.path.display(),
                known.join(", ")
            )
        })
    }

    /// A first name in the vocative: the owner's form from `[vocative]`,
    /// else the language rules.
    pub fn vocative_of(&self, first_name: &str, gender: crate::customer::Gender) -> String {
        crate::i18n::vocative_with(&self.vocative, first_name, gender)
    }

    /// The loyalty tier for a tenure in whole years.
    pub fn tier_for(&self, years: u32) -> &str {
        self.tiers
            .iter()
            .rev()
            .find(|t| years >= t.from_years)
            .map_or("", |t| t.name.as_str())
    }
}

/// A BCP-47 primary language subtag: two or three ASCII letters.
pub fn is_language_tag(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[sender]
name = "Shop"
email = "hello@shop.gr"

[customers]
path = "customers.csv"

[occasions.birthday]
kind = "birthday"
"#;

    #[test]
    fn minimal_config_gets_defaults_and_relative_paths() {
        let c = Config::parse(MINIMAL, Path::new("/srv/shop/greet.toml")).unwrap();
        assert_eq!(c.time_zone, chrono_tz::Europe::Athens);
        assert_eq!(c.customers, Path::new("/srv/shop/customers.csv"));
        assert_eq!(c.templates, Path::new("/srv/shop/templates"));
        assert_eq!(c.occasions["birthday"].template, "birthday");
        assert_eq!(c.tier_for(0), "new");
        assert_eq!(c.tier_for(7), "loyal");
        assert_eq!(c.sender.signature_for("el", "el"), "");
    }

    #[test]
    fn signature_may_be_given_per_language() {
        let text = MINIMAL.replace(
            "email = \"hello@shop.gr\"",
            "email = \"hello@shop.gr\"\n[sender.signature]\nel = \"Μαρίνα\"\nen = \"Marina\"",
        );
        let c = Config::parse(&text, Path::new("greet.toml")).unwrap();
        assert_eq!(c.sender.signature_for("en", "el"), "Marina");
        assert_eq!(c.sender.signature_for("he", "el"), "Μαρίνα");
    }

    #[test]
    fn unknown_key_is_reported_with_line_and_column() {
        let text = MINIMAL.replace("[customers]", "[customers]\npaht = \"x\"");
        let err = Config::parse(&text, Path::new("greet.toml")).unwrap_err();
        let shown = err[0].to_string();
        assert!(shown.starts_with("greet.toml:7:1: "), "{shown}");
        assert!(shown.contains("paht"), "{shown}");
    }

    #[test]
    fn bad_time_zone_is_located() {
        let text = format!("time_zone = \"Athens\"\n{MINIMAL}");
        let err = Config::parse(&text, Path::new("greet.toml")).unwrap_err();
        assert_eq!(err[0].line, Some(1));
        assert!(err[0].message.contains("IANA"), "{}", err[0]);
    }

    #[test]
    fn segment_outside_a_campaign_is_refused() {
        let text = format!("{MINIMAL}segment = \"{{{{ true }}}}\"\n");
        let err = Config::parse(&text, Path::new("greet.toml")).unwrap_err();
        assert!(
            err[0].message.contains("only for kind = \"campaign\""),
            "{}",
            err[0]
        );
    }
}
