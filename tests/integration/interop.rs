//! Interop with an independent SMTP implementation: Python's aiosmtpd (from
//! PyPI, in the venv `.ci/run` creates), with STARTTLS required, AUTH, a
//! certificate from a test CA made here, and scripted refusals.
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::{REPO, Run, Shop, openssl, python};

/// A test CA and a server certificate for 127.0.0.1 (CA:FALSE, with a SAN, as rustls requires).
pub(crate) fn make_certs(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=greet test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

struct Aiosmtpd {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Aiosmtpd {
    fn start(python: &Path, dir: &Path) -> Aiosmtpd {
        // aiosmtpd needs a concrete port: take a free one from the OS.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = dir.join("received.jsonl");
        let mut child = Command::new(python)
            .arg(Path::new(REPO).join("tests/interop/aiosmtpd_server.py"))
            .arg(port.to_string())
            .arg(dir.join("server.pem"))
            .arg(dir.join("server.key"))
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        Aiosmtpd { child, port, out }
    }

    fn received(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The sample shop, sending over STARTTLS with AUTH to a fresh aiosmtpd;
/// `trust_ca` adds the test CA to the trusted roots.
fn shop_and_server(python: &Path, trust_ca: bool) -> (Shop, Aiosmtpd) {
    let shop = Shop::samples();
    make_certs(shop.dir.path());
    let server = Aiosmtpd::start(python, shop.dir.path());
    let ca = if trust_ca {
        "\nca_file = \"ca.pem\""
    } else {
        ""
    };
    shop.edit(
        "greet.toml",
        "kind = \"file\"\ndir = \"outbox\"",
        &format!(
            "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"starttls\"\nusername = \"greet\"\npassword_env = \"GREET_TEST_SMTP_PASSWORD\"{ca}\ntimeout = 10",
            server.port
        ),
    );
    (shop, server)
}

/// The shop and a fresh aiosmtpd.
fn interop(trust_ca: bool) -> (Shop, Aiosmtpd) {
    shop_and_server(&python(), trust_ca)
}

/// `greet send birthday` for 14 March with this SMTP password (from the environment).
fn send_with_password(shop: &Shop, password: &str, extra: &[&str]) -> Run {
    let mut args = vec!["send", "birthday", "--date", "2026-03-14", "--yes"];
    args.extend_from_slice(extra);
    Run(shop
        .command(&args)
        .env("GREET_TEST_SMTP_PASSWORD", password)
        .env("GREET_RETRY_DELAY_MS", "10")
        .output()
        .unwrap())
}

#[test]
#[cfg_attr(
    greet_no_interop,
    ignore = "needs aiosmtpd (run .ci/run once, or set GREET_INTEROP_PYTHON) and openssl"
)]
#[cfg_attr(
    all(not(greet_no_interop), not(feature = "test-hooks")),
    ignore = "needs --features test-hooks (the README's test command)"
)]
fn greet_sends_to_aiosmtpd_over_starttls_with_auth_and_handles_its_refusals() {
    let (shop, server) = interop(true);
    shop.edit(
        "greet.toml",
        "rate = \"30/minute\"",
        "rate = \"1000/second\"",
    );
    let csv = shop.read("customers.csv");
    shop.write(
        "customers.csv",
        &format!("{csv}C090,refuse@example.gr,Άρης,Ρ,m,el,1980-03-14,2015-01-01,,\nC091,later@example.gr,Λένα,Λ,f,el,1981-03-14,2015-01-01,,\n"),
    );
    let send = |extra: &[&str]| send_with_password(&shop, "s3cret", extra);
    let out = send(&[]).expect(3);
    let err = out.stderr();
    assert!(
        err.contains("failed: Άρης Ρ <refuse@example.gr>: 550 5.1.1 no such user here"),
        "{err}"
    );
    assert!(
        !err.contains("s3cret"),
        "the password never reaches the output"
    );
    let got = server.received();
    let to = |addr: &str| got.iter().filter(|m| m["rcpt"][0] == addr).count();
    assert_eq!(to("stamatis@example.gr"), 1);
    assert_eq!(to("narek@example.am"), 1);
    assert_eq!(to("sarah.cohen@example.co.il"), 1);
    assert_eq!(
        to("later@example.gr"),
        1,
        "451 then accepted: exactly one copy"
    );
    assert_eq!(to("refuse@example.gr"), 0);
    assert!(
        got.iter().all(|m| m["auth"] == true),
        "every message went over an authenticated session"
    );
    let greek = got
        .iter()
        .find(|m| m["rcpt"][0] == "stamatis@example.gr")
        .unwrap();
    assert!(
        greek["data"]
            .as_str()
            .unwrap()
            .contains("Content-Type: multipart/alternative")
    );
    // A rerun sends nothing more.
    let again = send(&[]).expect(0);
    // The four accepted are greeted; the refused one failed for good.
    assert_eq!(
        again.summary(),
        "sent 0 · already greeted 4 · failed before, not retried 1"
    );
    assert_eq!(server.received().len(), 4);

    // A wrong password stops the run at once and marks nobody failed.
    let csv = shop.read("customers.csv");
    shop.write(
        "customers.csv",
        &format!("{csv}C092,new@example.gr,Νίκη,Ν,f,el,1990-03-14,2015-01-01,,\n"),
    );
    let denied = send_with_password(&shop, "wrong", &[]);
    let denied = denied.expect(4);
    assert!(
        denied.stderr().contains("refuses this account: 535"),
        "{}",
        denied.stderr()
    );
    assert!(!denied.stderr().contains("wrong"), "{}", denied.stderr());
    assert_eq!(server.received().len(), 4);
}

#[test]
#[cfg_attr(
    greet_no_interop,
    ignore = "needs aiosmtpd (run .ci/run once, or set GREET_INTEROP_PYTHON) and openssl"
)]
fn a_certificate_from_an_untrusted_ca_stops_before_anything_is_sent() {
    let (shop, server) = interop(false);
    let out = send_with_password(&shop, "s3cret", &[]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr().to_lowercase().contains("certificate"),
        "{}",
        out.stderr()
    );
    assert_eq!(server.received().len(), 0);
}

#[test]
#[cfg_attr(
    greet_no_interop,
    ignore = "needs aiosmtpd (run .ci/run once, or set GREET_INTEROP_PYTHON) and openssl"
)]
fn a_certificate_for_another_host_stops_before_auth_and_names_the_check() {
    // The CA is trusted, but the certificate is for 127.0.0.1 and greet was
    // told to reach "localhost".
    let (shop, server) = interop(true);
    shop.edit("greet.toml", "host = \"127.0.0.1\"", "host = \"localhost\"");
    let out = send_with_password(&shop, "s3cret", &[]);
    let err = out.stderr();
    assert_eq!(out.code(), 1, "{err}");
    assert!(
        err.contains("TLS could not be set up with localhost"),
        "{err}"
    );
    assert!(err.contains("not valid for name \"localhost\""), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    assert_eq!(server.received().len(), 0);
    let h = shop.run(&["history"]).expect(0).stdout();
    assert!(!h.contains("sending") && !h.contains("failed"), "{h}");
}
