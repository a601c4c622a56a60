//! `greet dkim keygen`: a new RSA-2048 signing key, written owner-only and
//! atomically (never over an existing key, whose public half may already
//! be published), and what to do with it: the DNS TXT record to publish
//! and the `[dkim]` lines for greet.toml.
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::load_config;
use crate::cli::{Cli, DkimCommand, KeygenArgs};
use crate::exit::{Exit, Halt};

pub fn run(cli: &Cli, command: &DkimCommand) -> anyhow::Result<Exit> {
    match command {
        DkimCommand::Keygen(args) => keygen(cli, args),
    }
}

/// The size of the keys keygen makes: what Gmail, Yahoo and Outlook ask
/// for, verified everywhere, and a record that fits DNS in two strings.
const BITS: usize = 2048;

fn keygen(cli: &Cli, args: &KeygenArgs) -> anyhow::Result<Exit> {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::pkcs8::EncodePublicKey as _;

    let config = load_config(&cli.config)?;
    let selector = args.selector.trim().to_ascii_lowercase();
    if !crate::dkim::is_selector(&selector) {
        return Err(Halt::invalid(format!(
            "--selector \"{}\" is not a DNS name: letters, digits and - (not at either end), parts separated by dots, e.g. \"greet\" or \"2026\"",
            args.selector
        )));
    }
    let domain = match &config.dkim {
        Some(d) => d.domain.clone(),
        None => crate::message::ascii_domain(config.sender.domain()).to_ascii_lowercase(),
    };
    let base = config.path.parent().unwrap_or(Path::new(""));
    let path = match &args.out {
        Some(p) => p.clone(),
        None => base.join("dkim").join(format!("{selector}.key")),
    };
    if path.symlink_metadata().is_ok() {
        return Err(already_there(&path));
    }
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, BITS)?;
    let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)?;
    let public = key.to_public_key().to_public_key_der()?;
    write_new(&path, pem.as_bytes())?;

    let shown_key = path
        .strip_prefix(base)
        .map(Path::to_path_buf)
        .or_else(|_| std::path::absolute(&path))
        .unwrap_or_else(|_| path.clone());
    let record = crate::dkim::txt_record(public.as_bytes())
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "wrote the private key to {} (chmod 600: keep it secret, and keep a backup)\n",
        path.display()
    )?;
    writeln!(out, "1. publish this DNS TXT record for {domain}:")?;
    writeln!(out, "   name:  {selector}._domainkey.{domain}")?;
    writeln!(out, "   type:  TXT")?;
    writeln!(out, "   value: {record}\n")?;
    writeln!(
        out,
        "2. once it is published, add to {} (every message is then signed):",
        config.path.display()
    )?;
    if config.dkim.is_none() {
        writeln!(out, "[dkim]")?;
    }
    writeln!(out, "selector = \"{selector}\"")?;
    writeln!(
        out,
        "key_file = \"{}\"",
        shown_key.display().to_string().replace('\\', "\\\\")
    )?;
    Ok(Exit::Ok)
}

fn already_there(path: &Path) -> anyhow::Error {
    Halt::invalid(format!(
        "{}: a key is already there, and keygen never replaces one (its public half may be published): choose another --selector, or move the file away",
        path.display()
    ))
}

/// Write `bytes` to a new file at `path`, readable by its owner only: into
/// a temporary sibling first, flushed, then linked into place — a link
/// never replaces an existing file, so a key that appeared meanwhile is
/// kept — and the folder flushed. A failed run leaves nothing behind.
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| Halt::invalid(format!("{}: cannot create the folder: {e}", dir.display())))?;
    let name = path
        .file_name()
        .ok_or_else(|| Halt::invalid(format!("{}: not a file name", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            std::fs::File::open(&dir)?.sync_all()?;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(already_there(path)),
        Err(e) => Err(Halt::with(
            Exit::Failure,
            format!("{}: cannot write the key: {e}", path.display()),
        )),
    }
}
