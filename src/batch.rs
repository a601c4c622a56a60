//! A reviewed batch: the .eml files `preview --format eml --out DIR` wrote,
//! and `DIR/manifest.json` naming each greeting's key, file and SHA-256.
//!
//! The manifest is not a second source of truth. `send --batch DIR` sends
//! exactly the reviewed bytes, and what it sends and records is read from
//! those bytes and checked against what the manifest can prove:
//! - the manifest is sealed with an HMAC-SHA256 keyed by the shop's batch key
//!   (a 0600 file beside the ledger, never inside the batch), so an edited
//!   manifest — a changed `to` or `occurrence`, or a SHA-256 recomputed for
//!   an edited file — is refused;
//! - each file's SHA-256 must match, and its recipient, sender and
//!   Message-ID must agree with its manifest entry (the Message-ID is derived
//!   from the greeting's key, so the key is proven by the file too);
//! - a file that has extra recipients (Cc, Bcc, a second To) is refused;
//! - a file in the folder that the manifest does not name is refused.
//!
//! Any disagreement refuses the whole batch: nothing is sent.
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::message::{GreetingKey, ascii_address};

pub const MANIFEST: &str = "manifest.json";
pub const REVIEW: &str = "review.html";
/// The manifest format this greet writes and reads.
pub const VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The manifest format.
    pub version: u32,
    pub occasion: String,
    /// The day the greetings were rendered for.
    pub date: String,
    /// When they were rendered (RFC 3339, in the business's time zone).
    pub rendered_at: String,
    /// The sender address the files carry; `send --batch` checks it.
    pub from: String,
    pub greetings: Vec<Item>,
    /// HMAC-SHA256 (hex) of the manifest with `seal` empty, keyed by the
    /// shop's batch key: proves greet wrote this manifest as it is.
    #[serde(default)]
    pub seal: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub file: String,
    pub sha256: String,
    pub occasion: String,
    pub customer: String,
    pub occurrence: String,
    pub to: String,
    pub name: String,
    /// The gift code the file carries (compact), if its occasion gives one:
    /// recorded in the ledger as reviewed when the greeting is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_code: Option<String>,
    /// The gift's last day, as the file says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_valid_until: Option<String>,
}

impl Item {
    pub fn key(&self) -> GreetingKey {
        GreetingKey {
            occasion: self.occasion.clone(),
            customer: self.customer.clone(),
            occurrence: self.occurrence.clone(),
        }
    }
}

/// One greeting of a verified batch: what is sent and recorded, read from
/// the file's own bytes.
#[derive(Debug, Clone)]
pub struct Verified {
    pub key: GreetingKey,
    /// The recipient, as the file's To header has it.
    pub to: String,
    pub name: String,
    pub file: String,
    /// Where the file is and what it hashed to when it was proven: the
    /// bytes are read again when the greeting goes out ([`Verified::bytes`]),
    /// so a batch of any size is sent in flat memory.
    pub path: std::path::PathBuf,
    pub sha256: String,
    /// The gift the file carries, as the manifest records it.
    pub gift: Option<crate::ledger::GiftRecord>,
}

impl Verified {
    /// The proven bytes, read again now; refused if the file changed since.
    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        let shown = self.path.display();
        let bytes = std::fs::read(&self.path).map_err(|e| format!("{shown}: {e}"))?;
        if sha256_hex(&bytes) != self.sha256 {
            return Err(format!(
                "{shown}: changed while the batch was being sent (SHA-256 differs from the manifest)"
            ));
        }
        Ok(bytes)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The shop's batch key: 32 random bytes in a 0600 file beside the ledger.
/// Created on first use; a key readable by others is refused.
pub struct Key(ring::hmac::Key);

impl Key {
    /// Where the key of the shop whose ledger is `ledger` lives.
    pub fn path(ledger: &Path) -> PathBuf {
        ledger.with_file_name("greet-batch.key")
    }

    /// Read the key, or create it (atomically, mode 0600) when `create`.
    pub fn load(ledger: &Path, create: bool) -> anyhow::Result<Key> {
        let path = Key::path(ledger);
        match std::fs::read(&path) {
            Ok(bytes) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(&path)?.permissions().mode();
                    if mode & 0o077 != 0 {
                        anyhow::bail!(
                            "{} can be read by other users; run `chmod 600 {}`",
                            path.display(),
                            path.display()
                        );
                    }
                }
                if bytes.len() != 32 {
                    anyhow::bail!(
                        "{}: not a greet batch key (32 bytes); remove it and preview the batch again",
                        path.display()
                    );
                }
                Ok(Key(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &bytes)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let mut secret = [0u8; 32];
                ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
                    .map_err(|_| anyhow::anyhow!("no randomness for the batch key"))?;
                let tmp = path.with_file_name(format!(".greet-batch.key.{}", std::process::id()));
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let written = (|| -> std::io::Result<()> {
                    let mut f = options.open(&tmp)?;
                    f.write_all(&secret)?;
                    f.sync_all()?;
                    // Never replace a key another run made meanwhile.
                    std::fs::hard_link(&tmp, &path).or_else(|e| {
                        if e.kind() == std::io::ErrorKind::AlreadyExists {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    })
                })();
                let _ = std::fs::remove_file(&tmp);
                written.with_context(|| format!("cannot create {}", path.display()))?;
                Key::load(ledger, false)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
                "{} is missing, so no batch can be proven to be the one reviewed; preview the batch again",
                path.display()
            ),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    fn sign(&self, manifest: &Manifest) -> String {
        hex(ring::hmac::sign(&self.0, &unsealed(manifest)).as_ref())
    }

    fn verify(&self, manifest: &Manifest) -> bool {
        let bytes = unsealed(manifest);
        let Some(tag) = unhex(&manifest.seal) else {
            return false;
        };
        ring::hmac::verify(&self.0, &bytes, &tag).is_ok()
    }
}

/// What the seal covers: the manifest as JSON with `seal` empty.
fn unsealed(manifest: &Manifest) -> Vec<u8> {
    let unsealed = Manifest {
        seal: String::new(),
        ..manifest.clone()
    };
    serde_json::to_vec(&unsealed).unwrap_or_default()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The headers of a message that say who it is from, to whom, and which
/// greeting it is.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Head {
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub message_id: Vec<String>,
    /// Headers that would add recipients or resend: Cc, Bcc, Resent-*.
    pub extra_recipients: Vec<String>,
}

/// Read the header block of a message (up to the first empty line), unfolded.
pub fn head(bytes: &[u8]) -> Head {
    let text = String::from_utf8_lossy(bytes);
    let block = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .split("\n\n")
        .next()
        .unwrap_or("");
    let mut fields: Vec<String> = Vec::new();
    for line in block.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        } else {
            fields.push(line.to_string());
        }
    }
    let mut head = Head::default();
    for field in fields {
        let Some((name, value)) = field.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        match name.trim().to_ascii_lowercase().as_str() {
            "from" => head.from.push(value),
            "to" => head.to.push(value),
            "message-id" => head.message_id.push(value),
            "cc" | "bcc" => head.extra_recipients.push(name.to_string()),
            n if n.starts_with("resent-") => head.extra_recipients.push(name.to_string()),
            _ => {}
        }
    }
    head
}

/// The one address of a From or To value (`=?utf-8?…?= <a@b.gr>` or
/// `a@b.gr`), or `None` when it has none or more than one.
pub fn mailbox_address(value: &str) -> Option<String> {
    let value = value.trim();
    let addr = match value.rfind('<') {
        Some(open) => {
            let rest = &value[open + 1..];
            let close = rest.find('>')?;
            if !rest[close + 1..].trim().is_empty() {
                return None;
            }
            // The display name before it: one encoded-word run or a quoted string,
            // never a second address.
            let name = &value[..open];
            if name.contains('@') && !name.trim_start().starts_with('"') {
                return None;
            }
            &rest[..close]
        }
        None => value,
    };
    if addr.is_empty() || addr.contains([',', ' ', '<', '>']) || addr.matches('@').count() != 1 {
        return None;
    }
    Some(addr.to_string())
}

impl Manifest {
    /// Seal the manifest with the shop's key and write it into `dir`.
    pub fn write(&mut self, dir: &Path, key: &Key) -> anyhow::Result<()> {
        self.seal = key.sign(self);
        let path = dir.join(MANIFEST);
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Read a batch and prove every greeting from its file: the manifest's
    /// seal, each file's SHA-256, and each file's own From, To and
    /// Message-ID against its entry. `sender` is the configured From address.
    /// Returns the manifest and the greetings, or every discrepancy found.
    pub fn load_verified(
        dir: &Path,
        key: &Key,
        sender: &str,
    ) -> Result<(Manifest, Vec<Verified>), Vec<String>> {
        let path = dir.join(MANIFEST);
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| vec![format!("{shown}: cannot read the batch manifest: {e}")])?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            vec![format!(
                "{shown}:{}:{}: not a greet batch manifest: {e}",
                e.line(),
                e.column()
            )]
        })?;
        if manifest.version != VERSION {
            return Err(vec![format!(
                "{shown}: batch format {} is not the one this greet writes ({VERSION}); preview the batch again",
                manifest.version
            )]);
        }
        if !key.verify(&manifest) {
            return Err(vec![format!(
                "{shown}: the manifest was changed after greet wrote it (its seal does not match)"
            )]);
        }
        let mut problems = Vec::new();
        let mut greetings = Vec::with_capacity(manifest.greetings.len());
        let sender_ascii = ascii_address(sender);
        let domain = sender.rsplit_once('@').map_or("localhost", |(_, d)| d);
        for g in &manifest.greetings {
            let file = dir.join(&g.file);
            let shown_file = file.display().to_string();
            let mut wrong = |what: String| problems.push(format!("{shown_file}: {what}"));
            if g.file.contains(['/', '\\']) || g.file.starts_with('.') {
                wrong("is not a file of this batch".into());
                continue;
            }
            let bytes = match std::fs::read(&file) {
                Ok(b) => b,
                Err(e) => {
                    wrong(e.to_string());
                    continue;
                }
            };
            if sha256_hex(&bytes) != g.sha256 {
                wrong("changed since it was reviewed (SHA-256 differs from the manifest)".into());
                continue;
            }
            let head = head(&bytes);
            if !head.extra_recipients.is_empty() {
                wrong(format!(
                    "has headers greet never writes ({}); it would reach other people",
                    head.extra_recipients.join(", ")
                ));
            }
            let to = match head.to.as_slice() {
                [one] => mailbox_address(one),
                _ => None,
            };
            let Some(to) = to else {
                wrong("does not have exactly one To address".into());
                continue;
            };
            if ascii_address(&to) != ascii_address(&g.to) {
                wrong(format!("is addressed to {to}, the manifest says {}", g.to));
            }
            let from = match head.from.as_slice() {
                [one] => mailbox_address(one),
                _ => None,
            };
            if from.as_deref().map(ascii_address) != Some(sender_ascii.clone()) {
                wrong(format!(
                    "is from {}, the config sends as {sender}",
                    from.as_deref().unwrap_or("(no single From address)")
                ));
            }
            if g.occasion != manifest.occasion {
                wrong(format!(
                    "is for occasion {}, the batch is {}",
                    g.occasion, manifest.occasion
                ));
            }
            let year = manifest.date.get(..4).unwrap_or("");
            if g.occurrence != manifest.date && g.occurrence != year {
                wrong(format!(
                    "is for {}, the batch is for {}",
                    g.occurrence, manifest.date
                ));
            }
            let expected_id = g.key().message_id(&crate::message::ascii_domain(domain));
            if head.message_id.as_slice() != [expected_id.clone()] {
                wrong(format!(
                    "its Message-ID is not the one of greeting ({}, {}, {})",
                    g.occasion, g.customer, g.occurrence
                ));
            }
            let gift = match (&g.gift_code, &g.gift_valid_until) {
                (None, None) => None,
                (Some(code), Some(until))
                    if crate::gift::Code::parse(code).is_ok_and(|c| c.compact() == code)
                        && chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d").is_ok() =>
                {
                    Some(crate::ledger::GiftRecord {
                        code: code.clone(),
                        valid_until: until.clone(),
                    })
                }
                _ => {
                    wrong("has a gift the manifest does not describe whole (a code with its check character and a YYYY-MM-DD last day)".into());
                    None
                }
            };
            greetings.push(Verified {
                key: g.key(),
                to,
                name: g.name.clone(),
                file: g.file.clone(),
                path: file.clone(),
                sha256: g.sha256.clone(),
                gift,
            });
        }
        // A message added to the folder after the review is not sent either.
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if name.ends_with(".eml") && !manifest.greetings.iter().any(|g| g.file == name) {
                    problems.push(format!(
                        "{}: not in the manifest (added after the review?)",
                        entry.path().display()
                    ));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for g in &manifest.greetings {
            if !seen.insert((&g.occasion, &g.customer, &g.occurrence)) {
                problems.push(format!(
                    "{shown}: greeting ({}, {}, {}) is listed twice",
                    g.occasion, g.customer, g.occurrence
                ));
            }
        }
        if problems.is_empty() {
            Ok((manifest, greetings))
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_lower_case_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn headers_are_read_unfolded_and_extra_recipients_noticed() {
        let msg = b"From: Shop <s@shop.gr>\r\nTo: =?utf-8?b?zpzOsc+Bzq/OsQ==?=\r\n <maria@example.gr>\r\nMessage-ID: <x@shop.gr>\r\nBcc: e@evil.example\r\n\r\nTo: body@x.gr\r\n";
        let h = head(msg);
        assert_eq!(
            h.to,
            vec!["=?utf-8?b?zpzOsc+Bzq/OsQ==?= <maria@example.gr>"]
        );
        assert_eq!(
            mailbox_address(&h.to[0]).as_deref(),
            Some("maria@example.gr")
        );
        assert_eq!(h.extra_recipients, vec!["Bcc"]);
        assert_eq!(h.message_id, vec!["<x@shop.gr>"]);
    }

    #[test]
    fn a_to_value_with_two_addresses_has_no_single_mailbox() {
        for v in [
            "a@b.gr, c@d.gr",
            "a@b.gr <c@d.gr>",
            "<a@b.gr> <c@d.gr>",
            "<a@b.gr> x",
            "",
            "<>",
        ] {
            assert_eq!(mailbox_address(v), None, "{v}");
        }
        assert_eq!(
            mailbox_address("\"Smith, a@b\" <c@d.gr>").as_deref(),
            Some("c@d.gr")
        );
    }

    #[test]
    fn a_seal_proves_the_manifest_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("greet-ledger.sqlite");
        let key = Key::load(&ledger, true).unwrap();
        let mut m = Manifest {
            version: VERSION,
            occasion: "birthday".into(),
            date: "2026-03-14".into(),
            rendered_at: "2026-03-14T09:00:00+02:00".into(),
            from: "s@shop.gr".into(),
            greetings: vec![Item {
                file: "0001.eml".into(),
                sha256: sha256_hex(b"x"),
                occasion: "birthday".into(),
                customer: "C1".into(),
                occurrence: "2026-03-14".into(),
                to: "maria@example.gr".into(),
                name: "Μαρία".into(),
                gift_code: None,
                gift_valid_until: None,
            }],
            seal: String::new(),
        };
        m.seal = key.sign(&m);
        assert!(key.verify(&m));
        // Every field is covered.
        type Edit = Box<dyn Fn(&mut Manifest)>;
        let edits: Vec<Edit> = vec![
            Box::new(|m| m.greetings[0].to = "evil@example.com".into()),
            Box::new(|m| m.greetings[0].occurrence = "2027-03-14".into()),
            Box::new(|m| m.greetings[0].sha256 = sha256_hex(b"y")),
            Box::new(|m| m.greetings[0].customer = "C2".into()),
            Box::new(|m| m.greetings[0].file = "0002.eml".into()),
            Box::new(|m| m.greetings[0].name = "X".into()),
            Box::new(|m| m.greetings[0].occasion = "nameday".into()),
            Box::new(|m| m.date = "2027-03-14".into()),
            Box::new(|m| m.from = "x@shop.gr".into()),
            Box::new(|m| m.occasion = "x".into()),
            Box::new(|m| m.rendered_at = "x".into()),
            Box::new(|m| m.greetings.push(m.greetings[0].clone())),
            Box::new(|m| m.greetings.clear()),
            Box::new(|m| m.seal = "00".repeat(32)),
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut changed = m.clone();
            edit(&mut changed);
            assert!(!key.verify(&changed), "edit {i} went unnoticed");
        }
        // Another shop's key does not verify it.
        let other = tempfile::tempdir().unwrap();
        let other_key = Key::load(&other.path().join("l.sqlite"), true).unwrap();
        assert!(!other_key.verify(&m));
        // The key file is the owner's only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(Key::path(&ledger))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
