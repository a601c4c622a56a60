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
    #[serde(default)]
    transport: Transport,
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

/// How messages leave: `[transport]` in greet.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transport {
    #[serde(default)]
    pub kind: TransportKind,
    /// smtp: the relay's host name.
    #[serde(default)]
    pub host: String,
    /// smtp: default 587 (starttls), 465 (tls), 25 (none).
    pub port: Option<u16>,
    #[serde(default)]
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
    #[serde(default = "default_rate")]
    pub rate: String,
    /// At most this many messages per run.
    pub max_per_run: Option<usize>,
    /// Seconds to wait for the server (default 30).
    pub timeout: Option<u64>,
    /// A PEM file of certificate authorities to trust besides the system's
    /// (a company relay with its own CA). Verification stays on.
    pub ca_file: Option<PathBuf>,
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
        }
    }
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
        let email = raw.sender.email.get_ref().trim().to_string();
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
        if raw.transport.kind == TransportKind::Smtp && raw.transport.host.trim().is_empty() {
            problems.push(Problem::error(
                &shown,
                "[transport] kind = \"smtp\" needs host = \"…\"",
            ));
        }
        if crate::rate::Rate::parse(&raw.transport.rate).is_none() {
            problems.push(Problem::error(
                &shown,
                format!(
                    "[transport] rate = \"{}\" should look like \"30/minute\" or \"500/hour\"",
                    raw.transport.rate
                ),
            ));
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
            transport: Transport {
                dir: raw.transport.dir.map(|d| base.join(d)),
                password_file: raw.transport.password_file.map(|d| base.join(d)),
                ca_file: raw.transport.ca_file.map(|d| base.join(d)),
                ..raw.transport
            },
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
