//! `greet.toml` → [`Config`]: checked once, before any work.
//!
//! Unknown keys are refused (a typo must not silently fall back to a default),
//! and every problem is reported as `greet.toml:line:column`.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::problem::{Problem, line_col};
use crate::provider::Provider;
use crate::rate::Rate;

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
    /// `[dkim]`: sign every message (see [`dkim`]).
    dkim: Option<Spanned<RawDkim>>,
    /// `[unsubscribe]`: the List-Unsubscribe links (all keys optional).
    unsubscribe: Option<Spanned<RawUnsubscribe>>,
    /// `[inbox]`: the mailbox `greet inbox` reads.
    inbox: Option<Spanned<RawInbox>>,
    /// `[gifts]`: the secret gift codes are made with.
    gifts: Option<Spanned<RawGifts>>,
    /// `[traditions]`: language → tradition (`ru = "orthodox"`), over the
    /// built-in el → orthodox, hy → armenian, he → jewish, en → western.
    #[serde(default)]
    traditions: BTreeMap<String, Spanned<String>>,
    /// `[spacing]`: how far apart greetings to one customer must be.
    spacing: Option<Spanned<RawSpacing>>,
}

/// `[gifts]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGifts {
    secret_file: Spanned<PathBuf>,
}

/// `[spacing]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpacing {
    min_days_between: Option<Spanned<u32>>,
    precedence: Option<Vec<Spanned<String>>>,
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

/// The defaults of `[transport]`, in one place: the loader fills them in,
/// so no consumer ever falls back to a value of its own.
pub mod defaults {
    use std::time::Duration;

    use crate::rate::Rate;

    /// `rate`: conservative enough for any mailbox provider.
    pub const RATE: Rate = Rate {
        count: 30,
        per: Duration::from_secs(60),
    };
    /// `timeout`: how long to wait for the SMTP server.
    pub const TIMEOUT: Duration = Duration::from_secs(30);
    /// `command`: the local mail system's sendmail.
    pub const SENDMAIL: &str = "/usr/sbin/sendmail";
    /// `dir`: the outbox folder, beside the ledger.
    pub const OUTBOX: &str = "outbox";
}

/// How messages leave: `[transport]` in greet.toml, as serde reads it (each
/// key keeps its place in the file, for messages).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransport {
    kind: Option<Spanned<KindName>>,
    provider: Option<Spanned<Provider>>,
    host: Option<Spanned<String>>,
    port: Option<Spanned<u16>>,
    security: Option<Spanned<Security>>,
    username: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<PathBuf>>,
    command: Option<Spanned<PathBuf>>,
    dir: Option<Spanned<PathBuf>>,
    rate: Option<Spanned<String>>,
    max_per_run: Option<Spanned<usize>>,
    daily_limit: Option<Spanned<usize>>,
    timeout: Option<Spanned<u64>>,
    ca_file: Option<Spanned<PathBuf>>,
    allow_unencrypted_remote: Option<Spanned<bool>>,
    auth: Option<Spanned<AuthName>>,
    token_file: Option<Spanned<PathBuf>>,
    client_id: Option<Spanned<String>>,
    client_secret: Option<Spanned<String>>,
    tenant: Option<Spanned<String>>,
    oauth_authorize_url: Option<Spanned<String>>,
    oauth_device_url: Option<Spanned<String>>,
    oauth_token_url: Option<Spanned<String>>,
    oauth_scopes: Option<Spanned<Vec<String>>>,
    oauth_login: Option<Spanned<LoginFlow>>,
}

/// `auth = "…"` as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AuthName {
    #[default]
    Password,
    Oauth2,
}

/// The keys that only `auth = "oauth2"` takes.
const OAUTH_KEYS: [&str; 9] = [
    "token_file",
    "client_id",
    "client_secret",
    "tenant",
    "oauth_authorize_url",
    "oauth_device_url",
    "oauth_token_url",
    "oauth_scopes",
    "oauth_login",
];

/// `kind = "…"` as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum KindName {
    Smtp,
    Sendmail,
    #[default]
    File,
}

impl KindName {
    fn as_str(self) -> &'static str {
        match self {
            KindName::Smtp => "smtp",
            KindName::Sendmail => "sendmail",
            KindName::File => "file",
        }
    }

    /// The kind a key of `[transport]` belongs to; `None` for the keys every
    /// kind takes (`kind`, `rate`, `max_per_run`, `daily_limit`).
    fn of_key(key: &str) -> Option<KindName> {
        match key {
            "provider"
            | "host"
            | "port"
            | "security"
            | "username"
            | "password_env"
            | "password_file"
            | "timeout"
            | "ca_file"
            | "allow_unencrypted_remote"
            | "auth"
            | "token_file"
            | "client_id"
            | "client_secret"
            | "tenant"
            | "oauth_authorize_url"
            | "oauth_device_url"
            | "oauth_token_url"
            | "oauth_scopes"
            | "oauth_login" => Some(KindName::Smtp),
            "command" => Some(KindName::Sendmail),
            "dir" => Some(KindName::File),
            _ => None,
        }
    }
}

/// How messages leave: `[transport]` in greet.toml, checked and resolved —
/// every default filled in, only the keys of its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    /// Where messages go, with that kind's settings.
    pub kind: TransportKind,
    /// At most this many messages per window ([`defaults::RATE`] unless set).
    pub rate: Rate,
    /// At most this many messages per run (no cap unless set; never 0).
    pub max_per_run: Option<usize>,
    /// At most this many messages in any 24 hours, counted from the ledger
    /// so that runs share it (the provider's, or none, unless set; never 0).
    pub daily_limit: Option<usize>,
    /// `provider = "…"`: the mailbox provider whose settings fill in the
    /// keys greet.toml leaves out.
    pub provider: Option<Provider>,
    /// Where each key stands in greet.toml (line, column of its value), for
    /// messages; `"transport"` is the table itself.
    pub at: BTreeMap<&'static str, (u64, u64)>,
}

/// `kind = "smtp" | "sendmail" | "file"`, with the settings of that kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportKind {
    /// An SMTP relay.
    Smtp(SmtpSettings),
    /// The local mail system (Postfix, exim), whose queue owns delivery.
    Sendmail {
        /// The program ([`defaults::SENDMAIL`] unless set).
        command: PathBuf,
    },
    /// .eml files in a folder (the default: nothing leaves the machine).
    File {
        /// The outbox folder ([`defaults::OUTBOX`] beside the ledger unless set).
        dir: PathBuf,
    },
}

impl TransportKind {
    /// The name written in greet.toml: "smtp", "sendmail", "file".
    pub fn name(&self) -> &'static str {
        match self {
            TransportKind::Smtp(_) => "smtp",
            TransportKind::Sendmail { .. } => "sendmail",
            TransportKind::File { .. } => "file",
        }
    }
}

/// `kind = "smtp"`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// The relay's host name (trimmed; never empty).
    pub host: String,
    /// The port: as set, else [`Security::default_port`]; never 0.
    pub port: u16,
    pub security: Security,
    /// How long to wait for the server ([`defaults::TIMEOUT`] unless set); never 0.
    pub timeout: Duration,
    /// The login; set exactly when `password` is not [`PasswordSource::None`]
    /// or `oauth` is set.
    pub username: Option<String>,
    pub password: PasswordSource,
    /// `auth = "oauth2"`: sign in with a token (SASL XOAUTH2) instead of a
    /// password; `password` is then [`PasswordSource::None`].
    pub oauth: Option<Box<OAuthSettings>>,
    /// A PEM file of certificate authorities to trust besides the system's
    /// (a company relay with its own CA). Verification stays on.
    pub ca_file: Option<PathBuf>,
    /// `security = "none"` to a host that is not this machine: only when
    /// the owner names that choice too (the password-less relay of a LAN).
    pub allow_unencrypted_remote: bool,
}

/// Where the SMTP password comes from — never the command line, never the
/// config itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// No login.
    None,
    /// `password_env`: the environment variable holding it.
    Env(String),
    /// `password_file`: a file readable by its owner only.
    File(PathBuf),
}

impl std::fmt::Display for PasswordSource {
    /// Where the password comes from; never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::None => f.write_str("none (no login)"),
            PasswordSource::Env(var) => write!(f, "from the environment variable {var}"),
            PasswordSource::File(path) => write!(f, "from the file {}", path.display()),
        }
    }
}

/// `auth = "oauth2"`, resolved: the owner's own app registration and the
/// authorization server's endpoints (the provider's, unless written).
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    /// Where `greet login` keeps the refresh token (owner-only, 0600).
    pub token_file: PathBuf,
    pub client_id: String,
    /// Google's installed-app ("Desktop app") client secret, if any.
    pub client_secret: Option<String>,
    /// How `greet login` signs in.
    pub flow: LoginFlow,
    /// The browser flow's authorization endpoint.
    pub authorize_url: Option<String>,
    /// The device-code flow's device authorization endpoint.
    pub device_url: Option<String>,
    pub token_url: String,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for OAuthSettings {
    /// Everything but the client secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSettings")
            .field("token_file", &self.token_file)
            .field("client_id", &self.client_id)
            .field("flow", &self.flow)
            .field("authorize_url", &self.authorize_url)
            .field("device_url", &self.device_url)
            .field("token_url", &self.token_url)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// `oauth_login = "device" | "browser"`: how `greet login` signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginFlow {
    /// A code to type at an address, on any device (Microsoft; works over SSH).
    Device,
    /// A browser on this machine, back to greet on a loopback port, with PKCE (Google).
    Browser,
}

impl LoginFlow {
    pub fn name(self) -> &'static str {
        match self {
            LoginFlow::Device => "device",
            LoginFlow::Browser => "browser",
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
pub enum Security {
    /// STARTTLS required (587).
    #[default]
    Starttls,
    /// Implicit TLS (465).
    Tls,
    /// Plain text: only when named, for a relay on this machine.
    None,
}

impl Security {
    /// The port used when the config names none.
    pub const fn default_port(self) -> u16 {
        match self {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::None => 25,
        }
    }

    /// The name written in greet.toml: "starttls", "tls", "none".
    pub fn name(self) -> &'static str {
        match self {
            Security::Starttls => "starttls",
            Security::Tls => "tls",
            Security::None => "none",
        }
    }
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
    /// Days a gift code stays valid; a gift is given only with this.
    gift_days: Option<Spanned<u32>>,
    /// The offer, per language: `gift = { el = "…", en = "…" }`.
    gift: Option<Spanned<BTreeMap<String, String>>>,
    /// For `kind = "holiday"`: the feast family (`christmas`, `easter`, …).
    feast: Option<Spanned<String>>,
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
    /// A feast (`feast = "christmas"`, …): each customer on the day their
    /// own tradition keeps it ([`crate::feast`]).
    Holiday,
}

impl OccasionKind {
    /// Sent on the customer's own day (birthday, anniversary, name day,
    /// holiday), keyed by that date; a campaign is sent when run, keyed by the year.
    pub fn is_dated(self) -> bool {
        self != OccasionKind::Campaign
    }
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
    /// The gift its greetings carry (`gift_days` and `gift`), if any.
    pub gift: Option<OccasionGift>,
    /// The feast of a `kind = "holiday"` occasion (always set for those).
    pub feast: Option<crate::feast::Feast>,
}

/// An occasion's gift: how long a code stays valid and the offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OccasionGift {
    /// The code is valid through the greeting's day plus this many days.
    pub days: u32,
    /// Language → the offer; the default language always has one.
    pub offer: BTreeMap<String, String>,
}

impl OccasionGift {
    /// The offer in `lang`, else in the default language.
    pub fn offer_for(&self, lang: &str, default_language: &str) -> &str {
        self.offer
            .get(lang)
            .or_else(|| self.offer.get(default_language))
            .map_or("", String::as_str)
    }
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
    /// `[inbox]`, resolved; `None` when greet.toml has no such table.
    pub inbox: Option<Inbox>,
    /// Owner overrides of the vocative, by the name as lower-case text.
    pub vocative: BTreeMap<String, String>,
    pub salutations: BTreeMap<String, Salutation>,
    /// The Greek name-day calendar: built in, plus the owner's `namedays` file.
    pub namedays: std::sync::Arc<crate::i18n::nameday::Calendar>,
    /// `[dkim]`: every message is signed with these keys (none: unsigned).
    pub dkim: Option<DkimSettings>,
    /// `[unsubscribe]`: the links every greeting carries.
    pub unsubscribe: crate::unsubscribe::Unsubscribe,
    /// `[gifts] secret_file`, read: gift codes are made with it.
    pub gift_secret: Option<crate::gift::Secret>,
    /// Language (primary subtag) → tradition: the built-in ones with
    /// `[traditions]` over them. A customer without a `tradition` cell keeps
    /// the tradition of their language (the default language when blank).
    pub traditions: BTreeMap<String, crate::feast::Tradition>,
    /// `[spacing]`: at most one greeting to a customer within so many days.
    pub spacing: crate::spacing::Spacing,
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
    "tradition",
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

/// A problem located at `key` in greet.toml, else at `[transport]`, else at
/// no line (a config without the table).
fn located(
    at: &BTreeMap<&'static str, (u64, u64)>,
    file: &str,
    key: &str,
    message: String,
) -> Problem {
    let p = Problem::error(file, message);
    match at.get(key).or_else(|| at.get("transport")) {
        Some(&(l, c)) if l > 0 => p.at(l, Some(c)),
        _ => p,
    }
}

/// `[transport]` checked and resolved: what the file itself gets wrong is a
/// problem here, located at its key (a key of another kind is refused, not
/// ignored); every default is filled in. What depends on this machine (the
/// password's variable or file, the CA file, the sendmail program) is
/// checked by [`Config::transport_problems`]. `ledger`: the resolved ledger
/// path, beside which the default outbox lies.
fn transport(
    raw: Option<Spanned<RawTransport>>,
    text: &str,
    shown: &str,
    base: &Path,
    ledger: &Path,
    problems: &mut Vec<Problem>,
) -> Transport {
    let (table_at, raw) = match raw {
        Some(t) => (line_col(text, t.span().start), t.into_inner()),
        None => ((0, 0), RawTransport::default()),
    };
    let mut at: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    at.insert("transport", table_at);
    // Each key's value, its place in the file noted for messages.
    let mut l = Located { text, at: &mut at };
    let named_kind = l.take("kind", raw.kind);
    let provider = l.take("provider", raw.provider);
    let preset = provider.map(Provider::preset);
    let host = l.take("host", raw.host).map(|h| h.trim().to_string());
    let port = l.take("port", raw.port);
    let security = l
        .take("security", raw.security)
        .or(preset.map(|p| p.security))
        .unwrap_or_default();
    let username = l.take("username", raw.username);
    let password_env = l
        .take("password_env", raw.password_env)
        .map(|v| v.trim().to_string());
    let password_file = l
        .take("password_file", raw.password_file)
        .map(|f| base.join(f));
    let command = l.take("command", raw.command);
    let dir = l.take("dir", raw.dir).map(|d| base.join(d));
    let rate = l.take("rate", raw.rate);
    let max_per_run = l.take("max_per_run", raw.max_per_run);
    let daily_limit = l
        .take("daily_limit", raw.daily_limit)
        .or(preset.map(|p| p.daily_limit));
    let timeout = l.take("timeout", raw.timeout);
    let ca_file = l.take("ca_file", raw.ca_file).map(|f| base.join(f));
    let allow_unencrypted_remote = l
        .take("allow_unencrypted_remote", raw.allow_unencrypted_remote)
        .unwrap_or(false);
    let auth = l.take("auth", raw.auth).unwrap_or_default();
    let oauth = RawOAuth {
        token_file: l.take("token_file", raw.token_file).map(|f| base.join(f)),
        client_id: l.take("client_id", raw.client_id),
        client_secret: l.take("client_secret", raw.client_secret),
        tenant: l.take("tenant", raw.tenant),
        authorize_url: l.take("oauth_authorize_url", raw.oauth_authorize_url),
        device_url: l.take("oauth_device_url", raw.oauth_device_url),
        token_url: l.take("oauth_token_url", raw.oauth_token_url),
        scopes: l.take("oauth_scopes", raw.oauth_scopes),
        flow: l.take("oauth_login", raw.oauth_login),
    };
    // A provider is an SMTP account: it needs no kind of its own.
    let kind = named_kind.unwrap_or(if provider.is_some() {
        KindName::Smtp
    } else {
        KindName::File
    });
    let mut err = |key: &str, msg: String| problems.push(located(&at, shown, key, msg));

    let rate = match &rate {
        None => preset.map_or(defaults::RATE, |p| p.rate),
        Some(written) => Rate::parse(written).unwrap_or_else(|| {
            err(
                "rate",
                format!(
                    "[transport] rate = \"{written}\" should look like \"30/minute\" or \"500/hour\""
                ),
            );
            defaults::RATE
        }),
    };
    if daily_limit == Some(0) {
        err(
            "daily_limit",
            "[transport] daily_limit = 0 would never send anything; give the number of messages the account may send in 24 hours, or remove it".into(),
        );
    }
    if max_per_run == Some(0) {
        err(
            "max_per_run",
            "[transport] max_per_run = 0 would never send anything; give a number from 1, or remove it".into(),
        );
    }
    // A key of another kind would be silently ignored: refuse it, in the
    // order the file has them.
    let mut foreign: Vec<((u64, u64), &'static str, KindName)> = at
        .iter()
        .filter_map(|(key, pos)| {
            KindName::of_key(key)
                .filter(|k| *k != kind)
                .map(|k| (*pos, *key, k))
        })
        .collect();
    foreign.sort_by_key(|(pos, _, _)| *pos);
    for (_, key, belongs) in foreign {
        let belongs = belongs.as_str();
        err(
            key,
            match named_kind {
                Some(kind) => format!(
                    "[transport] {key} is for kind = \"{belongs}\", and this transport is kind = \"{}\"; remove {key}",
                    kind.as_str()
                ),
                None => format!(
                    "[transport] {key} is for kind = \"{belongs}\", but kind is not set, so messages go to the outbox folder (kind = \"file\"); add kind = \"{belongs}\" or remove {key}"
                ),
            },
        );
    }

    let kind = match kind {
        KindName::File => TransportKind::File {
            dir: dir.unwrap_or_else(|| ledger.with_file_name(defaults::OUTBOX)),
        },
        KindName::Sendmail => TransportKind::Sendmail {
            command: command.unwrap_or_else(|| PathBuf::from(defaults::SENDMAIL)),
        },
        KindName::Smtp => {
            if port == Some(0) {
                err(
                    "port",
                    "[transport] port = 0 is not a port; use 587 (starttls), 465 (tls) or 25"
                        .into(),
                );
            }
            if timeout == Some(0) {
                err(
                    "timeout",
                    format!(
                        "[transport] timeout = 0 would give up at once; give seconds from 1 (default {})",
                        defaults::TIMEOUT.as_secs()
                    ),
                );
            }
            let host = host
                .or(preset.map(|p| p.host.to_string()))
                .unwrap_or_default();
            if host.is_empty() {
                err(
                    if at.contains_key("host") {
                        "host"
                    } else {
                        "kind"
                    },
                    "[transport] kind = \"smtp\" needs host = \"…\"".into(),
                );
            }
            if security == Security::None {
                if username.is_some() {
                    err(
                        "username",
                        "[transport] security = \"none\" with a username: greet never sends a password without TLS; use security = \"starttls\" or \"tls\", or remove the username".into(),
                    );
                }
                if !host.is_empty() && !is_loopback(&host) && !allow_unencrypted_remote {
                    err(
                        "security",
                        format!(
                            "[transport] security = \"none\" would send every greeting unencrypted across the network to {host}; use \"starttls\" or \"tls\", or, for a relay you trust on your own network, add allow_unencrypted_remote = true"
                        ),
                    );
                }
            }
            let oauth = if auth == AuthName::Oauth2 {
                for key in ["password_env", "password_file"] {
                    if at.contains_key(key) {
                        err(
                            key,
                            format!(
                                "[transport] auth = \"oauth2\" signs in with a token from `greet login`, not a password; remove {key}"
                            ),
                        );
                    }
                }
                if username.is_none() {
                    err(
                        "auth",
                        "[transport] auth = \"oauth2\" needs username = \"…\" (the mailbox's address, the account `greet login` signs in to)".into(),
                    );
                }
                if security == Security::None {
                    err(
                        "auth",
                        "[transport] auth = \"oauth2\" with security = \"none\": greet never sends a token without TLS; use security = \"starttls\" or \"tls\"".into(),
                    );
                }
                oauth_settings(oauth, provider, &mut err).map(Box::new)
            } else {
                let mut keys: Vec<_> = OAUTH_KEYS
                    .iter()
                    .filter_map(|k| at.get(k).map(|pos| (*pos, *k)))
                    .collect();
                keys.sort();
                for (_, key) in keys {
                    err(
                        key,
                        format!(
                            "[transport] {key} is for auth = \"oauth2\"; add auth = \"oauth2\" (and sign in with `greet login`) or remove {key}"
                        ),
                    );
                }
                None
            };
            let oauth2 = auth == AuthName::Oauth2;
            if (password_env.is_some() || password_file.is_some()) && username.is_none() && !oauth2
            {
                err(
                    if password_env.is_some() {
                        "password_env"
                    } else {
                        "password_file"
                    },
                    "[transport] a password is named but no username; add username = \"…\"".into(),
                );
            }
            if password_env.is_some() && password_file.is_some() {
                err(
                    "password_file",
                    "[transport] name password_env or password_file, not both".into(),
                );
            }
            if username.is_some() && password_env.is_none() && password_file.is_none() && !oauth2 {
                err(
                    "username",
                    "[transport] username is set: name password_env or password_file for its password"
                        .into(),
                );
            }
            // Every provider's server refuses mail without a login.
            if let Some(p) = provider
                && !oauth2
                && username.is_none()
                && password_env.is_none()
                && password_file.is_none()
            {
                err(
                    "provider",
                    format!(
                        "[transport] provider = \"{}\" takes mail only from a signed-in account: add username = \"…\" (the mailbox's address) and auth = \"oauth2\" (then `greet login`; the README shows the keys), or password_file or password_env ({})",
                        p.name(),
                        p.password_hint()
                    ),
                );
            }
            TransportKind::Smtp(SmtpSettings {
                port: port
                    .or(preset.filter(|p| p.security == security).map(|p| p.port))
                    .unwrap_or(security.default_port()),
                host,
                security,
                timeout: timeout.map_or(defaults::TIMEOUT, Duration::from_secs),
                username,
                password: match (password_env, password_file) {
                    (Some(var), _) => PasswordSource::Env(var),
                    (None, Some(file)) => PasswordSource::File(file),
                    (None, None) => PasswordSource::None,
                },
                ca_file,
                allow_unencrypted_remote,
                oauth,
            })
        }
    };
    Transport {
        kind,
        rate,
        max_per_run,
        daily_limit,
        provider,
        at,
    }
}

/// The `auth = "oauth2"` keys as written.
struct RawOAuth {
    token_file: Option<PathBuf>,
    client_id: Option<String>,
    client_secret: Option<String>,
    tenant: Option<String>,
    authorize_url: Option<String>,
    device_url: Option<String>,
    token_url: Option<String>,
    scopes: Option<Vec<String>>,
    flow: Option<LoginFlow>,
}

/// An endpoint greet may send a token or a secret to: https, or http to
/// this machine only (a test server).
fn endpoint_problem(url: &str) -> Option<String> {
    match url::Url::parse(url) {
        Err(e) => Some(format!("\"{url}\" is not an address ({e})")),
        Ok(u) if u.scheme() == "https" && u.host().is_some() => None,
        Ok(u) if u.scheme() == "http" && u.host_str().is_some_and(is_loopback) => None,
        Ok(_) => Some(format!(
            "\"{url}\" must be an https:// address (http:// only to this machine)"
        )),
    }
}

/// `auth = "oauth2"` resolved from the keys written and the provider's
/// endpoints; what is missing or wrong is a problem at its key.
fn oauth_settings(
    raw: RawOAuth,
    provider: Option<Provider>,
    err: &mut impl FnMut(&str, String),
) -> Option<OAuthSettings> {
    if let Some(tenant) = &raw.tenant {
        let ok = !tenant.is_empty()
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
        if !ok {
            err(
                "tenant",
                format!(
                    "[transport] tenant = \"{tenant}\" should be the Directory (tenant) ID or the tenant's domain, e.g. \"contoso.onmicrosoft.com\""
                ),
            );
        }
        if !matches!(provider, Some(Provider::Microsoft365 | Provider::Outlook)) {
            err(
                "tenant",
                "[transport] tenant is for provider = \"microsoft365\"; remove it".into(),
            );
        }
    }
    let preset = match provider {
        Some(Provider::Microsoft365) if raw.tenant.is_none() && raw.token_url.is_none() => {
            err(
                "auth",
                "[transport] provider = \"microsoft365\" with auth = \"oauth2\" needs tenant = \"…\": the Directory (tenant) ID on the Overview page of the app registered in Microsoft Entra".into(),
            );
            None
        }
        Some(p) => Some(p.oauth(raw.tenant.as_deref())),
        None => None,
    };
    let token_file = raw.token_file.or_else(|| {
        err(
            "auth",
            "[transport] auth = \"oauth2\" needs token_file = \"…\": where `greet login` keeps the sign-in (a file only you can read), e.g. token_file = \"secrets/greet-oauth.json\"".into(),
        );
        None
    });
    let client_id = match raw.client_id {
        Some(id) if !id.trim().is_empty() => Some(id.trim().to_string()),
        Some(_) => {
            err("client_id", "[transport] client_id is empty".into());
            None
        }
        None => {
            err(
                "auth",
                "[transport] auth = \"oauth2\" needs client_id = \"…\": the Application (client) ID of your own app registration (the README shows how to make one)".into(),
            );
            None
        }
    };
    if matches!(provider, Some(Provider::Gmail | Provider::GoogleWorkspace))
        && raw.client_secret.is_none()
    {
        err(
            "auth",
            "[transport] Google's sign-in needs client_secret = \"…\" as well: the client secret of your \"Desktop app\" OAuth client in Google Cloud".into(),
        );
    }
    let flow =
        raw.flow
            .or(preset.as_ref().map(|p| p.flow))
            .unwrap_or(if raw.device_url.is_some() {
                LoginFlow::Device
            } else {
                LoginFlow::Browser
            });
    let authorize_url = raw
        .authorize_url
        .or_else(|| preset.as_ref().and_then(|p| p.authorize_url.clone()));
    let device_url = raw
        .device_url
        .or_else(|| preset.as_ref().and_then(|p| p.device_url.clone()));
    let token_url = raw
        .token_url
        .or_else(|| preset.as_ref().map(|p| p.token_url.clone()));
    let scopes = raw
        .scopes
        .or_else(|| preset.as_ref().map(|p| p.scopes.clone()));
    let needs = |key: &str, what: &str| {
        format!("[transport] auth = \"oauth2\" without a provider needs {key} = \"…\" ({what})")
    };
    let mut ok = token_file.is_some() && client_id.is_some();
    if provider.is_none() || preset.is_some() {
        for (key, value, needed, what) in [
            (
                "oauth_token_url",
                &token_url,
                true,
                "the authorization server's token endpoint",
            ),
            (
                "oauth_device_url",
                &device_url,
                flow == LoginFlow::Device,
                "its device authorization endpoint, for oauth_login = \"device\"",
            ),
            (
                "oauth_authorize_url",
                &authorize_url,
                flow == LoginFlow::Browser,
                "its authorization endpoint, for oauth_login = \"browser\"",
            ),
        ] {
            match value {
                Some(url) => {
                    if let Some(why) = endpoint_problem(url) {
                        err(key, format!("[transport] {key}: {why}"));
                        ok = false;
                    }
                }
                None if needed => {
                    err("auth", needs(key, what));
                    ok = false;
                }
                None => {}
            }
        }
    } else {
        ok = false;
    }
    let scopes = match scopes {
        Some(s)
            if !s.is_empty()
                && s.iter()
                    .all(|x| !x.trim().is_empty() && !x.contains(char::is_whitespace)) =>
        {
            s
        }
        Some(_) => {
            err(
                "oauth_scopes",
                "[transport] oauth_scopes should be a list of scope names without spaces, e.g. [\"https://mail.google.com/\"]".into(),
            );
            return None;
        }
        None => {
            if ok {
                err(
                    "auth",
                    needs(
                        "oauth_scopes",
                        "a list of the scopes that allow sending mail",
                    ),
                );
            }
            return None;
        }
    };
    if !ok {
        return None;
    }
    Some(OAuthSettings {
        token_file: token_file?,
        client_id: client_id?,
        client_secret: raw.client_secret,
        flow,
        authorize_url,
        device_url,
        token_url: token_url?,
        scopes,
    })
}

impl Transport {
    /// A problem located at `key` in greet.toml (or at `[transport]`).
    pub fn problem(&self, file: &str, key: &str, message: String) -> Problem {
        located(&self.at, file, key, message)
    }

    /// The resolved settings as `greet check` shows them, (key, value) in
    /// greet.toml's words; a value the config did not set is marked as the
    /// default. Where the password comes from, never the password.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        // A value the provider filled in says so; the others are defaults.
        let from_provider = |key: &str| {
            self.provider.filter(|p| match (key, &self.kind) {
                // The preset's port goes with the preset's security only.
                ("port", TransportKind::Smtp(s)) => s.security == p.preset().security,
                _ => matches!(key, "host" | "security" | "rate" | "daily_limit"),
            })
        };
        let mark = |key: &str, value: String, default: &str| {
            if self.at.contains_key(key) {
                value
            } else if let Some(p) = from_provider(key) {
                format!("{value} (provider {})", p.name())
            } else {
                format!("{value} ({default})")
            }
        };
        let mut out = Vec::new();
        if let Some(p) = self.provider {
            out.push(("provider", p.name().to_string()));
        }
        let kind_default = if self.provider.is_some() {
            "the provider's"
        } else {
            "default"
        };
        out.push(("kind", mark("kind", self.kind.name().into(), kind_default)));
        match &self.kind {
            TransportKind::Smtp(s) => {
                out.push(("host", mark("host", s.host.clone(), "default")));
                out.push((
                    "port",
                    mark(
                        "port",
                        s.port.to_string(),
                        &format!("default for {}", s.security.name()),
                    ),
                ));
                out.push((
                    "security",
                    mark("security", s.security.name().into(), "default"),
                ));
                out.push((
                    "timeout",
                    mark("timeout", format!("{}s", s.timeout.as_secs()), "default"),
                ));
                if let Some(user) = &s.username {
                    out.push(("username", user.clone()));
                }
                match &s.oauth {
                    None => out.push(("password", s.password.to_string())),
                    Some(o) => {
                        out.push(("auth", "oauth2 (XOAUTH2)".into()));
                        out.push(("token_file", o.token_file.display().to_string()));
                        out.push(("client_id", o.client_id.clone()));
                        out.push(("sign-in", format!("{} (`greet login`)", o.flow.name())));
                        out.push(("token_url", o.token_url.clone()));
                        out.push(("scopes", o.scopes.join(" ")));
                    }
                }
                if let Some(ca) = &s.ca_file {
                    out.push(("ca_file", ca.display().to_string()));
                }
                if s.allow_unencrypted_remote {
                    out.push(("allow_unencrypted_remote", "true".into()));
                }
            }
            TransportKind::Sendmail { command } => {
                out.push((
                    "command",
                    mark("command", command.display().to_string(), "default"),
                ));
            }
            TransportKind::File { dir } => {
                out.push((
                    "dir",
                    mark(
                        "dir",
                        dir.display().to_string(),
                        "default, beside the ledger",
                    ),
                ));
            }
        }
        out.push(("rate", mark("rate", self.rate.to_string(), "default")));
        out.push((
            "max_per_run",
            self.max_per_run
                .map_or_else(|| "no cap (default)".into(), |n| n.to_string()),
        ));
        out.push((
            "daily_limit",
            match self.daily_limit {
                None => "no limit (default)".into(),
                Some(n) => mark("daily_limit", format!("{n} in 24 hours"), "default"),
            },
        ));
        out
    }
}

/// `[unsubscribe]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnsubscribe {
    mailto: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    dated_occasions: Option<Spanned<bool>>,
}

/// `[unsubscribe]` checked and resolved: the mailto defaults to the
/// sender's address, the URL must be https (each problem located at its
/// key), and dated occasions carry the links unless switched off.
fn unsubscribe(
    raw: Option<Spanned<RawUnsubscribe>>,
    text: &str,
    shown: &str,
    sender_email: &str,
    problems: &mut Vec<Problem>,
) -> crate::unsubscribe::Unsubscribe {
    let mut resolved = crate::unsubscribe::Unsubscribe::to_sender(sender_email);
    let Some(raw) = raw.map(Spanned::into_inner) else {
        return resolved;
    };
    let mut at = |span: std::ops::Range<usize>, msg: String| {
        let (l, c) = line_col(text, span.start);
        problems.push(Problem::error(shown, msg).at(l, Some(c)));
    };
    if let Some(mailto) = raw.mailto {
        match crate::unsubscribe::check_mailto(mailto.get_ref()) {
            Ok(address) => resolved.mailto = address,
            Err(e) => at(mailto.span(), e),
        }
    }
    if let Some(url) = raw.url {
        match crate::unsubscribe::check_url(url.get_ref()) {
            Ok(url) => resolved.url = Some(url),
            Err(e) => at(url.span(), e),
        }
    }
    if let Some(dated) = raw.dated_occasions {
        resolved.dated_occasions = *dated.get_ref();
        resolved.dated_at = Some(line_col(text, dated.span().start));
    }
    resolved
}

/// The longest `min_days_between` taken: a year (more would space out a
/// customer's every greeting after the first for good).
const MAX_MIN_DAYS: u32 = 366;

/// `[spacing]` checked and resolved. Every occasion that is not a campaign
/// takes part: those named in `precedence` first, in its order, then the
/// others — birthdays, name days, anniversaries, then any other kind —
/// in the order greet.toml lists them. Each problem is located at its key.
fn spacing(
    raw: Option<Spanned<RawSpacing>>,
    occasions: &BTreeMap<String, Occasion>,
    written: &[&str],
    text: &str,
    shown: &str,
    problems: &mut Vec<Problem>,
) -> crate::spacing::Spacing {
    let raw = raw.map(Spanned::into_inner).unwrap_or_default();
    let mut at = |span: std::ops::Range<usize>, msg: String| {
        let (l, c) = line_col(text, span.start);
        problems.push(Problem::error(shown, msg).at(l, Some(c)));
    };
    let min_days = match raw.min_days_between {
        None => crate::spacing::DEFAULT_MIN_DAYS,
        Some(n) if *n.get_ref() > MAX_MIN_DAYS => {
            at(
                n.span(),
                format!(
                    "[spacing] min_days_between = {} is more than a year; use at most {MAX_MIN_DAYS} (0 switches spacing off)",
                    n.get_ref()
                ),
            );
            crate::spacing::DEFAULT_MIN_DAYS
        }
        Some(n) => *n.get_ref(),
    };
    let mut ranked: Vec<&str> = Vec::new();
    for name in raw.precedence.iter().flatten() {
        let n = name.get_ref().as_str();
        match occasions.get(n) {
            None => {
                let known: Vec<&str> = written.to_vec();
                at(
                    name.span(),
                    format!(
                        "[spacing] precedence names \"{n}\", which is not an occasion of this config; the config has: {}",
                        known.join(", ")
                    ),
                );
            }
            Some(o) if o.kind == OccasionKind::Campaign => at(
                name.span(),
                format!(
                    "[spacing] precedence names \"{n}\", a campaign: campaigns are sent when you run them and are never spaced; list only dated occasions"
                ),
            ),
            Some(_) if ranked.contains(&n) => at(
                name.span(),
                format!("[spacing] precedence names \"{n}\" twice"),
            ),
            Some(_) => ranked.push(n),
        }
    }
    let kind_order = |k: OccasionKind| match k {
        OccasionKind::Birthday => 0,
        OccasionKind::Nameday => 1,
        OccasionKind::Anniversary => 2,
        _ => 3,
    };
    let mut rest: Vec<&str> = written
        .iter()
        .copied()
        .filter(|n| !ranked.contains(n))
        .filter(|n| {
            occasions
                .get(*n)
                .is_some_and(|o| o.kind != OccasionKind::Campaign)
        })
        .collect();
    rest.sort_by_key(|n| occasions.get(*n).map_or(3, |o| kind_order(o.kind)));
    ranked.extend(rest);
    crate::spacing::Spacing::new(min_days, &ranked)
}

impl Config {
    /// What this machine must provide for the transport to work: the
    /// password's environment variable or 0600 file, a readable CA file,
    /// the sendmail program. `check` and `send` ask (before anything is
    /// touched); `preview` does not need them.
    pub fn transport_problems(&self) -> Vec<Problem> {
        let t = &self.transport;
        let shown = self.path.display().to_string();
        let mut problems = Vec::new();
        let smtp = match &t.kind {
            TransportKind::File { .. } => return problems,
            TransportKind::Sendmail { command } => {
                if !is_executable(command) {
                    problems.push(t.problem(
                        &shown,
                        "command",
                        format!(
                            "[transport] kind = \"sendmail\": {} is not a program on this machine; install the local mail system (Postfix, exim) or name its sendmail with command = \"…\"",
                            command.display()
                        ),
                    ));
                }
                return problems;
            }
            TransportKind::Smtp(s) => s,
        };
        if let Some(oauth) = &smtp.oauth
            && let Some(why) = crate::oauth::file_problem(oauth)
        {
            problems.push(t.problem(
                &shown,
                "token_file",
                format!("[transport] token_file: {why}"),
            ));
        }
        match &smtp.password {
            PasswordSource::None => {}
            PasswordSource::Env(var) => match std::env::var_os(var) {
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
            },
            PasswordSource::File(path) => {
                if let Err(why) = secret_file_problem(path) {
                    problems.push(t.problem(
                        &shown,
                        "password_file",
                        format!("[transport] password_file: {why}"),
                    ));
                }
            }
        }
        if let Some(path) = &smtp.ca_file {
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

/// `[inbox]` as serde reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInbox {
    host: Option<Spanned<String>>,
    port: Option<Spanned<u16>>,
    security: Option<Spanned<InboxSecurity>>,
    username: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<PathBuf>>,
    ca_file: Option<Spanned<PathBuf>>,
    timeout: Option<Spanned<u64>>,
    folder: Option<Spanned<String>>,
    processed_folder: Option<Spanned<String>>,
    soft_bounce_limit: Option<Spanned<u32>>,
    soft_bounce_days: Option<Spanned<u32>>,
    before_send: Option<Spanned<bool>>,
}

/// How the IMAP connection is protected: always TLS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InboxSecurity {
    /// IMAPS: TLS from the first byte (993).
    #[default]
    Tls,
    /// STARTTLS, required (143).
    Starttls,
}

impl InboxSecurity {
    pub const fn default_port(self) -> u16 {
        match self {
            InboxSecurity::Tls => 993,
            InboxSecurity::Starttls => 143,
        }
    }
}

/// `[inbox]`, resolved: where the mailbox is, how greet signs in, what it
/// does with what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    pub host: String,
    pub port: u16,
    pub security: InboxSecurity,
    pub timeout: Duration,
    /// PEM certificate authorities trusted besides the system's:
    /// `[inbox] ca_file`, else `[transport] ca_file`.
    pub ca_file: Option<PathBuf>,
    pub username: String,
    /// The password's source; [`PasswordSource::None`] with `oauth`.
    pub password: PasswordSource,
    /// Sign in with the sending account's OAuth token (SASL XOAUTH2).
    pub oauth: Option<Box<OAuthSettings>>,
    /// The login is `[inbox]`'s own (not the sending account's): which
    /// table to name in messages.
    pub own_login: bool,
    /// The folder read (`INBOX`).
    pub folder: String,
    /// Where bounces, unsubscribes and auto-replies go once handled.
    pub processed_folder: String,
    /// Temporary failures that keep an address out …
    pub soft_bounce_limit: u32,
    /// … when they fall within this many days.
    pub soft_bounce_days: u32,
    /// `send --due` reads the mailbox first.
    pub before_send: bool,
    /// Where each key stands in greet.toml; `"inbox"` is the table.
    pub at: BTreeMap<&'static str, (u64, u64)>,
}

/// The defaults of `[inbox]`.
pub mod inbox_defaults {
    pub const FOLDER: &str = "INBOX";
    pub const PROCESSED_FOLDER: &str = "greet-processed";
    pub const SOFT_BOUNCE_LIMIT: u32 = 3;
    pub const SOFT_BOUNCE_DAYS: u32 = 14;
}

/// `[inbox]` checked and resolved against `[transport]` (its login, CA
/// file, timeout and provider fill in what `[inbox]` leaves out).
fn inbox(
    raw: Option<Spanned<RawInbox>>,
    text: &str,
    shown: &str,
    base: &Path,
    transport: &Transport,
    problems: &mut Vec<Problem>,
) -> Option<Inbox> {
    let raw = raw?;
    let table_at = line_col(text, raw.span().start);
    let raw = raw.into_inner();
    let mut at: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    at.insert("inbox", table_at);
    let mut l = Located { text, at: &mut at };
    let host = l.take("host", raw.host).map(|h| h.trim().to_string());
    let port = l.take("port", raw.port);
    let security = l.take("security", raw.security).unwrap_or_default();
    let username = l
        .take("username", raw.username)
        .map(|u| u.trim().to_string());
    let password_env = l
        .take("password_env", raw.password_env)
        .map(|v| v.trim().to_string());
    let password_file = l
        .take("password_file", raw.password_file)
        .map(|f| base.join(f));
    let ca_file = l.take("ca_file", raw.ca_file).map(|f| base.join(f));
    let timeout = l.take("timeout", raw.timeout);
    let folder = l
        .take("folder", raw.folder)
        .unwrap_or_else(|| inbox_defaults::FOLDER.into());
    let processed_folder = l
        .take("processed_folder", raw.processed_folder)
        .unwrap_or_else(|| inbox_defaults::PROCESSED_FOLDER.into());
    let soft_bounce_limit = l
        .take("soft_bounce_limit", raw.soft_bounce_limit)
        .unwrap_or(inbox_defaults::SOFT_BOUNCE_LIMIT);
    let soft_bounce_days = l
        .take("soft_bounce_days", raw.soft_bounce_days)
        .unwrap_or(inbox_defaults::SOFT_BOUNCE_DAYS);
    let before_send = l.take("before_send", raw.before_send).unwrap_or(false);
    let before = problems.len();
    let mut err = |key: &str, msg: String| {
        let p = Problem::error(shown, msg);
        problems.push(match at.get(key).or_else(|| at.get("inbox")) {
            Some(&(line, col)) if line > 0 => p.at(line, Some(col)),
            _ => p,
        })
    };
    let smtp = match &transport.kind {
        TransportKind::Smtp(s) => Some(s),
        _ => None,
    };
    let host = match host {
        Some(h) if h.is_empty() => {
            err("host", "[inbox] host is empty; name the IMAP server".into());
            String::new()
        }
        Some(h) => h,
        None => match transport.provider {
            Some(p) => p.imap_host().to_string(),
            None => {
                err(
                    "inbox",
                    "[inbox] has no host: name the IMAP server, e.g. host = \"imap.example.com\" (with provider = \"…\" in [transport] it is filled in)".into(),
                );
                String::new()
            }
        },
    };
    if port == Some(0) {
        err(
            "port",
            "[inbox] port = 0 is not a port; remove it for the default (993, or 143 with STARTTLS)"
                .into(),
        );
    }
    if timeout == Some(0) {
        err(
            "timeout",
            "[inbox] timeout = 0 would give up at once; give seconds from 1, or remove it".into(),
        );
    }
    for (key, value) in [("folder", &folder), ("processed_folder", &processed_folder)] {
        if value.trim().is_empty() {
            err(
                key,
                format!("[inbox] {key} is empty; name a folder of the mailbox"),
            );
        }
    }
    if folder.trim() == processed_folder.trim() {
        err(
            "processed_folder",
            format!(
                "[inbox] processed_folder is the folder read ({folder:?}); name another, e.g. \"{}\"",
                inbox_defaults::PROCESSED_FOLDER
            ),
        );
    }
    if soft_bounce_limit == 0 {
        err("soft_bounce_limit", "[inbox] soft_bounce_limit = 0 would keep out an address that never bounced; give a number from 1".into());
    }
    if soft_bounce_days == 0 {
        err(
            "soft_bounce_days",
            "[inbox] soft_bounce_days = 0 is no span of time; give days from 1".into(),
        );
    }
    if password_env.is_some() && password_file.is_some() {
        err(
            "password_file",
            "[inbox] names both password_env and password_file; keep one".into(),
        );
    }
    // The login: [inbox]'s own, or the sending account's.
    let (username, password, oauth, own_login) = match username {
        Some(user) if user.is_empty() => {
            err("username", "[inbox] username is empty".into());
            (String::new(), PasswordSource::None, None, true)
        }
        Some(user) => {
            let password = match (password_env, password_file) {
                (Some(var), _) => PasswordSource::Env(var),
                (None, Some(file)) => PasswordSource::File(file),
                (None, None) => {
                    err("username", "[inbox] username is set: name its password with password_env or password_file".into());
                    PasswordSource::None
                }
            };
            (user, password, None, true)
        }
        None => {
            if password_env.is_some() || password_file.is_some() {
                let key = if password_env.is_some() {
                    "password_env"
                } else {
                    "password_file"
                };
                err(
                    key,
                    format!(
                        "[inbox] {key} without username: name the mailbox's username too, or remove {key} to sign in as [transport] does"
                    ),
                );
            }
            match smtp.and_then(|s| s.username.clone().map(|u| (u, s))) {
                Some((user, s)) => (user, s.password.clone(), s.oauth.clone(), false),
                None => {
                    err(
                        "inbox",
                        "[inbox] has no login: [transport] signs in to no SMTP server, so name the mailbox's username and password_env (or password_file) in [inbox]".into(),
                    );
                    (String::new(), PasswordSource::None, None, true)
                }
            }
        }
    };
    if problems.len() > before {
        return None;
    }
    Some(Inbox {
        port: port.unwrap_or(security.default_port()),
        host,
        security,
        timeout: timeout
            .map(Duration::from_secs)
            .or(smtp.map(|s| s.timeout))
            .unwrap_or(defaults::TIMEOUT),
        ca_file: ca_file.or_else(|| smtp.and_then(|s| s.ca_file.clone())),
        username,
        password,
        oauth,
        own_login,
        folder,
        processed_folder,
        soft_bounce_limit,
        soft_bounce_days,
        before_send,
        at,
    })
}

impl Inbox {
    /// A problem located at `key` of `[inbox]` (else at the table).
    pub fn problem(&self, file: &str, key: &str, message: String) -> Problem {
        let p = Problem::error(file, message);
        match self.at.get(key).or_else(|| self.at.get("inbox")) {
            Some(&(l, c)) if l > 0 => p.at(l, Some(c)),
            _ => p,
        }
    }
}

impl Config {
    /// What this machine must provide for `greet inbox`: the password's
    /// variable or 0600 file, a readable CA file, the sign-in file.
    pub fn inbox_problems(&self) -> Vec<Problem> {
        let Some(inbox) = &self.inbox else {
            return Vec::new();
        };
        let shown = self.path.display().to_string();
        // A borrowed login is [transport]'s to report, at its keys.
        let mut problems = Vec::new();
        if !inbox.own_login {
            // The sending account's login (and CA file): [transport]'s
            // problems, as `check` and `send` say them.
            problems.extend(self.transport_problems());
        } else {
            let at_key = |key: &str, msg: String| inbox.problem(&shown, key, msg);
            match &inbox.password {
                PasswordSource::None => {}
                PasswordSource::Env(var) => match std::env::var_os(var) {
                    Some(v) if !v.is_empty() => {}
                    _ => problems.push(at_key(
                        "password_env",
                        format!("[inbox] password_env names {var}, which is not set (or empty) in the environment of this run"),
                    )),
                },
                PasswordSource::File(path) => {
                    if let Err(why) = secret_file_problem(path) {
                        problems.push(at_key("password_file", format!("[inbox] password_file: {why}")));
                    }
                }
            }
        }
        if let Some(path) = inbox
            .ca_file
            .as_ref()
            .filter(|_| inbox.at.contains_key("ca_file"))
        {
            let pem = std::fs::read(path);
            let ok = pem
                .as_ref()
                .is_ok_and(|pem| pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----"));
            if !ok {
                let why = match pem {
                    Err(e) => format!("cannot read {}: {e}", path.display()),
                    Ok(_) => format!("{} is not a PEM certificate", path.display()),
                };
                problems.push(inbox.problem(&shown, "ca_file", format!("[inbox] ca_file: {why}")));
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

/// An occasion's `gift_days` and `gift` checked together: both or neither,
/// at least one day, an offer in the default language (other languages fall
/// back to it), offers not blank, each problem located.
fn occasion_gift(
    name: &str,
    days: Option<Spanned<u32>>,
    offer: Option<Spanned<BTreeMap<String, String>>>,
    default_language: &str,
    problem: &mut dyn FnMut(std::ops::Range<usize>, String),
) -> Option<OccasionGift> {
    match (days, offer) {
        (None, None) => None,
        (Some(days), None) => {
            problem(
                days.span(),
                format!(
                    "occasion \"{name}\": gift_days needs the offer too, e.g. gift = {{ {default_language} = \"a coffee and a cake on us\" }}"
                ),
            );
            None
        }
        (None, Some(offer)) => {
            problem(
                offer.span(),
                format!(
                    "occasion \"{name}\": gift needs gift_days = N, the days its code stays valid"
                ),
            );
            None
        }
        (Some(days), Some(offer)) => {
            let mut ok = true;
            if *days.get_ref() == 0 {
                problem(
                    days.span(),
                    format!("occasion \"{name}\": gift_days must be at least 1"),
                );
                ok = false;
            }
            let span = offer.span();
            let offer: BTreeMap<String, String> = offer
                .into_inner()
                .into_iter()
                .map(|(l, t)| (l.trim().to_ascii_lowercase(), t.trim().to_string()))
                .collect();
            for (lang, text) in &offer {
                if !is_language_tag(lang) {
                    problem(
                        span.clone(),
                        format!(
                            "occasion \"{name}\": gift names \"{lang}\", which is not a language code such as el, hy, he or en"
                        ),
                    );
                    ok = false;
                } else if text.is_empty() {
                    problem(
                        span.clone(),
                        format!("occasion \"{name}\": the {lang} gift offer is empty"),
                    );
                    ok = false;
                }
            }
            if !offer.contains_key(default_language) {
                problem(
                    span,
                    format!(
                        "occasion \"{name}\": gift has no offer in the default language ({default_language}), which the other languages fall back to"
                    ),
                );
                ok = false;
            }
            ok.then_some(OccasionGift {
                days: *days.get_ref(),
                offer,
            })
        }
    }
}

/// Why a file holding a secret cannot be used: missing, unreadable, empty,
/// or readable by group or others.
pub fn secret_file_problem(path: &Path) -> Result<(), String> {
    secret_file_access_problem(path)?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.trim_end_matches(['\r', '\n']).is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(())
}

/// Why a file holding a secret (of any bytes) cannot be used: missing, not
/// a file, or readable by group or others.
pub fn secret_file_access_problem(path: &Path) -> Result<(), String> {
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
        let unsubscribe = unsubscribe(raw.unsubscribe, text, &shown, &email, &mut problems);
        let ledger = base.join(&raw.ledger);
        let transport = transport(raw.transport, text, &shown, base, &ledger, &mut problems);
        let dkim = dkim(raw.dkim, text, &shown, base, &email, &mut problems);
        let mut transport = transport;
        let inbox = inbox(raw.inbox, text, &shown, base, &transport, &mut problems);
        // Reading the mailbox with the sending account's sign-in: Microsoft
        // grants IMAP only for its own scope (Google's mail scope covers
        // both). Scopes written in greet.toml are left as written.
        if inbox.is_some()
            && matches!(
                transport.provider,
                Some(Provider::Microsoft365 | Provider::Outlook)
            )
            && !transport.at.contains_key("oauth_scopes")
            && let TransportKind::Smtp(s) = &mut transport.kind
            && let Some(oauth) = &mut s.oauth
        {
            oauth
                .scopes
                .push(crate::provider::MICROSOFT_IMAP_SCOPE.to_string());
        }
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
        // Where each occasion is written: unlisted occasions rank in this order.
        let mut written: Vec<(usize, String)> = raw
            .occasions
            .iter()
            .map(|(n, o)| (o.span().start, n.clone()))
            .collect();
        written.sort();
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
            let gift = occasion_gift(&name, occ.gift_days, occ.gift, &lang, &mut |span, msg| {
                problems.push(at(span, msg))
            });
            if gift.is_some() && raw.gifts.is_none() {
                problems.push(at(
                    span.clone(),
                    format!(
                        "occasion \"{name}\" gives a gift: add [gifts] with secret_file = \"gift-secret\" (make it with `head -c 32 /dev/urandom > gift-secret && chmod 600 gift-secret`)"
                    ),
                ));
            }
            let feast = match (&occ.feast, occ.kind) {
                (None, OccasionKind::Holiday) => {
                    problems.push(at(
                        span.clone(),
                        format!(
                            "occasion \"{name}\": kind = \"holiday\" needs a feast, one of {}",
                            feast_names()
                        ),
                    ));
                    None
                }
                (None, _) => None,
                (Some(f), OccasionKind::Holiday) => {
                    let feast = crate::feast::Feast::parse(f.get_ref());
                    if feast.is_none() {
                        problems.push(at(
                            f.span(),
                            format!(
                                "occasion \"{name}\": feast \"{}\" is not one greet knows; use one of {}",
                                f.get_ref(),
                                feast_names()
                            ),
                        ));
                    }
                    feast
                }
                (Some(f), _) => {
                    problems.push(at(
                        f.span(),
                        format!("occasion \"{name}\": feast is only for kind = \"holiday\""),
                    ));
                    None
                }
            };
            // A holiday's own template is its feast's, whatever the
            // occasion is called: the shipped templates serve any name.
            let template = occ
                .template
                .or_else(|| feast.map(crate::feast::Feast::template))
                .unwrap_or_else(|| name.clone());
            occasions.insert(
                name.clone(),
                Occasion {
                    template,
                    name,
                    kind: occ.kind,
                    segment: occ.segment.map(Spanned::into_inner),
                    segment_at,
                    gift,
                    feast,
                },
            );
        }
        let mut traditions: BTreeMap<String, crate::feast::Tradition> = ["el", "hy", "he", "en"]
            .into_iter()
            .filter_map(|l| Some((l.to_string(), crate::feast::Tradition::of_language(l)?)))
            .collect();
        for (lang, value) in raw.traditions {
            let key = lang.trim().to_ascii_lowercase();
            if !is_language_tag(&key) {
                problems.push(at(
                    value.span(),
                    format!(
                        "[traditions] \"{lang}\" is not a language code such as el, hy, he or en"
                    ),
                ));
                continue;
            }
            match crate::feast::Tradition::parse(value.get_ref()) {
                Some(t) => {
                    traditions.insert(key, t);
                }
                None => problems.push(at(
                    value.span(),
                    format!(
                        "[traditions] {key} = \"{}\" is not a tradition; use orthodox, armenian, jewish or western",
                        value.get_ref()
                    ),
                )),
            }
        }
        if occasions.is_empty() {
            problems.push(Problem::error(
                &shown,
                "no occasions: add one, e.g. [occasions.birthday] with kind = \"birthday\"",
            ));
        }
        let gift_secret = raw.gifts.and_then(|g| {
            let file = g.into_inner().secret_file;
            let path = base.join(file.get_ref());
            crate::gift::Secret::read(&path)
                .map_err(|why| {
                    problems.push(at(file.span(), format!("[gifts] secret_file: {why}")))
                })
                .ok()
        });
        let written: Vec<&str> = written.iter().map(|(_, n)| n.as_str()).collect();
        let spacing = spacing(
            raw.spacing,
            &occasions,
            &written,
            text,
            &shown,
            &mut problems,
        );
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
            ledger,
            transport,
            inbox,
            vocative: raw
                .vocative
                .into_iter()
                .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                .collect(),
            salutations: raw.salutations,
            namedays: std::sync::Arc::new(namedays),
            dkim,
            unsubscribe,
            gift_secret,
            traditions,
            spacing,
        })
    }

    /// The tradition of a customer who has no `tradition` cell: that of
    /// their language, else (no language given) of the default language.
    pub fn tradition_of_language(&self, lang: Option<&str>) -> Option<crate::feast::Tradition> {
        let lang = lang.unwrap_or(&self.default_language);
        self.traditions.get(lang).copied()
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

/// `[dkim]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDkim {
    selector: Spanned<String>,
    key_file: Spanned<PathBuf>,
    ed25519_key_file: Option<Spanned<PathBuf>>,
    ed25519_selector: Option<Spanned<String>>,
    domain: Option<Spanned<String>>,
}

/// `[dkim]` resolved: who signs (`d=`, `s=`) and with which key files.
/// Whether the files hold usable keys is this machine's business:
/// [`Config::dkim_problems`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimSettings {
    /// `s=` of the RSA signature.
    pub selector: String,
    /// The RSA private key (PEM, PKCS#1 or PKCS#8), kept 0600.
    pub key_file: PathBuf,
    /// The selector and key of an additional Ed25519 signature.
    pub ed25519: Option<(String, PathBuf)>,
    /// `d=`: the From domain or a parent of it, as an A-label.
    pub domain: String,
    /// Where each key stands in greet.toml (line, column).
    at: BTreeMap<&'static str, (u64, u64)>,
}

impl DkimSettings {
    /// A problem located at `key` of `[dkim]`, else at the table.
    pub fn problem(&self, file: &str, key: &str, message: String) -> Problem {
        let p = Problem::error(file, message);
        match self.at.get(key).or_else(|| self.at.get("dkim")) {
            Some(&(l, c)) if l > 0 => p.at(l, Some(c)),
            _ => p,
        }
    }
}

/// `[dkim]` checked: the selectors are DNS labels, and the signing domain
/// is the From domain or a parent of it — the alignment DMARC asks for,
/// without which Gmail, Yahoo and Outlook do not count the signature.
fn dkim(
    raw: Option<Spanned<RawDkim>>,
    text: &str,
    shown: &str,
    base: &Path,
    from: &str,
    problems: &mut Vec<Problem>,
) -> Option<DkimSettings> {
    let raw = raw?;
    let mut at = BTreeMap::new();
    at.insert("dkim", line_col(text, raw.span().start));
    let raw = raw.into_inner();
    let mut loc = Located { text, at: &mut at };
    let selector = loc.take("selector", Some(raw.selector)).unwrap_or_default();
    let key_file = loc.take("key_file", Some(raw.key_file)).unwrap_or_default();
    let ed25519_file = loc.take("ed25519_key_file", raw.ed25519_key_file);
    let ed25519_selector = loc.take("ed25519_selector", raw.ed25519_selector);
    let domain_written = loc.take("domain", raw.domain);
    let mut found = Vec::new();
    let mut refuse = |key: &'static str, message: String| found.push((key, message));
    let selector = selector.trim().to_ascii_lowercase();
    if !crate::dkim::is_selector(&selector) {
        refuse(
            "selector",
            format!(
                "[dkim] selector \"{selector}\" is not a DNS name: letters, digits and - (not at either end), parts separated by dots, e.g. \"greet\""
            ),
        );
    }
    let ed25519_selector = ed25519_selector.map(|s| s.trim().to_ascii_lowercase());
    let ed25519 = match (ed25519_file, ed25519_selector) {
        (None, Some(_)) => {
            refuse(
                "ed25519_selector",
                "[dkim] ed25519_selector is for ed25519_key_file, which is not set".into(),
            );
            None
        }
        (None, None) => None,
        (Some(file), s) => {
            let s = s.unwrap_or_else(|| format!("{selector}-ed25519"));
            if !crate::dkim::is_selector(&s) {
                refuse(
                    "ed25519_selector",
                    format!(
                        "[dkim] ed25519_selector \"{s}\" is not a DNS name: letters, digits and - (not at either end), parts separated by dots"
                    ),
                );
            } else if s == selector {
                refuse(
                    "ed25519_selector",
                    format!(
                        "[dkim] ed25519_selector \"{s}\" is the RSA key's selector: each key needs its own DNS record, so its own selector"
                    ),
                );
            }
            Some((s, base.join(file)))
        }
    };
    let from_domain = from
        .rsplit_once('@')
        .map_or(String::new(), |(_, d)| crate::message::ascii_domain(d))
        .to_ascii_lowercase();
    let domain = match domain_written {
        None => from_domain.clone(),
        Some(written) => {
            let written = written.trim().trim_end_matches('.');
            match idna::domain_to_ascii(written) {
                Err(_) => {
                    refuse(
                        "domain",
                        format!("[dkim] domain \"{written}\" is not a domain name"),
                    );
                    from_domain.clone()
                }
                Ok(d) if !crate::dkim::is_selector(&d) => {
                    refuse(
                        "domain",
                        format!("[dkim] domain \"{written}\" is not a domain name"),
                    );
                    from_domain.clone()
                }
                Ok(d) if !d.contains('.') => {
                    refuse(
                        "domain",
                        format!(
                            "[dkim] domain \"{written}\" is a top-level domain; sign with your own domain ({from_domain})"
                        ),
                    );
                    from_domain.clone()
                }
                Ok(d) if d != from_domain && !from_domain.ends_with(&format!(".{d}")) => {
                    refuse(
                        "domain",
                        format!(
                            "[dkim] domain \"{written}\" is neither the From domain ({from_domain}) nor a parent of it: receivers would not count the signature for DMARC; leave domain out to sign as {from_domain}"
                        ),
                    );
                    from_domain.clone()
                }
                Ok(d) => d,
            }
        }
    };
    let settings = DkimSettings {
        selector,
        key_file: base.join(key_file),
        ed25519,
        domain,
        at,
    };
    for (key, message) in found {
        problems.push(settings.problem(shown, key, message));
    }
    Some(settings)
}

impl Config {
    /// Whether `[dkim]`'s key files hold usable keys on this machine: each
    /// kept 0600 (like `password_file`), parsing as a private key, RSA of
    /// 2048 to 4096 bits. `check` and `send` ask before anything is touched.
    pub fn dkim_problems(&self) -> Vec<Problem> {
        let Some(settings) = &self.dkim else {
            return Vec::new();
        };
        let shown = self.path.display().to_string();
        match crate::dkim::Signer::load(settings) {
            Ok(_) => Vec::new(),
            Err(found) => found
                .into_iter()
                .map(|(key, why)| settings.problem(&shown, key, why))
                .collect(),
        }
    }
}

/// The feast families, as a message lists them.
fn feast_names() -> String {
    crate::feast::Feast::ALL
        .map(crate::feast::Feast::name)
        .join(", ")
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
    fn spacing_ranks_the_named_occasions_first_then_by_kind_then_as_written() {
        let occasions = "
[occasions.zz-anniversary]
kind = \"anniversary\"
[occasions.xmas]
kind = \"campaign\"
[occasions.names]
kind = \"nameday\"
[occasions.late-birthday]
kind = \"birthday\"
";
        let text = format!("{MINIMAL}{occasions}");
        let c = Config::parse(&text, Path::new("greet.toml")).unwrap();
        assert_eq!(c.spacing.min_days, crate::spacing::DEFAULT_MIN_DAYS);
        // Unnamed: birthdays, name days, anniversaries; each kind as written.
        assert_eq!(
            c.spacing.order(),
            ["birthday", "late-birthday", "names", "zz-anniversary"]
        );
        assert_eq!(c.spacing.rank("xmas"), None, "campaigns are exempt");
        let text = format!(
            "{MINIMAL}{occasions}[spacing]\nmin_days_between = 0\nprecedence = [\"zz-anniversary\", \"names\"]\n"
        );
        let c = Config::parse(&text, Path::new("greet.toml")).unwrap();
        assert_eq!(
            c.spacing.order(),
            ["zz-anniversary", "names", "birthday", "late-birthday"]
        );
        assert!(!c.spacing.is_on());
    }

    #[test]
    fn a_spacing_mistake_is_located_at_its_place() {
        let text =
            format!("{MINIMAL}[spacing]\nprecedence = [\"birthday\", \"birthday\", \"namday\"]\n");
        let problems = Config::parse(&text, Path::new("greet.toml")).unwrap_err();
        let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let line = text
            .lines()
            .position(|l| l.starts_with("precedence"))
            .unwrap()
            + 1;
        assert_eq!(
            said,
            [
                format!("greet.toml:{line}:27: [spacing] precedence names \"birthday\" twice"),
                format!(
                    "greet.toml:{line}:39: [spacing] precedence names \"namday\", which is not an occasion of this config; the config has: birthday"
                ),
            ]
        );
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

    /// MINIMAL with a `[transport]` table of these lines, read from /srv/shop.
    fn with_transport(lines: &[&str]) -> (String, Result<Config, Vec<Problem>>) {
        let text = format!("{MINIMAL}\n[transport]\n{}\n", lines.join("\n"));
        let parsed = Config::parse(&text, Path::new("/srv/shop/greet.toml"));
        (text, parsed)
    }

    /// (line, column) of the value on the line that starts with `key =`.
    fn value_at(text: &str, key: &str) -> (u64, u64) {
        let prefix = format!("{key} = ");
        let (i, line) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {key} in {text}"));
        (i as u64 + 1, line.find(" = ").unwrap() as u64 + 4)
    }

    /// The minimal config with `[transport]` and `[inbox]` lines.
    fn with_inbox(transport: &[&str], inbox: &[&str]) -> (String, Result<Config, Vec<Problem>>) {
        let text = format!(
            "{MINIMAL}\n[transport]\n{}\n\n[inbox]\n{}\n",
            transport.join("\n"),
            inbox.join("\n")
        );
        let parsed = Config::parse(&text, Path::new("/srv/shop/greet.toml"));
        (text, parsed)
    }

    fn inbox_of(transport: &[&str], inbox: &[&str]) -> Inbox {
        let (text, parsed) = with_inbox(transport, inbox);
        parsed
            .unwrap_or_else(|e| panic!("{text}\n{}", e[0]))
            .inbox
            .expect("[inbox] is there")
    }

    const SMTP_LOGIN: &[&str] = &[
        "kind = \"smtp\"",
        "host = \"smtp.example.gr\"",
        "username = \"hello@example.gr\"",
        "password_env = \"GREET_SMTP_PASSWORD\"",
        "ca_file = \"company-ca.pem\"",
        "timeout = 12",
    ];

    #[test]
    fn an_inbox_signs_in_as_the_sending_account_with_the_defaults_filled_in() {
        let inbox = inbox_of(SMTP_LOGIN, &["host = \"imap.example.gr\""]);
        assert_eq!(inbox.host, "imap.example.gr");
        assert_eq!((inbox.port, inbox.security), (993, InboxSecurity::Tls));
        assert_eq!(inbox.username, "hello@example.gr");
        assert_eq!(
            inbox.password,
            PasswordSource::Env("GREET_SMTP_PASSWORD".into())
        );
        assert!(!inbox.own_login);
        assert_eq!(
            inbox.ca_file,
            Some(PathBuf::from("/srv/shop/company-ca.pem"))
        );
        assert_eq!(inbox.timeout, Duration::from_secs(12));
        assert_eq!(
            (inbox.folder.as_str(), inbox.processed_folder.as_str()),
            ("INBOX", "greet-processed")
        );
        assert_eq!((inbox.soft_bounce_limit, inbox.soft_bounce_days), (3, 14));
        assert!(!inbox.before_send);
        // No [inbox]: no inbox.
        let (text, parsed) = with_transport(SMTP_LOGIN);
        assert!(
            parsed
                .unwrap_or_else(|e| panic!("{text}\n{}", e[0]))
                .inbox
                .is_none()
        );
    }

    #[test]
    fn every_provider_names_its_imap_server_and_written_keys_win() {
        for provider in Provider::ALL {
            let lines = [
                format!("provider = \"{}\"", provider.name()),
                "username = \"hello@example.gr\"".into(),
                "password_env = \"P\"".into(),
            ];
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            let inbox = inbox_of(&lines, &[]);
            assert_eq!(inbox.host, provider.imap_host(), "{provider:?}");
            assert_eq!(inbox.port, 993);
            let inbox = inbox_of(
                &lines,
                &["host = \"imap.own.example\"", "security = \"starttls\""],
            );
            assert_eq!((inbox.host.as_str(), inbox.port), ("imap.own.example", 143));
        }
    }

    #[test]
    fn an_inbox_with_its_own_login_and_every_key_written_is_read_as_written() {
        let inbox = inbox_of(
            &["kind = \"file\""],
            &[
                "host = \"mail.example.gr\"",
                "port = 9993",
                "username = \"bounces@example.gr\"",
                "password_file = \"imap-password\"",
                "ca_file = \"ca.pem\"",
                "timeout = 5",
                "folder = \"Bounces\"",
                "processed_folder = \"Done\"",
                "soft_bounce_limit = 2",
                "soft_bounce_days = 30",
                "before_send = true",
            ],
        );
        assert_eq!(inbox.port, 9993);
        assert_eq!(inbox.username, "bounces@example.gr");
        assert_eq!(
            inbox.password,
            PasswordSource::File("/srv/shop/imap-password".into())
        );
        assert!(inbox.own_login);
        assert_eq!(inbox.ca_file, Some(PathBuf::from("/srv/shop/ca.pem")));
        assert_eq!(inbox.timeout, Duration::from_secs(5));
        assert_eq!(
            (inbox.folder.as_str(), inbox.processed_folder.as_str()),
            ("Bounces", "Done")
        );
        assert_eq!((inbox.soft_bounce_limit, inbox.soft_bounce_days), (2, 30));
        assert!(inbox.before_send);
    }

    #[test]
    fn every_inbox_mistake_is_refused_at_its_key_with_what_to_write() {
        let own = [
            "host = \"imap.example.gr\"",
            "username = \"u@example.gr\"",
            "password_env = \"P\"",
        ];
        // (transport lines, inbox lines, the key the problem points at, words it says)
        let cases: Vec<(&[&str], Vec<&str>, &str, &str)> = vec![
            (SMTP_LOGIN, vec![], "inbox", "has no host"),
            (SMTP_LOGIN, vec!["host = \" \""], "host", "host is empty"),
            (
                SMTP_LOGIN,
                vec!["host = \"h\"", "port = 0"],
                "port",
                "not a port",
            ),
            (
                SMTP_LOGIN,
                vec!["host = \"h\"", "timeout = 0"],
                "timeout",
                "give up at once",
            ),
            (
                SMTP_LOGIN,
                vec!["host = \"h\"", "folder = \"\""],
                "folder",
                "folder is empty",
            ),
            (
                SMTP_LOGIN,
                vec!["host = \"h\"", "processed_folder = \"INBOX\""],
                "processed_folder",
                "is the folder read",
            ),
            (
                SMTP_LOGIN,
                vec!["host = \"h\"", "soft_bounce_limit = 0"],
                "soft_bounce_limit",
                "never bounced",
            ),
            (
                SMTP_LOGIN,
                vec!["host = \"h\"", "soft_bounce_days = 0"],
                "soft_bounce_days",
                "no span of time",
            ),
            (
                SMTP_LOGIN,
                vec!["host = \"h\"", "password_env = \"P\""],
                "password_env",
                "without username",
            ),
            (
                SMTP_LOGIN,
                vec!["host = \"h\"", "username = \"u\""],
                "username",
                "name its password",
            ),
            (
                &["kind = \"file\""],
                vec!["host = \"h\""],
                "inbox",
                "has no login",
            ),
            (
                &["kind = \"file\""],
                [&own[..], &["password_file = \"f\""]].concat(),
                "password_file",
                "keep one",
            ),
        ];
        for (transport, inbox, key, words) in cases {
            let (text, parsed) = with_inbox(transport, &inbox);
            let problems = parsed.err().unwrap_or_else(|| panic!("accepted:\n{text}"));
            assert_eq!(problems.len(), 1, "{text}\n{problems:?}");
            let p = &problems[0];
            assert!(p.message.contains(words), "{text}\n{}", p.message);
            assert!(p.message.starts_with("[inbox]"), "{}", p.message);
            let at = if key == "inbox" {
                let line = text.lines().position(|l| l == "[inbox]").unwrap() as u64 + 1;
                (line, 1)
            } else {
                let table = text.find("[inbox]").unwrap();
                let (l, c) = value_at(&text[table..], key);
                (l + text[..table].lines().count() as u64, c)
            };
            assert_eq!(
                (p.line, p.column),
                (Some(at.0), Some(at.1)),
                "{text}\n{p:?}"
            );
        }
        // security = "none" is no choice here.
        let (_, parsed) = with_inbox(SMTP_LOGIN, &["host = \"h\"", "security = \"none\""]);
        assert!(parsed.is_err());
    }

    fn transport_of(lines: &[&str]) -> Transport {
        let (text, parsed) = with_transport(lines);
        parsed
            .unwrap_or_else(|e| panic!("{text}\n{}", e[0]))
            .transport
    }

    /// An SMTP account signing in with OAuth 2.0 at a test server, plus `extra`.
    fn oauth_lines(extra: &[&'static str]) -> Vec<&'static str> {
        let mut lines = vec![
            "kind = \"smtp\"",
            "host = \"127.0.0.1\"",
            "username = \"shop@example.test\"",
            "auth = \"oauth2\"",
            "token_file = \"secrets/token.json\"",
            "client_id = \"greet-cli\"",
            "oauth_device_url = \"http://127.0.0.1:9/device/auth\"",
            "oauth_token_url = \"http://127.0.0.1:9/token\"",
            "oauth_scopes = [\"offline_access\", \"SMTP.Send\"]",
        ];
        for e in extra {
            let key = e.split(" =").next().unwrap();
            lines.retain(|l| !l.starts_with(&format!("{key} =")));
            if !e.ends_with("= !") {
                lines.push(e);
            }
        }
        lines
    }

    #[test]
    fn an_oauth_account_is_resolved_with_its_endpoints_and_no_password() {
        let t = transport_of(&oauth_lines(&[]));
        let TransportKind::Smtp(s) = t.kind else {
            panic!("smtp")
        };
        assert_eq!(s.password, PasswordSource::None);
        assert_eq!(
            s.oauth,
            Some(Box::new(OAuthSettings {
                token_file: PathBuf::from("/srv/shop/secrets/token.json"),
                client_id: "greet-cli".into(),
                client_secret: None,
                flow: LoginFlow::Device,
                authorize_url: None,
                device_url: Some("http://127.0.0.1:9/device/auth".into()),
                token_url: "http://127.0.0.1:9/token".into(),
                scopes: vec!["offline_access".into(), "SMTP.Send".into()],
            }))
        );
    }

    #[test]
    fn every_provider_signs_in_at_its_own_endpoints_with_its_scopes_and_written_keys_win() {
        let cases = [
            (
                "microsoft365",
                vec!["tenant = \"contoso.onmicrosoft.com\""],
                LoginFlow::Device,
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
                "https://outlook.office.com/SMTP.Send offline_access",
            ),
            (
                "outlook",
                vec![],
                LoginFlow::Device,
                "https://login.microsoftonline.com/consumers/oauth2/v2.0/token",
                "https://outlook.office.com/SMTP.Send offline_access",
            ),
            (
                "gmail",
                vec!["client_secret = \"GOCSPX-x\""],
                LoginFlow::Browser,
                "https://oauth2.googleapis.com/token",
                "https://mail.google.com/",
            ),
            (
                "google-workspace",
                vec!["client_secret = \"GOCSPX-x\""],
                LoginFlow::Browser,
                "https://oauth2.googleapis.com/token",
                "https://mail.google.com/",
            ),
        ];
        for (name, extra, flow, token_url, scopes) in cases {
            let provider = format!("provider = \"{name}\"");
            let mut lines = vec![
                provider.as_str(),
                "username = \"shop@example.gr\"",
                "auth = \"oauth2\"",
                "token_file = \"t.json\"",
                "client_id = \"app\"",
            ];
            lines.extend(extra.iter().copied());
            let t = transport_of(&lines);
            let TransportKind::Smtp(s) = &t.kind else {
                panic!("{name}: smtp")
            };
            let o = s.oauth.as_ref().unwrap();
            assert_eq!(o.flow, flow, "{name}");
            assert_eq!(o.token_url, token_url, "{name}");
            assert_eq!(o.scopes.join(" "), scopes, "{name}");
            let url = match flow {
                LoginFlow::Device => o.device_url.as_deref().unwrap(),
                LoginFlow::Browser => o.authorize_url.as_deref().unwrap(),
            };
            assert!(url.starts_with("https://"), "{name}: {url}");
            // Keys written win over the provider's.
            lines.push("oauth_token_url = \"https://id.example/token\"");
            lines.push("oauth_scopes = [\"x\"]");
            lines.push("oauth_login = \"browser\"");
            let t = transport_of(&lines);
            let TransportKind::Smtp(s) = &t.kind else {
                panic!("{name}: smtp")
            };
            let o = s.oauth.as_ref().unwrap();
            assert_eq!(
                (o.token_url.as_str(), o.scopes.clone(), o.flow),
                (
                    "https://id.example/token",
                    vec!["x".to_string()],
                    LoginFlow::Browser
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn a_microsoft_sign_in_that_also_reads_the_mailbox_asks_for_imap_too() {
        let scopes = |provider: &str, extra: &[&str], inbox: bool| {
            let p = format!("provider = \"{provider}\"");
            let mut lines = vec![
                p.as_str(),
                "username = \"shop@example.gr\"",
                "auth = \"oauth2\"",
                "token_file = \"t.json\"",
                "client_id = \"app\"",
                "tenant = \"contoso.onmicrosoft.com\"",
                "client_secret = \"s\"",
            ];
            if !provider.starts_with("microsoft") {
                lines.retain(|l| !l.starts_with("tenant"));
            }
            lines.extend(extra.iter().copied());
            if inbox {
                lines.push("[inbox]");
                lines.push("folder = \"INBOX\"");
            }
            let t = transport_of(&lines);
            let TransportKind::Smtp(s) = t.kind else {
                panic!("smtp")
            };
            s.oauth.unwrap().scopes.join(" ")
        };
        let send = "https://outlook.office.com/SMTP.Send offline_access";
        let imap = format!("{send} https://outlook.office.com/IMAP.AccessAsUser.All");
        assert_eq!(scopes("microsoft365", &[], true), imap);
        assert_eq!(scopes("microsoft365", &[], false), send);
        assert_eq!(scopes("gmail", &[], true), "https://mail.google.com/");
        // Scopes written stay as written.
        assert_eq!(
            scopes("microsoft365", &["oauth_scopes = [\"x\"]"], true),
            "x"
        );
    }

    #[test]
    fn every_oauth_mistake_is_refused_at_its_key_with_what_to_write() {
        // (lines changed, key the problem stands at, words of the message)
        let cases: &[(&[&str], &str, &str)] = &[
            (&["username = !"], "auth", "needs username"),
            (&["token_file = !"], "auth", "needs token_file"),
            (&["client_id = !"], "auth", "needs client_id"),
            (&["client_id = \" \""], "client_id", "client_id is empty"),
            (&["oauth_token_url = !"], "auth", "needs oauth_token_url"),
            (
                &["oauth_device_url = !"],
                "auth",
                "needs oauth_authorize_url",
            ),
            (
                &["oauth_login = \"device\"", "oauth_device_url = !"],
                "auth",
                "needs oauth_device_url",
            ),
            (&["oauth_scopes = !"], "auth", "needs oauth_scopes"),
            (
                &["oauth_scopes = []"],
                "oauth_scopes",
                "list of scope names",
            ),
            (
                &["oauth_scopes = [\"a b\"]"],
                "oauth_scopes",
                "list of scope names",
            ),
            (
                &["oauth_token_url = \"http://id.example/token\""],
                "oauth_token_url",
                "must be an https:// address",
            ),
            (
                &["oauth_device_url = \"ftp://127.0.0.1/d\""],
                "oauth_device_url",
                "must be an https:// address",
            ),
            (
                &["oauth_token_url = \"not a url\""],
                "oauth_token_url",
                "is not an address",
            ),
            (
                &["password_env = \"PW\""],
                "password_env",
                "not a password; remove password_env",
            ),
            (
                &["password_file = \"pw\""],
                "password_file",
                "not a password; remove password_file",
            ),
            (
                &["security = \"none\""],
                "auth",
                "never sends a token without TLS",
            ),
            (
                &["tenant = \"x\""],
                "tenant",
                "tenant is for provider = \"microsoft365\"",
            ),
            (
                &["auth = \"password\"", "username = !"],
                "token_file",
                "token_file is for auth = \"oauth2\"",
            ),
            (&["auth = \"kerberos\""], "auth", "unknown variant"),
            (&["oauth_login = \"fax\""], "oauth_login", "unknown variant"),
        ];
        for (changes, key, words) in cases {
            let lines = oauth_lines(changes);
            let (text, parsed) = with_transport(&lines);
            let problems = parsed
                .err()
                .unwrap_or_else(|| panic!("{changes:?} accepted:\n{text}"));
            let p = problems
                .iter()
                .find(|p| p.message.contains(words))
                .unwrap_or_else(|| panic!("{changes:?}: no \"{words}\" in {problems:?}"));
            let at = if text.lines().any(|l| l.starts_with(&format!("{key} = "))) {
                value_at(&text, key)
            } else {
                value_at(&text, "auth")
            };
            if !words.contains("unknown variant") {
                assert_eq!(
                    (p.line, p.column),
                    (Some(at.0), Some(at.1)),
                    "{changes:?}: {p}"
                );
            }
        }
        // A provider's own needs.
        let provider_cases: &[(&[&str], &str)] = &[
            (&["provider = \"microsoft365\""], "needs tenant"),
            (
                &["provider = \"microsoft365\"", "tenant = \"a/b\""],
                "Directory (tenant) ID",
            ),
            (&["provider = \"gmail\""], "needs client_secret"),
            (&["provider = \"google-workspace\""], "needs client_secret"),
        ];
        for (changes, words) in provider_cases {
            let mut lines = vec![
                "username = \"shop@example.gr\"",
                "auth = \"oauth2\"",
                "token_file = \"t.json\"",
                "client_id = \"app\"",
            ];
            lines.extend(changes.iter().copied());
            let (text, parsed) = with_transport(&lines);
            let problems = parsed
                .err()
                .unwrap_or_else(|| panic!("{changes:?} accepted:\n{text}"));
            assert!(
                problems.iter().any(|p| p.message.contains(words)),
                "{changes:?}: {problems:?}"
            );
        }
    }

    /// Every key of `[transport]` that belongs to one kind, with a value.
    const KIND_KEYS: &[(&str, &str, &str)] = &[
        ("provider", "\"gmail\"", "smtp"),
        ("host", "\"mail.example.gr\"", "smtp"),
        ("port", "2525", "smtp"),
        ("security", "\"tls\"", "smtp"),
        ("username", "\"shop\"", "smtp"),
        ("password_env", "\"GREET_PW\"", "smtp"),
        ("password_file", "\"smtp-password\"", "smtp"),
        ("timeout", "10", "smtp"),
        ("ca_file", "\"ca.pem\"", "smtp"),
        ("allow_unencrypted_remote", "true", "smtp"),
        ("auth", "\"oauth2\"", "smtp"),
        ("token_file", "\"secrets/token.json\"", "smtp"),
        ("client_id", "\"app\"", "smtp"),
        ("client_secret", "\"secret\"", "smtp"),
        ("tenant", "\"contoso.onmicrosoft.com\"", "smtp"),
        ("oauth_authorize_url", "\"https://id.example/auth\"", "smtp"),
        ("oauth_device_url", "\"https://id.example/device\"", "smtp"),
        ("oauth_token_url", "\"https://id.example/token\"", "smtp"),
        ("oauth_scopes", "[\"mail\"]", "smtp"),
        ("oauth_login", "\"device\"", "smtp"),
        ("command", "\"/usr/sbin/sendmail\"", "sendmail"),
        ("dir", "\"outbox\"", "file"),
    ];

    #[test]
    fn a_key_of_another_kind_is_refused_at_its_place_for_every_kind_and_key() {
        // (kind line, the kind in force): an smtp table names its host.
        let kinds: &[(&[&str], &str)] = &[
            (&["kind = \"smtp\"", "host = \"localhost\""], "smtp"),
            (&["kind = \"sendmail\""], "sendmail"),
            (&["kind = \"file\""], "file"),
            (&[], "file"),
        ];
        let mut refused = 0;
        for (kind_lines, kind) in kinds {
            for (key, value, belongs) in KIND_KEYS {
                let line = format!("{key} = {value}");
                let mut lines: Vec<&str> = kind_lines
                    .iter()
                    .copied()
                    .filter(|l| !l.starts_with(&format!("{key} =")))
                    .collect();
                lines.push(&line);
                let (text, parsed) = with_transport(&lines);
                let case = format!("{kind} + {line}");
                if key == &"provider" && kind_lines.is_empty() {
                    // A provider with no kind is an SMTP account, not a stray
                    // key: the only problem is its missing login.
                    let problems = parsed.err().unwrap_or_default();
                    assert!(
                        problems
                            .iter()
                            .all(|p| p.message.contains("signed-in account")),
                        "{case}: {problems:?}"
                    );
                    continue;
                }
                let foreign: Vec<Problem> = parsed
                    .err()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|p| p.message.contains("is for kind"))
                    .collect();
                if belongs == kind {
                    assert!(foreign.is_empty(), "{case}: {foreign:?}");
                    continue;
                }
                refused += 1;
                assert_eq!(foreign.len(), 1, "{case}: {foreign:?}");
                let p = &foreign[0];
                let (l, c) = value_at(&text, key);
                assert_eq!((p.line, p.column), (Some(l), Some(c)), "{case}: {p}");
                assert!(
                    p.to_string()
                        .starts_with(&format!("/srv/shop/greet.toml:{l}:{c}: ")),
                    "{case}: {p}"
                );
                assert!(
                    p.message
                        .starts_with(&format!("[transport] {key} is for kind = \"{belongs}\"")),
                    "{case}: {p}"
                );
                let hint = if kind_lines.is_empty() {
                    format!("add kind = \"{belongs}\" or remove {key}")
                } else {
                    format!("this transport is kind = \"{kind}\"; remove {key}")
                };
                assert!(p.message.ends_with(&hint), "{case}: {p}");
                assert_eq!(p.message, p.message.trim_end_matches('.'), "{case}");
            }
        }
        // 20 smtp keys refused by 3 tables (but a provider with no kind
        // makes the table smtp), command by 3, dir by 2.
        assert_eq!(refused, 20 * 3 - 1 + 3 + 2);
    }

    #[test]
    fn every_transport_key_is_either_common_or_of_one_kind_and_the_table_test_covers_it() {
        // serde lists the keys it knows when it meets one it does not.
        let err = toml::from_str::<RawTransport>("no_such_key = 1").unwrap_err();
        let message = err.message();
        let known: Vec<&str> = message
            .split_once("expected one of ")
            .unwrap_or_else(|| panic!("{message}"))
            .1
            .split(", ")
            .map(|k| k.trim().trim_matches('`'))
            .collect();
        assert!(known.len() > 10, "{known:?}");
        for key in known {
            let common = ["kind", "rate", "max_per_run", "daily_limit"].contains(&key);
            let of_kind = KindName::of_key(key);
            assert!(common != of_kind.is_some(), "{key}");
            if let Some(kind) = of_kind {
                assert!(
                    KIND_KEYS
                        .iter()
                        .any(|(k, _, belongs)| *k == key && *belongs == kind.as_str()),
                    "{key} is missing from KIND_KEYS"
                );
            }
        }
    }

    #[test]
    fn several_keys_of_another_kind_are_each_refused_in_file_order() {
        let (text, parsed) = with_transport(&[
            "kind = \"file\"",
            "timeout = 5",
            "host = \"mail.example.gr\"",
            "command = \"sendmail\"",
        ]);
        let lines: Vec<Option<u64>> = parsed.unwrap_err().iter().map(|p| p.line).collect();
        let expected: Vec<Option<u64>> = ["timeout", "host", "command"]
            .iter()
            .map(|k| Some(value_at(&text, k).0))
            .collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn every_default_is_resolved_at_load() {
        // No [transport] at all: the outbox beside the ledger.
        let c = Config::parse(MINIMAL, Path::new("/srv/shop/greet.toml")).unwrap();
        assert_eq!(
            c.transport.kind,
            TransportKind::File {
                dir: PathBuf::from("/srv/shop/outbox")
            }
        );
        assert_eq!(c.transport.rate, defaults::RATE);
        assert_eq!(c.transport.rate.to_string(), "30/minute");
        assert_eq!(c.transport.max_per_run, None);
        // The outbox follows a ledger kept elsewhere.
        let text = format!("ledger = \"data/greet.sqlite\"\n{MINIMAL}");
        let c = Config::parse(&text, Path::new("/srv/shop/greet.toml")).unwrap();
        assert_eq!(
            c.transport.kind,
            TransportKind::File {
                dir: PathBuf::from("/srv/shop/data/outbox")
            }
        );
        for lines in [&["kind = \"file\""][..], &[]] {
            assert_eq!(
                transport_of(lines).kind,
                TransportKind::File {
                    dir: PathBuf::from("/srv/shop/outbox")
                },
                "{lines:?}"
            );
        }
        assert_eq!(
            transport_of(&["kind = \"sendmail\""]).kind,
            TransportKind::Sendmail {
                command: PathBuf::from("/usr/sbin/sendmail")
            }
        );
        // SMTP: the port follows the security, 30 s, no login.
        for (security, port) in [
            (None, 587),
            (Some("starttls"), 587),
            (Some("tls"), 465),
            (Some("none"), 25),
        ] {
            let security_line = security.map(|s| format!("security = \"{s}\""));
            let mut lines = vec!["kind = \"smtp\"", "host = \" localhost \""];
            lines.extend(security_line.as_deref());
            let t = transport_of(&lines);
            let TransportKind::Smtp(s) = &t.kind else {
                panic!("{lines:?}: {t:?}")
            };
            assert_eq!(s.port, port, "{lines:?}");
            assert_eq!(s.security.name(), security.unwrap_or("starttls"));
            assert_eq!(s.host, "localhost");
            assert_eq!(s.timeout, Duration::from_secs(30));
            assert_eq!(s.password, PasswordSource::None);
            assert_eq!(s.username, None);
            assert_eq!(s.ca_file, None);
            assert!(!s.allow_unencrypted_remote);
            assert_eq!(t.rate, defaults::RATE);
            assert_eq!(t.max_per_run, None);
        }
    }

    #[test]
    fn explicit_keys_win_over_the_defaults() {
        for (security, port) in [("starttls", 2525), ("tls", 587), ("none", 465)] {
            let t = transport_of(&[
                "kind = \"smtp\"",
                "host = \"127.0.0.1\"",
                &format!("security = \"{security}\""),
                &format!("port = {port}"),
                "timeout = 7",
                "rate = \"500/hour\"",
                "max_per_run = 40",
            ]);
            let TransportKind::Smtp(s) = &t.kind else {
                panic!("{t:?}")
            };
            assert_eq!((s.port, s.security.name()), (port, security));
            assert_eq!(s.timeout, Duration::from_secs(7));
            assert_eq!(t.rate.to_string(), "500/hour");
            assert_eq!(t.max_per_run, Some(40));
        }
        let login = |source: &str| {
            let t = transport_of(&[
                "kind = \"smtp\"",
                "host = \"mail.example.gr\"",
                "username = \"shop\"",
                source,
                "ca_file = \"certs/ca.pem\"",
            ]);
            let TransportKind::Smtp(s) = t.kind else {
                panic!("{source}")
            };
            assert_eq!(s.username.as_deref(), Some("shop"));
            assert_eq!(s.ca_file, Some(PathBuf::from("/srv/shop/certs/ca.pem")));
            s.password
        };
        assert_eq!(
            login("password_env = \" GREET_PW \""),
            PasswordSource::Env("GREET_PW".into())
        );
        assert_eq!(
            login("password_file = \"secrets/pw\""),
            PasswordSource::File(PathBuf::from("/srv/shop/secrets/pw"))
        );
        assert_eq!(
            transport_of(&["kind = \"sendmail\"", "command = \"/opt/bin/sendmail\""]).kind,
            TransportKind::Sendmail {
                command: PathBuf::from("/opt/bin/sendmail")
            }
        );
        for (dir, resolved) in [("out", "/srv/shop/out"), ("/var/mail/out", "/var/mail/out")] {
            assert_eq!(
                transport_of(&[&format!("dir = \"{dir}\"")]).kind,
                TransportKind::File {
                    dir: PathBuf::from(resolved)
                }
            );
        }
    }

    #[test]
    fn a_rate_that_does_not_parse_is_a_located_error() {
        for bad in [
            "fast",
            "30",
            "0/minute",
            "-1/minute",
            "30/fortnight",
            "/minute",
            "30 per minute",
            "",
        ] {
            let line = format!("rate = \"{bad}\"");
            let (text, parsed) = with_transport(&["kind = \"file\"", &line]);
            let err = parsed.unwrap_err();
            assert_eq!(err.len(), 1, "{bad:?}: {err:?}");
            let (l, c) = value_at(&text, "rate");
            assert_eq!((err[0].line, err[0].column), (Some(l), Some(c)), "{bad:?}");
            assert!(
                err[0].message.contains("should look like \"30/minute\""),
                "{bad:?}: {}",
                err[0]
            );
        }
    }

    #[test]
    fn the_shown_settings_say_which_values_are_defaults_and_never_the_password() {
        let t = transport_of(&[
            "kind = \"smtp\"",
            "host = \"mail.example.gr\"",
            "security = \"tls\"",
            "username = \"shop\"",
            "password_env = \"GREET_PW\"",
            "max_per_run = 200",
        ]);
        let shown: BTreeMap<&str, String> = t.settings().into_iter().collect();
        assert_eq!(shown["kind"], "smtp");
        assert_eq!(shown["host"], "mail.example.gr");
        assert_eq!(shown["port"], "465 (default for tls)");
        assert_eq!(shown["security"], "tls");
        assert_eq!(shown["timeout"], "30s (default)");
        assert_eq!(shown["password"], "from the environment variable GREET_PW");
        assert_eq!(shown["rate"], "30/minute (default)");
        assert_eq!(shown["max_per_run"], "200");
        let shown: BTreeMap<&str, String> = transport_of(&[]).settings().into_iter().collect();
        assert_eq!(shown["kind"], "file (default)");
        assert_eq!(
            shown["dir"],
            "/srv/shop/outbox (default, beside the ledger)"
        );
        assert_eq!(shown["max_per_run"], "no cap (default)");
    }

    #[test]
    fn every_provider_fills_in_host_port_security_rate_and_daily_limit() {
        for provider in Provider::ALL {
            let line = format!("provider = \"{}\"", provider.name());
            let t = transport_of(&[
                &line,
                "username = \"shop@example.gr\"",
                "password_env = \"PW\"",
            ]);
            let p = provider.preset();
            let TransportKind::Smtp(s) = &t.kind else {
                panic!("{line}: {:?}", t.kind)
            };
            assert_eq!(
                (s.host.as_str(), s.port, s.security),
                (p.host, p.port, p.security),
                "{line}"
            );
            assert_eq!(
                (t.rate, t.daily_limit),
                (p.rate, Some(p.daily_limit)),
                "{line}"
            );
            assert_eq!(t.provider, Some(provider));
            let shown: BTreeMap<&str, String> = t.settings().into_iter().collect();
            let mark = format!(" (provider {})", provider.name());
            assert_eq!(shown["provider"], provider.name());
            assert_eq!(shown["host"], format!("{}{mark}", p.host));
            assert_eq!(shown["port"], format!("{}{mark}", p.port));
            assert_eq!(shown["security"], format!("starttls{mark}"));
            assert_eq!(shown["rate"], format!("{}{mark}", p.rate));
            assert_eq!(
                shown["daily_limit"],
                format!("{} in 24 hours{mark}", p.daily_limit)
            );
            assert_eq!(shown["timeout"], "30s (default)");
        }
    }

    #[test]
    fn keys_written_in_the_config_win_over_the_provider() {
        let t = transport_of(&[
            "provider = \"microsoft365\"",
            "username = \"shop@example.gr\"",
            "password_file = \"smtp-password\"",
            "host = \"smtp-relay.example.gr\"",
            "security = \"tls\"",
            "rate = \"10/minute\"",
            "daily_limit = 1500",
        ]);
        let TransportKind::Smtp(s) = &t.kind else {
            panic!("{:?}", t.kind)
        };
        // Implicit TLS: the port follows the security written, not the preset's 587.
        assert_eq!(
            (s.host.as_str(), s.port, s.security),
            ("smtp-relay.example.gr", 465, Security::Tls)
        );
        assert_eq!(t.rate.to_string(), "10/minute");
        assert_eq!(t.daily_limit, Some(1500));
        let shown: BTreeMap<&str, String> = t.settings().into_iter().collect();
        assert_eq!(shown["host"], "smtp-relay.example.gr");
        assert_eq!(shown["port"], "465 (default for tls)");
        assert_eq!(shown["daily_limit"], "1500 in 24 hours");
        // Without a provider there is no daily limit unless one is written.
        assert_eq!(transport_of(&[]).daily_limit, None);
        let t = transport_of(&["daily_limit = 40"]);
        assert_eq!((t.kind.name(), t.daily_limit), ("file", Some(40)));
    }

    #[test]
    fn an_unknown_provider_or_a_daily_limit_of_0_is_a_located_error() {
        let (text, parsed) = with_transport(&["provider = \"yahoo\""]);
        let err = parsed.unwrap_err();
        let (l, _) = value_at(&text, "provider");
        assert_eq!(err[0].line, Some(l), "{}", err[0]);
        for name in ["microsoft365", "outlook", "gmail", "google-workspace"] {
            assert!(err[0].message.contains(name), "{}", err[0]);
        }
        let (text, parsed) = with_transport(&[
            "provider = \"gmail\"",
            "username = \"shop@gmail.com\"",
            "password_env = \"PW\"",
            "daily_limit = 0",
        ]);
        let err = parsed.unwrap_err();
        let (l, c) = value_at(&text, "daily_limit");
        assert_eq!(
            (err[0].line, err[0].column),
            (Some(l), Some(c)),
            "{}",
            err[0]
        );
        assert!(
            err[0]
                .message
                .starts_with("[transport] daily_limit = 0 would never send")
        );
    }

    #[test]
    fn a_provider_without_a_login_is_refused_at_the_provider_line() {
        for provider in Provider::ALL {
            let line = format!("provider = \"{}\"", provider.name());
            let (text, parsed) = with_transport(&[&line]);
            let err = parsed.unwrap_err();
            let (l, c) = value_at(&text, "provider");
            assert_eq!(err.len(), 1, "{err:?}");
            assert_eq!(
                (err[0].line, err[0].column),
                (Some(l), Some(c)),
                "{}",
                err[0]
            );
            assert!(
                err[0].message.starts_with(&format!(
                    "[transport] {line} takes mail only from a signed-in account: add username"
                )),
                "{}",
                err[0]
            );
        }
    }

    /// `[dkim]` with these lines after the selector and key_file, from
    /// `email` (MINIMAL's sender otherwise).
    fn with_dkim(email: &str, lines: &[&str]) -> (String, Result<Config, Vec<Problem>>) {
        let text = format!(
            "{}\n[dkim]\nselector = \"greet\"\nkey_file = \"dkim/greet.key\"\n{}\n",
            MINIMAL.replace("hello@shop.gr", email),
            lines.join("\n")
        );
        let parsed = Config::parse(&text, Path::new("/srv/shop/greet.toml"));
        (text, parsed)
    }

    #[test]
    fn dkim_signs_as_the_from_domain_or_a_parent_of_it_and_nothing_else() {
        // (From, domain written, d= or the words of the refusal)
        let cases: &[(&str, Option<&str>, Result<&str, &str>)] = &[
            ("hello@shop.gr", None, Ok("shop.gr")),
            ("hello@Shop.GR", None, Ok("shop.gr")),
            ("hello@mail.shop.gr", None, Ok("mail.shop.gr")),
            ("hello@mail.shop.gr", Some("shop.gr"), Ok("shop.gr")),
            ("hello@mail.shop.gr", Some("SHOP.gr."), Ok("shop.gr")),
            ("hello@shop.gr", Some("shop.gr"), Ok("shop.gr")),
            ("hello@φούρνος.gr", None, Ok("IDN")),
            ("hello@φούρνος.gr", Some("φούρνος.gr"), Ok("IDN")),
            (
                "hello@shop.gr",
                Some("other.gr"),
                Err("neither the From domain (shop.gr) nor a parent"),
            ),
            (
                "hello@shop.gr",
                Some("mail.shop.gr"),
                Err("neither the From domain"),
            ),
            (
                "hello@shop.gr",
                Some("hop.gr"),
                Err("neither the From domain"),
            ),
            ("hello@shop.gr", Some("gr"), Err("is a top-level domain")),
            (
                "hello@shop.gr",
                Some("bad domain!.gr"),
                Err("is not a domain name"),
            ),
        ];
        for (from, domain, want) in cases {
            let line = domain.map(|d| format!("domain = \"{d}\""));
            let (text, parsed) =
                with_dkim(from, &line.iter().map(String::as_str).collect::<Vec<_>>());
            match (want, parsed) {
                (Ok(d), Ok(c)) => {
                    let d = match *d {
                        "IDN" => idna::domain_to_ascii("φούρνος.gr").unwrap(),
                        d => d.to_string(),
                    };
                    assert!(d.is_ascii());
                    assert_eq!(c.dkim.unwrap().domain, d, "{from} {domain:?}");
                }
                (Err(words), Err(p)) => {
                    assert_eq!(p.len(), 1, "{p:?}");
                    assert!(p[0].message.contains(words), "{from} {domain:?}: {}", p[0]);
                    let (l, c) = value_at(&text, "domain");
                    assert_eq!((p[0].line, p[0].column), (Some(l), Some(c)), "{}", p[0]);
                }
                (want, got) => panic!("{from} {domain:?}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn dkim_selectors_must_be_dns_names_and_the_ed25519_key_needs_its_own() {
        let (_, ok) = with_dkim("hello@shop.gr", &["ed25519_key_file = \"dkim/ed.key\""]);
        let d = ok.unwrap().dkim.unwrap();
        assert_eq!(d.selector, "greet");
        assert_eq!(d.key_file, Path::new("/srv/shop/dkim/greet.key"));
        assert_eq!(
            d.ed25519,
            Some((
                "greet-ed25519".into(),
                PathBuf::from("/srv/shop/dkim/ed.key")
            ))
        );
        let (_, ok) = with_dkim(
            "hello@shop.gr",
            &["ed25519_key_file = \"ed.key\"", "ed25519_selector = \"ed\""],
        );
        assert_eq!(ok.unwrap().dkim.unwrap().ed25519.unwrap().0, "ed");

        for (lines, key, words) in [
            (
                vec!["ed25519_selector = \"ed\""],
                "ed25519_selector",
                "is for ed25519_key_file, which is not set",
            ),
            (
                vec![
                    "ed25519_key_file = \"ed.key\"",
                    "ed25519_selector = \"greet\"",
                ],
                "ed25519_selector",
                "is the RSA key's selector",
            ),
            (
                vec![
                    "ed25519_key_file = \"ed.key\"",
                    "ed25519_selector = \"e d\"",
                ],
                "ed25519_selector",
                "is not a DNS name",
            ),
        ] {
            let (text, err) = with_dkim("hello@shop.gr", &lines);
            let err = err.unwrap_err();
            assert_eq!(err.len(), 1, "{err:?}");
            assert!(err[0].message.contains(words), "{}", err[0]);
            let (l, c) = value_at(&text, key);
            assert_eq!(
                (err[0].line, err[0].column),
                (Some(l), Some(c)),
                "{}",
                err[0]
            );
        }
        for bad in ["my key", "-x", "a..b", "greet_1", ""] {
            let text = format!("{MINIMAL}\n[dkim]\nselector = \"{bad}\"\nkey_file = \"k\"\n");
            let err = Config::parse(&text, Path::new("greet.toml")).unwrap_err();
            assert!(
                err[0].message.contains("is not a DNS name"),
                "{bad}: {}",
                err[0]
            );
            assert_eq!(err[0].line, Some(value_at(&text, "selector").0), "{bad}");
        }
        // Keys of their own only; and both selector and key_file are needed.
        for text in [
            format!("{MINIMAL}\n[dkim]\nselector = \"s\"\nkey_file = \"k\"\nkey = \"x\"\n"),
            format!("{MINIMAL}\n[dkim]\nselector = \"s\"\n"),
            format!("{MINIMAL}\n[dkim]\nkey_file = \"k\"\n"),
        ] {
            let err = Config::parse(&text, Path::new("greet.toml")).unwrap_err();
            assert!(err[0].line.is_some(), "{}", err[0]);
        }
        // No [dkim]: nothing is signed, nothing is asked of this machine.
        let c = Config::parse(MINIMAL, Path::new("greet.toml")).unwrap();
        assert!(c.dkim.is_none() && c.dkim_problems().is_empty());
    }
}
