//! DKIM: every message greet hands to a transport (SMTP, sendmail, the
//! outbox; a reviewed batch too) is signed over the bytes that leave, and
//! an independent verifier — Python's dkimpy — checks each signature with
//! the public key served by a real DNS server (dnsmasq) on 127.0.0.1.
//! Where the build found no dnsmasq, openssl or dkimpy these tests are
//! ignored with that reason (build.rs); under CI they run, and a missing
//! tool fails them here.
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::send::shop_for;
use crate::smtp_server::SmtpServer;
use crate::support::{REPO, Shop, chmod, on_path, openssl, python};

const DOMAIN: &str = "fournos-marinas.example.gr";
const SIGNED: &[&str] = &[
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "list-unsubscribe",
    "list-unsubscribe-post",
];

/// One customer per language, each with a birthday (text + HTML) and a
/// customer anniversary (text only) on 14 March.
const FOUR: &str = "id,email,first_name,last_name,gender,language,birthday,customer_since
C1,stamatis@example.gr,Σταμάτης,Παπαδόπουλος,m,el,1979-03-14,2008-03-14
C2,narek@example.am,Նարեկ,Սարգսյան,m,hy,2001-03-14,2020-03-14
C3,sarah.cohen@example.co.il,שרה,כהן,f,he,1986-03-14,2017-03-14
C4,emma.obrien@example.com,Emma,O'Brien,f,en,1987-03-14,2013-03-14
";

/// A TXT record's value as DNS strings of at most 255 bytes.
fn strings(value: &str) -> Vec<String> {
    value
        .as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect()
}

/// A new RSA key in PKCS#8 PEM (as `openssl genpkey` writes it) at `rel`
/// in the shop, chmod 600; returns its DNS record's strings.
fn rsa_key(shop: &Shop, rel: &str, bits: u32) -> Vec<String> {
    let path = shop.path(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let p = path.to_str().unwrap();
    let bits = format!("rsa_keygen_bits:{bits}");
    openssl(
        shop.dir.path(),
        &["genpkey", "-algorithm", "RSA", "-pkeyopt", &bits, "-out", p],
    );
    chmod(&path, 0o600);
    let der = openssl(
        shop.dir.path(),
        &["pkey", "-in", p, "-pubout", "-outform", "DER"],
    );
    strings(&format!("v=DKIM1; k=rsa; p={}", B64.encode(der)))
}

/// A new Ed25519 key (PKCS#8 PEM) at `rel`, chmod 600; its record's strings
/// (RFC 8463: `p=` is the raw 32-byte public key).
fn ed25519_key(shop: &Shop, rel: &str) -> Vec<String> {
    let path = shop.path(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let p = path.to_str().unwrap();
    openssl(
        shop.dir.path(),
        &["genpkey", "-algorithm", "ed25519", "-out", p],
    );
    chmod(&path, 0o600);
    let der = openssl(
        shop.dir.path(),
        &["pkey", "-in", p, "-pubout", "-outform", "DER"],
    );
    strings(&format!(
        "v=DKIM1; k=ed25519; p={}",
        B64.encode(&der[der.len() - 32..])
    ))
}

/// A DNS server (dnsmasq) on 127.0.0.1 serving TXT records; stopped on drop.
struct Dns {
    child: Child,
    port: u16,
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dnsmasq() -> PathBuf {
    on_path("dnsmasq")
        .or_else(|| {
            let sbin = PathBuf::from("/usr/sbin/dnsmasq");
            sbin.is_file().then_some(sbin)
        })
        .expect("no dnsmasq: .ci/run installs it (apt install dnsmasq-base)")
}

/// A DNS query for `name`'s TXT record.
fn query(name: &str) -> Vec<u8> {
    let mut q = vec![0x47, 0x72, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 16, 0, 1]);
    q
}

impl Dns {
    /// Serve `records` (name, strings) from a new dnsmasq on a free port,
    /// once it answers.
    fn serve(dir: &Path, records: &[(String, Vec<String>)]) -> Dns {
        let conf = dir.join("dnsmasq-test.conf");
        let mut text = String::new();
        for (name, strings) in records {
            let quoted: Vec<String> = strings.iter().map(|s| format!("\"{s}\"")).collect();
            text.push_str(&format!("txt-record={name},{}\n", quoted.join(",")));
        }
        std::fs::write(&conf, text).unwrap();
        for _ in 0..5 {
            let port = UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(dnsmasq())
                .args([
                    "--keep-in-foreground",
                    "--no-resolv",
                    "--no-hosts",
                    "--bind-interfaces",
                    "--listen-address=127.0.0.1",
                    "--pid-file=",
                    "--user=root",
                    "--log-facility=/dev/null",
                ])
                .arg(format!("--port={port}"))
                .arg(format!("--conf-file={}", conf.display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            if Dns::answers(port, &records[0].0, &mut child) {
                return Dns { child, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("dnsmasq did not start on 127.0.0.1");
    }

    fn answers(port: u16, name: &str, child: &mut Child) -> bool {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let q = query(name);
        let mut buf = [0u8; 1500];
        for _ in 0..50 {
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            let _ = sock.send_to(&q, ("127.0.0.1", port));
            if let Ok((n, _)) = sock.recv_from(&mut buf)
                && n >= 12
                && buf[..2] == q[..2]
            {
                return true;
            }
        }
        false
    }
}

/// What dkimpy said of one signature.
#[derive(Debug, Clone)]
struct Sig {
    a: String,
    d: String,
    s: String,
    t: u64,
    h: Vec<String>,
    ok: bool,
    why: String,
}

/// Verify every signature of each file with dkimpy through `dns`.
fn verify(dns: &Dns, files: &[PathBuf]) -> Vec<Vec<Sig>> {
    assert!(!files.is_empty(), "no message to verify");
    let out = Command::new(python())
        .arg(Path::new(REPO).join("tests/interop/dkim_verify.py"))
        .arg(dns.port.to_string())
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dkim_verify.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let verdicts: Vec<Vec<Sig>> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["signatures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let text = |k: &str| s[k].as_str().unwrap_or_default().to_string();
                    Sig {
                        a: text("a"),
                        d: text("d"),
                        s: text("s"),
                        t: text("t").parse().unwrap_or(0),
                        h: text("h").split(':').map(str::to_string).collect(),
                        ok: s["ok"].as_bool().unwrap(),
                        why: text("why"),
                    }
                })
                .collect()
        })
        .collect();
    assert_eq!(verdicts.len(), files.len());
    verdicts
}

/// The header field names of a message, lower-cased.
fn header_names(message: &[u8]) -> Vec<String> {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(message.len());
    String::from_utf8_lossy(&message[..end])
        .split("\r\n")
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, _)| n.trim().to_ascii_lowercase())
        })
        .collect()
}

/// Each message verified, by an RSA signature of `selector` and, with
/// `ed25519`, an Ed25519 one of `selector-ed25519`; every header field of
/// [`SIGNED`] the message has is signed, and From once more.
fn assert_verified(files: &[PathBuf], verdicts: &[Vec<Sig>], selector: &str, ed25519: bool) {
    for (file, sigs) in files.iter().zip(verdicts) {
        let message = std::fs::read(file).unwrap();
        let want: Vec<(&str, String)> = std::iter::once(("rsa-sha256", selector.to_string()))
            .chain(ed25519.then(|| ("ed25519-sha256", format!("{selector}-ed25519"))))
            .collect();
        let got: Vec<(&str, String)> = sigs.iter().map(|s| (s.a.as_str(), s.s.clone())).collect();
        assert_eq!(got, want, "{}", file.display());
        let names = header_names(&message);
        for sig in sigs {
            assert!(
                sig.ok,
                "{}: {} did not verify: {}",
                file.display(),
                sig.a,
                sig.why
            );
            assert_eq!(sig.d, DOMAIN);
            for name in SIGNED {
                let present = names.iter().filter(|n| n == name).count();
                let signed = sig.h.iter().filter(|n| n == name).count();
                let want = present + usize::from(*name == "from");
                assert_eq!(signed, want, "{}: h= {:?}, {name}", file.display(), sig.h);
            }
        }
    }
}

/// `[dkim]` with an RSA key (PKCS#8) and, with `ed25519`, an Ed25519 key,
/// and a DNS server with their records.
fn sign_with(shop: &Shop, ed25519: bool) -> Dns {
    let mut records = vec![(
        format!("greet._domainkey.{DOMAIN}"),
        rsa_key(shop, "dkim/greet.key", 2048),
    )];
    let mut section =
        String::from("\n[dkim]\nselector = \"greet\"\nkey_file = \"dkim/greet.key\"\n");
    if ed25519 {
        records.push((
            format!("greet-ed25519._domainkey.{DOMAIN}"),
            ed25519_key(shop, "dkim/greet-ed25519.key"),
        ));
        section.push_str("ed25519_key_file = \"dkim/greet-ed25519.key\"\n");
    }
    // Birthdays and anniversaries of one day are both signed and checked
    // here: spacing, which would leave the anniversaries out, is off.
    section.push_str("\n[spacing]\nmin_days_between = 0\n");
    let config = shop.read("greet.toml");
    shop.write("greet.toml", &format!("{config}{section}"));
    Dns::serve(shop.dir.path(), &records)
}

fn send(shop: &Shop, occasion: &str) -> crate::support::Run {
    shop.run(&["send", occasion, "--date", "2026-03-14", "--yes"])
}

/// What the SMTP server received, each message written to a file.
fn received_files(shop: &Shop, server: &SmtpServer) -> Vec<PathBuf> {
    let dir = shop.path("received");
    std::fs::create_dir_all(&dir).unwrap();
    server
        .received()
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let p = dir.join(format!("{i:02}.eml"));
            std::fs::write(&p, &m.raw).unwrap();
            p
        })
        .collect()
}

#[test]
#[cfg_attr(
    greet_no_dkim,
    ignore = "needs dnsmasq, openssl, and dkimpy + dnspython + pynacl in the interop python (run .ci/run once, or set GREET_INTEROP_PYTHON)"
)]
fn every_greeting_sent_over_smtp_verifies_in_each_language_text_only_and_with_html() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    shop.write("customers.csv", FOUR);
    let dns = sign_with(&shop, true);
    let checked = shop.run(&["check", "--date", "2026-03-14"]).expect(0);
    assert!(
        checked.stdout().contains(&format!(
            "dkim: every message signed for {DOMAIN}; keys published at greet._domainkey.{DOMAIN} (rsa-sha256) and greet-ed25519._domainkey.{DOMAIN} (ed25519-sha256)"
        )),
        "{}",
        checked.stdout()
    );
    assert_eq!(send(&shop, "birthday").expect(0).sent(), 4);
    assert_eq!(send(&shop, "anniversary").expect(0).sent(), 4);
    let files = received_files(&shop, &server);
    assert_eq!(files.len(), 8);
    let verdicts = verify(&dns, &files);
    assert_verified(&files, &verdicts, "greet", true);
    // Both shapes were covered, in every language.
    let shapes: Vec<(String, bool)> = server
        .received()
        .iter()
        .map(|m| {
            (
                m.rcpt[0].clone(),
                m.data.contains("Content-Type: multipart/alternative"),
            )
        })
        .collect();
    for to in [
        "stamatis@example.gr",
        "narek@example.am",
        "sarah.cohen@example.co.il",
        "emma.obrien@example.com",
    ] {
        for multipart in [true, false] {
            assert!(
                shapes
                    .iter()
                    .any(|(r, m)| r.contains(to) && *m == multipart),
                "{to} multipart={multipart}: {shapes:?}"
            );
        }
    }
}

#[test]
#[cfg_attr(
    greet_no_dkim,
    ignore = "needs dnsmasq, openssl, and dkimpy + dnspython + pynacl in the interop python (run .ci/run once, or set GREET_INTEROP_PYTHON)"
)]
fn a_greeting_changed_after_signing_fails_the_independent_verifier() {
    let server = SmtpServer::start();
    let shop = shop_for(&server);
    shop.write("customers.csv", FOUR);
    let dns = sign_with(&shop, false);
    send(&shop, "anniversary").expect(0);
    let files = received_files(&shop, &server);
    let original = std::fs::read(&files[0]).unwrap();
    let body_at = original.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    type Change = Box<dyn Fn(&[u8]) -> Vec<u8>>;
    let replace = |from: &'static str, to: &'static str| -> Change {
        Box::new(move |m: &[u8]| {
            let text = String::from_utf8(m.to_vec()).unwrap();
            assert!(text.contains(from), "{from:?}");
            text.replacen(from, to, 1).into_bytes()
        })
    };
    let changes: Vec<(&str, Change)> = vec![
        (
            "one byte of the body",
            Box::new(move |m: &[u8]| {
                let mut m = m.to_vec();
                m[body_at] = if m[body_at] == b'A' { b'B' } else { b'A' };
                m
            }),
        ),
        (
            "a line added to the body",
            Box::new(|m: &[u8]| [m, b"P.S. click here\r\n"].concat()),
        ),
        ("the subject", replace("Subject: ", "Subject: Re: ")),
        (
            "the recipients",
            replace("To: ", "To: someone@example.gr, "),
        ),
        (
            "a second From on top",
            Box::new(|m: &[u8]| [b"From: boss@example.gr\r\n", m].concat()),
        ),
        (
            "the date",
            replace(
                "Date: ",
                "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\nX-Old-Date: ",
            ),
        ),
    ];
    let mut paths = vec![files[0].clone()];
    for (i, (_, change)) in changes.iter().enumerate() {
        let p = shop.path(&format!("received/changed-{i}.eml"));
        std::fs::write(&p, change(&original)).unwrap();
        paths.push(p);
    }
    let verdicts = verify(&dns, &paths);
    assert!(
        verdicts[0][0].ok,
        "the original verifies: {}",
        verdicts[0][0].why
    );
    for ((what, _), sigs) in changes.iter().zip(&verdicts[1..]) {
        assert_eq!(sigs.len(), 1, "{what}");
        assert!(!sigs[0].ok, "changed {what}, and it still verified");
    }
}

#[test]
#[cfg_attr(
    greet_no_dkim,
    ignore = "needs dnsmasq, openssl, and dkimpy + dnspython + pynacl in the interop python (run .ci/run once, or set GREET_INTEROP_PYTHON)"
)]
fn the_outbox_files_and_what_sendmail_is_handed_are_signed_and_verify() {
    // The outbox (the samples' transport).
    let shop = Shop::with_customers(FOUR);
    let dns = sign_with(&shop, true);
    assert_eq!(send(&shop, "birthday").expect(0).sent(), 4);
    let files = shop.eml_files("outbox");
    assert_eq!(files.len(), 4);
    assert_verified(&files, &verify(&dns, &files), "greet", true);
    // Test greetings to the owner are signed too, after they are marked.
    shop.run(&[
        "send",
        "birthday",
        "--date",
        "2026-03-14",
        "--test-to",
        "owner@fournos-marinas.example.gr",
        "--limit",
        "2",
    ])
    .expect(0);
    let tests: Vec<PathBuf> = shop
        .eml_files("outbox")
        .into_iter()
        .filter(|f| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("test-")
        })
        .collect();
    assert_eq!(tests.len(), 2);
    for f in &tests {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(text.contains("Subject: [TEST] "), "{text}");
    }
    assert_verified(&tests, &verify(&dns, &tests), "greet", true);

    // The local mail system: a sendmail that keeps what it is handed.
    shop.write(
        "sendmail",
        "#!/bin/sh\nmkdir -p \"$(dirname \"$0\")/queue\"\ncat > \"$(dirname \"$0\")/queue/$$.eml\"\n",
    );
    chmod(&shop.path("sendmail"), 0o755);
    let config = shop.read("greet.toml").replace(
        "kind = \"file\"\ndir = \"outbox\"",
        &format!(
            "kind = \"sendmail\"\ncommand = \"{}\"",
            shop.path("sendmail").display()
        ),
    );
    shop.write("greet.toml", &config);
    assert_eq!(send(&shop, "anniversary").expect(0).sent(), 4);
    let queued = shop.eml_files("queue");
    assert_eq!(queued.len(), 4);
    assert_verified(&queued, &verify(&dns, &queued), "greet", true);
}

#[test]
#[cfg_attr(
    greet_no_dkim,
    ignore = "needs dnsmasq, openssl, and dkimpy + dnspython + pynacl in the interop python (run .ci/run once, or set GREET_INTEROP_PYTHON)"
)]
fn a_reviewed_batch_is_signed_when_it_is_sent_so_the_reviewer_needs_no_key() {
    let server = SmtpServer::start();
    let mut shop = shop_for(&server);
    shop.now = "2026-03-14T09:00:00+02:00".into();
    shop.write("customers.csv", FOUR);
    let dns = sign_with(&shop, false);
    // The reviewing machine has no key: the batch is made all the same, unsigned.
    std::fs::rename(shop.path("dkim/greet.key"), shop.path("greet.key.away")).unwrap();
    shop.preview_batch("birthday", "2026-03-14", "batch")
        .expect(0);
    let reviewed = shop.eml_files("batch");
    assert_eq!(reviewed.len(), 4);
    for f in &reviewed {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains("DKIM-Signature"), "{}", f.display());
    }
    // Without the key, send refuses before touching anything.
    let out = shop.run(&["send", "--batch", "batch", "--yes"]).expect(2);
    assert!(out.stderr().contains("[dkim] key_file"), "{}", out.stderr());
    assert!(server.received().is_empty());
    // With it, the batch goes out signed at send time, as sent.
    std::fs::rename(shop.path("greet.key.away"), shop.path("dkim/greet.key")).unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(
        shop.run(&["send", "--batch", "batch", "--yes"])
            .expect(0)
            .sent(),
        4
    );
    let files = received_files(&shop, &server);
    let verdicts = verify(&dns, &files);
    assert_verified(&files, &verdicts, "greet", false);
    for sigs in &verdicts {
        assert!(sigs[0].t >= before, "signed at send time: t={}", sigs[0].t);
    }
    // What was sent is the reviewed file under its signature.
    for m in server.received() {
        let reviewed = reviewed
            .iter()
            .map(|f| std::fs::read(f).unwrap())
            .find(|r| m.raw.ends_with(r))
            .is_some();
        assert!(reviewed, "a sent message is not a reviewed file");
    }
}

/// The line of `key = ` in the text (1-based), and the column of its value.
fn at(text: &str, key: &str) -> (usize, usize) {
    let (i, line) = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with(&format!("{key} =")))
        .last()
        .unwrap_or_else(|| panic!("no {key}"));
    (i + 1, line.find('"').unwrap() + 1)
}

#[test]
#[cfg_attr(
    greet_no_dkim,
    ignore = "needs dnsmasq, openssl, and dkimpy + dnspython + pynacl in the interop python (run .ci/run once, or set GREET_INTEROP_PYTHON)"
)]
fn a_key_others_can_read_or_that_is_no_usable_key_is_refused_at_its_line_and_nothing_is_sent() {
    type Spoil = fn(&Shop);
    let cases: Vec<(&str, &str, Spoil)> = vec![
        (
            "key_file",
            "can be read by other users; run `chmod 600",
            |s| chmod(&s.path("dkim/greet.key"), 0o644),
        ),
        ("key_file", "is not an RSA private key in PEM", |s| {
            s.write("dkim/greet.key", "hello\n");
            chmod(&s.path("dkim/greet.key"), 0o600);
        }),
        ("key_file", "is a 1024-bit RSA key: too weak", |s| {
            std::fs::remove_file(s.path("dkim/greet.key")).unwrap();
            rsa_key(s, "dkim/greet.key", 1024);
        }),
        ("key_file", "cannot read", |s| {
            std::fs::remove_file(s.path("dkim/greet.key")).unwrap()
        }),
        ("key_file", "is not an RSA private key in PEM", |s| {
            std::fs::remove_file(s.path("dkim/greet.key")).unwrap();
            ed25519_key(s, "dkim/greet.key");
        }),
        ("key_file", "encrypted with a passphrase", |s| {
            let p = s.path("dkim/greet.key");
            let plain = s.path("plain.key");
            std::fs::rename(&p, &plain).unwrap();
            openssl(
                s.dir.path(),
                &[
                    "pkey",
                    "-in",
                    plain.to_str().unwrap(),
                    "-aes256",
                    "-passout",
                    "pass:x",
                    "-out",
                    p.to_str().unwrap(),
                ],
            );
            chmod(&p, 0o600);
        }),
        ("ed25519_key_file", "is not an Ed25519 private key", |s| {
            std::fs::copy(s.path("dkim/greet.key"), s.path("dkim/greet-ed25519.key")).unwrap();
        }),
        ("ed25519_key_file", "can be read by other users", |s| {
            chmod(&s.path("dkim/greet-ed25519.key"), 0o640)
        }),
    ];
    for (key, words, spoil) in cases {
        let server = SmtpServer::start();
        let shop = shop_for(&server);
        shop.write("customers.csv", FOUR);
        drop(sign_with(&shop, true));
        spoil(&shop);
        let text = shop.read("greet.toml");
        let (line, col) = at(&text, key);
        let want = format!("greet.toml:{line}:{col}: [dkim] {key}: ");
        let check = shop.run(&["check", "--date", "2026-03-14"]).expect(2);
        let said = check.stdout();
        let found = said
            .lines()
            .find(|l| l.contains(&want))
            .unwrap_or_else(|| panic!("{words}: check does not say {want:?}:\n{said}"));
        assert!(found.contains(words), "{words}: {found}");
        assert!(!said.contains("dkim: every message signed"), "{said}");
        let out = send(&shop, "birthday").expect(2);
        assert!(
            out.stderr().contains(&want) && out.stderr().contains(words),
            "{words}: {}",
            out.stderr()
        );
        assert!(server.received().is_empty(), "{words}: something was sent");
        assert!(
            !shop.path("greet-ledger.sqlite").exists(),
            "{words}: the ledger was made"
        );
    }
}

#[test]
#[cfg_attr(
    greet_no_dkim,
    ignore = "needs dnsmasq, openssl, and dkimpy + dnspython + pynacl in the interop python (run .ci/run once, or set GREET_INTEROP_PYTHON)"
)]
fn keygen_keeps_the_key_to_its_owner_never_replaces_it_and_prints_a_record_that_verifies() {
    use std::os::unix::fs::PermissionsExt;
    let shop = Shop::with_customers(FOUR);
    let out = shop.run(&["dkim", "keygen"]).expect(0).stdout();
    let key = shop.path("dkim/greet.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"), "{pem}");
    let left: Vec<_> = std::fs::read_dir(shop.path("dkim")).unwrap().collect();
    assert_eq!(left.len(), 1, "only the key is left: {left:?}");

    // The record and the config lines, as printed.
    let field = |label: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in\n{out}"))
            .trim()
            .to_string()
    };
    let name = field("name:");
    assert_eq!(name, format!("greet._domainkey.{DOMAIN}"));
    assert_eq!(field("type:"), "TXT");
    let value = field("value:");
    let parts: Vec<String> = value
        .split("\" \"")
        .map(|s| s.trim_matches('"').to_string())
        .collect();
    assert!(
        parts.len() >= 2 && parts.iter().all(|p| p.len() <= 255),
        "{parts:?}"
    );
    assert!(parts[0].starts_with("v=DKIM1; k=rsa; p="), "{value}");
    let lines: Vec<&str> = out.lines().skip_while(|l| *l != "[dkim]").collect();
    assert_eq!(
        lines,
        [
            "[dkim]",
            "selector = \"greet\"",
            "key_file = \"dkim/greet.key\""
        ],
        "{out}"
    );

    // A second keygen keeps the key.
    let again = shop.run(&["dkim", "keygen"]).expect(2);
    assert!(
        again
            .stderr()
            .contains("dkim/greet.key: a key is already there"),
        "{}",
        again.stderr()
    );
    assert_eq!(std::fs::read_to_string(&key).unwrap(), pem);
    // A selector DNS cannot hold is refused.
    let bad = shop
        .run(&["dkim", "keygen", "--selector", "my key"])
        .expect(2);
    assert!(
        bad.stderr()
            .contains("--selector \"my key\" is not a DNS name"),
        "{}",
        bad.stderr()
    );

    // Published and configured as printed, it signs what is sent.
    let config = shop.read("greet.toml");
    shop.write("greet.toml", &format!("{config}\n{}\n", lines.join("\n")));
    let dns = Dns::serve(shop.dir.path(), &[(name, parts)]);
    assert_eq!(send(&shop, "birthday").expect(0).sent(), 4);
    let files = shop.eml_files("outbox");
    assert_verified(&files, &verify(&dns, &files), "greet", false);
}
