//! A reviewed batch: the .eml files `preview --format eml --out DIR` wrote,
//! and `DIR/manifest.json` naming each greeting's key, file and SHA-256.
//! `send --batch DIR` sends exactly those bytes, and refuses the whole batch
//! if any file was changed, removed or added since.
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::message::GreetingKey;

pub const MANIFEST: &str = "manifest.json";
pub const REVIEW: &str = "review.html";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The manifest format; a later greet reads older ones.
    pub version: u32,
    pub occasion: String,
    /// The day the greetings were rendered for.
    pub date: String,
    /// When they were rendered (RFC 3339, in the business's time zone).
    pub rendered_at: String,
    /// The sender address the files carry; `send --batch` checks it.
    pub from: String,
    pub greetings: Vec<Item>,
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

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl Manifest {
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(MANIFEST);
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Read a batch and check every file against the manifest. Returns the
    /// manifest and each greeting's bytes, or every discrepancy found.
    pub fn load_verified(dir: &Path) -> Result<(Manifest, Vec<Vec<u8>>), Vec<String>> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            vec![format!(
                "{}: cannot read the batch manifest: {e}",
                path.display()
            )]
        })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            vec![format!(
                "{}:{}:{}: not a greet batch manifest: {e}",
                path.display(),
                e.line(),
                e.column()
            )]
        })?;
        if manifest.version != 1 {
            return Err(vec![format!(
                "{}: batch format {} is newer than this greet understands (1)",
                path.display(),
                manifest.version
            )]);
        }
        let mut problems = Vec::new();
        let mut bytes = Vec::with_capacity(manifest.greetings.len());
        for g in &manifest.greetings {
            let file = dir.join(&g.file);
            if g.file.contains(['/', '\\']) || g.file.starts_with('.') {
                problems.push(format!(
                    "{}: {} is not a file of this batch",
                    path.display(),
                    g.file
                ));
                bytes.push(Vec::new());
                continue;
            }
            match std::fs::read(&file) {
                Ok(b) => {
                    if sha256_hex(&b) != g.sha256 {
                        problems.push(format!(
                            "{}: changed since it was reviewed (SHA-256 differs from the manifest)",
                            file.display()
                        ));
                    }
                    bytes.push(b);
                }
                Err(e) => {
                    problems.push(format!("{}: {e}", file.display()));
                    bytes.push(Vec::new());
                }
            }
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
        if problems.is_empty() {
            Ok((manifest, bytes))
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
}
