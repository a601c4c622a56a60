//! Embed the default templates, so `greet init` works from an installed
//! binary with no repository beside it; and find out which of the tools
//! some tests need this machine lacks, so those tests show as ignored with
//! the reason (outside CI) instead of passing without checking anything.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    probe_test_tools(Path::new(&root));
    println!("cargo::rerun-if-changed=templates");
    let mut files: Vec<String> = std::fs::read_dir(Path::new(&root).join("templates"))
        .expect("templates/ is part of the repository")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| format!("templates/{}", e.file_name().to_string_lossy()))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// (path written by `greet init`, contents)\npub const TEMPLATES: &[(&str, &[u8])] = &[\n",
    );
    for f in &files {
        writeln!(
            out,
            "    ({f:?}, include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{f}\"))),"
        )
        .expect("writing to a String cannot fail");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("assets.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}

/// `cargo::rustc-cfg=greet_no_<tool>` for each tool some tests need that is
/// missing here; those tests are `#[cfg_attr(greet_no_<tool>, ignore = …)]`.
/// Under CI (the variable `CI` set) nothing is declared missing: CI installs
/// every tool, so there a missing one fails its tests. Looks at files only,
/// plus one question to the interop python; no dependencies.
fn probe_test_tools(root: &Path) {
    println!(
        "cargo::rustc-check-cfg=cfg(greet_no_chromium, greet_no_faketime, greet_no_strace, greet_no_systemd, greet_no_interop, greet_no_oauth, greet_no_dkim, greet_no_dnsmasq, greet_no_dovecot)"
    );
    for var in ["CI", "PATH", "GREET_INTEROP_PYTHON"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = |name: &str| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    };
    let ci = std::env::var_os("CI").is_some();
    // A found tool is watched itself. A missing one is looked for again when
    // a package is installed (dpkg's status file changes) or when one of
    // `installs_into` changes. Only existing paths are watched: a missing
    // one would rerun this script, and rebuild greet, on every build; and
    // only small folders, as cargo walks a watched folder whole.
    let dpkg = Path::new("/var/lib/dpkg/status");
    let tool = |cfg: &str, found: Option<PathBuf>, installs_into: &[PathBuf]| match found {
        Some(p) => println!("cargo::rerun-if-changed={}", p.display()),
        None => {
            for p in installs_into.iter().map(PathBuf::as_path).chain([dpkg]) {
                if p.exists() {
                    println!("cargo::rerun-if-changed={}", p.display());
                }
            }
            if !ci {
                println!("cargo::rustc-cfg={cfg}");
            }
        }
    };

    let chromium = Path::new("/usr/bin/chromium");
    let found = chromium.is_file().then(|| chromium.to_path_buf());
    tool("greet_no_chromium", found, &[]);
    tool("greet_no_faketime", on_path("faketime"), &[]);
    tool("greet_no_strace", on_path("strace"), &[]);
    // greet doctor's and the DKIM suite's DNS server: Debian's dnsmasq, in
    // /usr/sbin (not on every PATH).
    let dnsmasq = on_path("dnsmasq").or_else(|| {
        let sbin = Path::new("/usr/sbin/dnsmasq");
        sbin.is_file().then(|| sbin.to_path_buf())
    });
    tool("greet_no_dnsmasq", dnsmasq.clone(), &[]);
    // The inbox suite: Dovecot (dovecot-imapd: the server in /usr/sbin,
    // doveadm) and openssl for its test CA.
    let dovecot = Path::new("/usr/sbin/dovecot");
    let found = (dovecot.is_file() && on_path("openssl").is_some())
        .then(|| on_path("doveadm"))
        .flatten()
        .map(|_| dovecot.to_path_buf());
    tool("greet_no_dovecot", found, &[]);
    // systemd-analyze, and the manager (`systemd --test`).
    let manager = ["/usr/lib/systemd/systemd", "/lib/systemd/systemd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    tool(
        "greet_no_systemd",
        on_path("systemd-analyze").and(manager),
        &[],
    );
    // The interop suite: openssl (its test CA) and a python with aiosmtpd,
    // GREET_INTEROP_PYTHON or the venv `.ci/run` makes in .ci (watched while
    // it has none; pip installs aiosmtpd into the venv's lib).
    let python = match std::env::var_os("GREET_INTEROP_PYTHON") {
        Some(p) if Path::new(&p).components().count() == 1 => on_path(&p.to_string_lossy()),
        Some(p) => Some(PathBuf::from(p)),
        None => Some(root.join(".ci/venv/bin/python")),
    };
    let with_aiosmtpd = python.clone().filter(|p| {
        p.is_file()
            && std::process::Command::new(p)
                .args(["-c", "import aiosmtpd"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    });
    let installs_into = match python {
        // A venv: pip installs into its lib (a python elsewhere may be /usr/bin's).
        Some(ref p) if p.is_file() => p
            .ancestors()
            .nth(2)
            .filter(|venv| venv.join("pyvenv.cfg").is_file())
            .map(|venv| venv.join("lib"))
            .into_iter()
            .collect(),
        _ => vec![root.join(".ci")],
    };
    // The DKIM suite: dnsmasq (Debian; serves the public keys on
    // 127.0.0.1), openssl (test keys) and dkimpy with dnspython and PyNaCl
    // (Ed25519) in the interop python.
    let with_dkimpy = python.clone().filter(|p| {
        p.is_file()
            && std::process::Command::new(p)
                .args(["-c", "import dkim, dns.resolver, nacl.signing"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    });
    tool(
        "greet_no_dkim",
        dnsmasq.and(on_path("openssl")).and(with_dkimpy),
        &installs_into,
    );
    let interop = on_path("openssl").and(with_aiosmtpd);
    tool("greet_no_interop", interop.clone(), &installs_into);
    // The OAuth suite: the interop tools, and the test authorization server's
    // node_modules (oidc-provider, and Node 22 from the npm registry), which
    // `.ci/run` installs with `npm ci` in tests/oauth. npm writes
    // node_modules/.package-lock.json last; tests/oauth is watched only
    // while it has no node_modules (small then).
    let oauth = root.join("tests/oauth");
    let modules = oauth.join("node_modules");
    let node = modules.join(".bin/node");
    let oauth_found = interop
        .filter(|_| node.is_file() && modules.join("oidc-provider/package.json").is_file())
        .map(|_| modules.join(".package-lock.json"))
        .filter(|p| p.is_file());
    let oauth_installs = if modules.join(".package-lock.json").is_file() {
        vec![modules.join(".package-lock.json")]
    } else if modules.is_dir() {
        vec![modules.join(".bin")]
    } else {
        vec![oauth]
    };
    let oauth_installs: Vec<PathBuf> = oauth_installs.into_iter().chain(installs_into).collect();
    tool("greet_no_oauth", oauth_found, &oauth_installs);
}
