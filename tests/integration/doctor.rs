//! `greet doctor` against a real DNS server on 127.0.0.1: Debian's dnsmasq,
//! started by the tests with the zones each test needs (good, missing and
//! broken SPF, DKIM and DMARC records; SMTP hosts inside and outside SPF),
//! and stopped when the test ends. And a resolver that does not answer, or
//! answers SERVFAIL: exit 4, quickly.
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::support::{REPO, Run, Shop};

/// dnsmasq, wherever Debian puts it (/usr/sbin is not on every PATH).
fn dnsmasq_program() -> PathBuf {
    crate::support::on_path("dnsmasq")
        .or_else(|| Some(PathBuf::from("/usr/sbin/dnsmasq")).filter(|p| p.is_file()))
        .expect("no dnsmasq: .ci/run installs it (apt install dnsmasq-base)")
}

/// A record dnsmasq serves.
#[derive(Clone)]
enum Rr {
    Txt(String, String),
    Mx(String, String, u16),
    Host(String, String),
}

fn txt(name: &str, value: &str) -> Rr {
    Rr::Txt(name.into(), value.into())
}
fn mx(name: &str, host: &str) -> Rr {
    Rr::Mx(name.into(), host.into(), 10)
}
fn host(name: &str, addrs: &str) -> Rr {
    Rr::Host(name.into(), addrs.into())
}

/// A dnsmasq answering for `*.test` from the given records only (no
/// upstream, no /etc/hosts): names it does not know under .test are
/// NXDOMAIN, names elsewhere are REFUSED. Killed and reaped on drop.
struct Dnsmasq {
    child: Child,
    port: u16,
}

impl Dnsmasq {
    fn start(records: &[Rr]) -> Dnsmasq {
        let program = dnsmasq_program();
        for _attempt in 0..5 {
            let port = free_port();
            let mut cmd = Command::new(&program);
            cmd.args([
                "--no-daemon",
                "--keep-in-foreground",
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                "--local=/test/",
                "--log-facility=-",
            ])
            .arg(format!("--port={port}"));
            if is_root() {
                cmd.arg("--user=root");
            }
            for r in records {
                cmd.arg(match r {
                    // dnsmasq splits strings longer than 255 bytes itself.
                    Rr::Txt(name, value) => format!("--txt-record={name},{value}"),
                    Rr::Mx(name, host, pref) => format!("--mx-host={name},{host},{pref}"),
                    Rr::Host(name, addrs) => format!("--host-record={name},{addrs}"),
                });
            }
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("dnsmasq starts");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken after all: another one
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Dnsmasq { child, port };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("dnsmasq did not start on 127.0.0.1");
    }

    fn resolver(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    // Free for both: UDP taken here, TCP checked.
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The body of a PEM public key (SubjectPublicKeyInfo), as DKIM's p= wants it.
fn pem_body(file: &str) -> String {
    let pem =
        std::fs::read_to_string(Path::new(REPO).join("tests/fixtures/dkim").join(file)).unwrap();
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

/// An Ed25519 key's p= (RFC 8463): the raw 32 bytes, not the SPKI.
fn ed25519_p() -> String {
    let der = base64::engine::general_purpose::STANDARD
        .decode(pem_body("ed25519.pub"))
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(&der[der.len() - 32..])
}

/// The sample shop sending as info@DOMAIN through smtp.DOMAIN (or `sending`).
fn shop_at(domain: &str, transport: &str) -> Shop {
    let shop = Shop::samples();
    shop.edit(
        "greet.toml",
        "email = \"hello@fournos-marinas.example.gr\"",
        &format!("email = \"info@{domain}\""),
    );
    shop.edit("greet.toml", "kind = \"file\"\ndir = \"outbox\"", transport);
    shop
}

fn smtp_host(host: &str) -> String {
    format!("kind = \"smtp\"\nhost = \"{host}\"\nport = 587\nsecurity = \"starttls\"")
}

fn doctor(shop: &Shop, dns: &Dnsmasq, extra: &[&str]) -> Run {
    let resolver = dns.resolver();
    let mut args = vec!["doctor", "--resolver", resolver.as_str()];
    args.extend_from_slice(extra);
    shop.run(&args)
}

/// Everything a domain needs, at DOMAIN, sending from 192.0.2.25.
fn good_zone(domain: &str) -> Vec<Rr> {
    vec![
        mx(domain, &format!("mx.{domain}")),
        host(&format!("mx.{domain}"), "192.0.2.5"),
        host(&format!("smtp.{domain}"), "192.0.2.25"),
        txt(domain, "v=spf1 ip4:192.0.2.25 -all"),
        txt(
            &format!("greet._domainkey.{domain}"),
            &format!("v=DKIM1; k=rsa; p={}", pem_body("rsa2048.pub")),
        ),
        txt(
            &format!("_dmarc.{domain}"),
            &format!("v=DMARC1; p=none; rua=mailto:dmarc@{domain}"),
        ),
    ]
}

/// The good zone with the records named by `drop` (a name and the start of
/// its value) replaced by `add`.
fn zone_with(domain: &str, drop: &[(&str, &str)], add: Vec<Rr>) -> Vec<Rr> {
    let mut zone: Vec<Rr> = good_zone(domain)
        .into_iter()
        .filter(|r| match r {
            Rr::Txt(n, v) => !drop
                .iter()
                .any(|(dn, dv)| n == &dn.replace("DOMAIN", domain) && v.starts_with(dv)),
            Rr::Mx(n, ..) => !drop
                .iter()
                .any(|(dn, dv)| dv.is_empty() && *dn == "MX" && n == domain),
            Rr::Host(..) => true,
        })
        .collect();
    zone.extend(add);
    zone
}

struct Case {
    domain: &'static str,
    zone: Vec<Rr>,
    /// The SMTP host greet.toml names (smtp.DOMAIN unless set).
    smtp: Option<&'static str>,
    exit: i32,
    /// What the report must say (each).
    says: Vec<String>,
}

fn case(domain: &'static str, zone: Vec<Rr>, exit: i32, says: &[&str]) -> Case {
    Case {
        domain,
        zone,
        smtp: None,
        exit,
        says: says.iter().map(|s| s.replace("DOMAIN", domain)).collect(),
    }
}

/// Every case: the good domain, and each record missing or broken in each
/// way, with the exact finding doctor must report and its exit code.
fn cases() -> Vec<Case> {
    let mut cases = vec![
        case(
            "good.test",
            good_zone("good.test"),
            0,
            &[
                "ok       MX      DOMAIN takes mail at mx.DOMAIN",
                "ok       SPF     \"v=spf1 ip4:192.0.2.25 -all\" (0 of 10 DNS lookups)",
                "ok       server  SPF allows the SMTP server smtp.DOMAIN (192.0.2.25)",
                "ok       DKIM    key at greet._domainkey.DOMAIN: RSA 2048 bits",
                "ok       DMARC   p=none; SPF and DKIM align with DOMAIN",
                "Every sender (Gmail, Yahoo since February 2024): SPF or DKIM — met.",
                "SPF, DKIM and DMARC, aligned — met.",
            ],
        ),
        case(
            "nomx.test",
            zone_with("nomx.test", &[("MX", "")], vec![]),
            2,
            &["problem  MX      DOMAIN has no MX record"],
        ),
        case(
            "nospf.test",
            zone_with("nospf.test", &[("DOMAIN", "v=spf1")], vec![]),
            2,
            &[
                "problem  SPF     DOMAIN has no SPF record",
                "publish a TXT record at DOMAIN naming the servers that send for it, e.g. \"v=spf1 a:smtp.DOMAIN -all\"",
                "SPF or DKIM — met.",
                "missing SPF for your server.",
            ],
        ),
        case(
            "twospf.test",
            zone_with(
                "twospf.test",
                &[],
                vec![txt("twospf.test", "v=spf1 mx -all")],
            ),
            2,
            &[
                "problem  SPF     DOMAIN has 2 SPF records; receivers treat that as an error (permerror)",
            ],
        ),
        case(
            "badspf.test",
            zone_with(
                "badspf.test",
                &[("DOMAIN", "v=spf1")],
                vec![txt("badspf.test", "v=spf1 ip4:192.0.2.300 -all")],
            ),
            2,
            &[
                "problem  SPF     \"v=spf1 ip4:192.0.2.300 -all\" is broken: \"ip4:192.0.2.300\": \"192.0.2.300\" is not an IPv4 address",
            ],
        ),
        case(
            "plusall.test",
            zone_with(
                "plusall.test",
                &[("DOMAIN", "v=spf1")],
                vec![txt("plusall.test", "v=spf1 +all")],
            ),
            2,
            &[
                "problem  SPF     \"v=spf1 +all\" ends with +all: it lets every server in the world send as DOMAIN",
            ],
        ),
        case(
            "qall.test",
            zone_with(
                "qall.test",
                &[("DOMAIN", "v=spf1")],
                vec![txt("qall.test", "v=spf1 ip4:192.0.2.25 ?all")],
            ),
            2,
            &["problem  SPF     \"v=spf1 ip4:192.0.2.25 ?all\" ends with ?all"],
        ),
        case(
            "elsewhere.test",
            zone_with(
                "elsewhere.test",
                &[("DOMAIN", "v=spf1")],
                vec![txt("elsewhere.test", "v=spf1 ip4:198.51.100.0/24 ~all")],
            ),
            2,
            &[
                "problem  server  SPF does not allow the SMTP server smtp.DOMAIN (192.0.2.25: softfail)",
                "→ add ip4:192.0.2.25 (or your relay provider's include:) to the SPF record of DOMAIN, before the all",
                "SPF or DKIM — met.",
            ],
        ),
        // Allowed through an include chain ending in a redirect.
        case(
            "chain.test",
            zone_with(
                "chain.test",
                &[("DOMAIN", "v=spf1")],
                vec![
                    txt("chain.test", "v=spf1 include:_spf.relay.test -all"),
                    txt("_spf.relay.test", "v=spf1 include:_v4.relay.test ~all"),
                    txt(
                        "_v4.relay.test",
                        "v=spf1 ip4:203.0.113.0/24 redirect=_more.relay.test",
                    ),
                    txt("_more.relay.test", "v=spf1 ip4:192.0.2.0/24 -all"),
                ],
            ),
            0,
            &[
                "ok       SPF     \"v=spf1 include:_spf.relay.test -all\" (3 of 10 DNS lookups)",
                "ok       server  SPF allows the SMTP server smtp.DOMAIN (192.0.2.25)",
            ],
        ),
        // Allowed as the domain's MX host.
        case(
            "viamx.test",
            zone_with(
                "viamx.test",
                &[("DOMAIN", "v=spf1")],
                vec![
                    txt("viamx.test", "v=spf1 mx -all"),
                    host("out.viamx.test", "192.0.2.5"),
                ],
            ),
            0,
            &["ok       server  SPF allows the SMTP server out.viamx.test (192.0.2.5)"],
        ),
        // Eleven includes deep.
        case(
            "deep.test",
            zone_with("deep.test", &[("DOMAIN", "v=spf1")], {
                let mut z = vec![txt("deep.test", "v=spf1 include:d1.deep.test -all")];
                for i in 1..=11 {
                    z.push(txt(
                        &format!("d{i}.deep.test"),
                        &format!("v=spf1 include:d{}.deep.test -all", i + 1),
                    ));
                }
                z.push(txt("d12.deep.test", "v=spf1 ip4:192.0.2.25 -all"));
                z
            }),
            2,
            &[
                "problem  SPF     \"v=spf1 include:d1.deep.test -all\" needs more than 10 DNS lookups through its includes",
                "problem  server  SPF does not allow the SMTP server smtp.DOMAIN (192.0.2.25: permerror, evaluating it needs more than 10 DNS lookups",
            ],
        ),
        // A record that includes itself.
        case(
            "loop.test",
            zone_with(
                "loop.test",
                &[("DOMAIN", "v=spf1")],
                vec![txt("loop.test", "v=spf1 include:loop.test -all")],
            ),
            2,
            &["needs more than 10 DNS lookups"],
        ),
        case(
            "nodkim.test",
            zone_with(
                "nodkim.test",
                &[("greet._domainkey.DOMAIN", "v=DKIM1")],
                vec![],
            ),
            2,
            &[
                "problem  DKIM    no key at greet._domainkey.DOMAIN (selector greet, from --selector)",
                "→ publish the TXT record `greet dkim keygen` printed for selector greet, at greet._domainkey.DOMAIN",
                "missing DKIM.",
            ],
        ),
        case(
            "revoked.test",
            zone_with(
                "revoked.test",
                &[("greet._domainkey.DOMAIN", "v=DKIM1")],
                vec![txt("greet._domainkey.revoked.test", "v=DKIM1; k=rsa; p=")],
            ),
            2,
            &["problem  DKIM    the key at greet._domainkey.DOMAIN is revoked (p= is empty)"],
        ),
        case(
            "weak.test",
            zone_with(
                "weak.test",
                &[("greet._domainkey.DOMAIN", "v=DKIM1")],
                vec![txt(
                    "greet._domainkey.weak.test",
                    &format!("v=DKIM1; k=rsa; p={}", pem_body("rsa512.pub")),
                )],
            ),
            2,
            &[
                "problem  DKIM    the key at greet._domainkey.DOMAIN is RSA 512 bits; receivers ignore keys under 1024 bits (RFC 8301)",
            ],
        ),
        case(
            "rsa1024.test",
            zone_with(
                "rsa1024.test",
                &[("greet._domainkey.DOMAIN", "v=DKIM1")],
                vec![txt(
                    "greet._domainkey.rsa1024.test",
                    &format!("v=DKIM1; k=rsa; p={}", pem_body("rsa1024.pub")),
                )],
            ),
            0,
            &[
                "note     DKIM    the key at greet._domainkey.DOMAIN is RSA 1024 bits: it works, 2048 is recommended",
            ],
        ),
        case(
            "ed.test",
            zone_with(
                "ed.test",
                &[("greet._domainkey.DOMAIN", "v=DKIM1")],
                vec![txt(
                    "greet._domainkey.ed.test",
                    &format!("v=DKIM1; k=ed25519; p={}", ed25519_p()),
                )],
            ),
            0,
            &["ok       DKIM    key at greet._domainkey.DOMAIN: Ed25519"],
        ),
        case(
            "baddkim.test",
            zone_with(
                "baddkim.test",
                &[("greet._domainkey.DOMAIN", "v=DKIM1")],
                vec![txt(
                    "greet._domainkey.baddkim.test",
                    "v=DKIM1; k=rsa; p=MIIB!!",
                )],
            ),
            2,
            &[
                "problem  DKIM    the record at greet._domainkey.DOMAIN is broken: p= is not valid base64",
            ],
        ),
        case(
            "nodmarc.test",
            zone_with("nodmarc.test", &[("_dmarc.DOMAIN", "v=DMARC1")], vec![]),
            2,
            &[
                "problem  DMARC   no DMARC record at _dmarc.DOMAIN",
                "→ publish a TXT record at _dmarc.DOMAIN: \"v=DMARC1; p=none; rua=mailto:dmarc@DOMAIN\"",
                "SPF or DKIM — met.",
                "missing DMARC.",
            ],
        ),
        case(
            "baddmarc.test",
            zone_with(
                "baddmarc.test",
                &[("_dmarc.DOMAIN", "v=DMARC1")],
                vec![txt("_dmarc.baddmarc.test", "v=DMARC1; p=block")],
            ),
            2,
            &[
                "problem  DMARC   the record at _dmarc.DOMAIN is broken: p=block: the policy must be none, quarantine or reject",
            ],
        ),
        case(
            "norua.test",
            zone_with(
                "norua.test",
                &[("_dmarc.DOMAIN", "v=DMARC1")],
                vec![txt("_dmarc.norua.test", "v=DMARC1; p=quarantine; adkim=s")],
            ),
            0,
            &[
                "note     DMARC   p=quarantine; SPF and DKIM align with DOMAIN (greet's envelope sender is the From address, so strict alignment holds too); no rua=, so nobody receives the reports",
            ],
        ),
        // More TXT records than a UDP answer holds (EDNS 1232 bytes): the
        // answer comes truncated and is asked again over TCP.
        case(
            "bigtxt.test",
            zone_with(
                "bigtxt.test",
                &[],
                (0..8)
                    .map(|i| {
                        txt(
                            "bigtxt.test",
                            &format!("site-verification-{i}={}", "x".repeat(230)),
                        )
                    })
                    .collect(),
            ),
            0,
            &["ok       SPF     \"v=spf1 ip4:192.0.2.25 -all\" (0 of 10 DNS lookups)"],
        ),
        // Nothing at all.
        case(
            "empty.test",
            vec![],
            2,
            &[
                "problem  MX      DOMAIN has no MX record",
                "problem  SPF     DOMAIN has no SPF record",
                "problem  DKIM    no key at greet._domainkey.DOMAIN",
                "problem  DMARC   no DMARC record at _dmarc.DOMAIN",
                "SPF or DKIM — NOT met: neither SPF nor DKIM passes, so Gmail and Yahoo reject or junk your mail.",
                "missing SPF for your server, DKIM, DMARC.",
            ],
        ),
    ];
    // The SMTP host of viamx is its MX.
    for c in &mut cases {
        if c.domain == "viamx.test" {
            c.smtp = Some("out.viamx.test");
        }
    }
    cases
}

#[test]
#[cfg_attr(greet_no_dnsmasq, ignore = "needs dnsmasq (apt install dnsmasq-base)")]
fn doctor_reports_each_missing_or_broken_record_with_what_to_publish() {
    let cases = cases();
    let mut records = Vec::new();
    for c in &cases {
        records.extend(c.zone.iter().cloned());
    }
    let dns = Dnsmasq::start(&records);
    for c in &cases {
        let smtp = c
            .smtp
            .map_or_else(|| format!("smtp.{}", c.domain), str::to_string);
        let shop = shop_at(c.domain, &smtp_host(&smtp));
        let run = doctor(&shop, &dns, &["--selector", "greet"]);
        let out = run.stdout();
        assert_eq!(run.code(), c.exit, "{}:\n{out}{}", c.domain, run.stderr());
        for said in &c.says {
            assert!(
                out.contains(said.as_str()),
                "{}: expected {said:?} in\n{out}",
                c.domain
            );
        }
        // --quiet: only what is wrong, nothing when nothing is.
        let quiet = doctor(&shop, &dns, &["--selector", "greet", "--quiet"]);
        assert_eq!(quiet.code(), c.exit);
        let q = quiet.stdout();
        let problems = out.lines().filter(|l| l.starts_with("  problem")).count();
        assert_eq!(
            q.lines().filter(|l| l.starts_with("  problem")).count(),
            problems,
            "{}",
            c.domain
        );
        assert!(
            !q.contains("  ok ") && !q.contains("  note "),
            "{}: {q}",
            c.domain
        );
        if c.exit == 0 {
            assert_eq!(q, "", "{}", c.domain);
        }
    }
}

#[test]
#[cfg_attr(greet_no_dnsmasq, ignore = "needs dnsmasq (apt install dnsmasq-base)")]
fn an_smtp_host_on_ipv6_is_judged_by_the_ip6_terms_and_each_address_counts() {
    let dns = Dnsmasq::start(
        &[zone_with(
            "six.test",
            &[("DOMAIN", "v=spf1")],
            vec![
                txt("six.test", "v=spf1 ip6:2001:db8:25::/48 -all"),
                host("smtp6.six.test", "2001:db8:25::1"),
                host("dual.six.test", "192.0.2.25,2001:db8:25::1"),
            ],
        )]
        .concat(),
    );
    let only6 = shop_at("six.test", &smtp_host("smtp6.six.test"));
    let run = doctor(&only6, &dns, &["--selector", "greet"]).expect(0);
    assert!(
        run.stdout()
            .contains("SPF allows the SMTP server smtp6.six.test (2001:db8:25::1)"),
        "{}",
        run.stdout()
    );
    // Both addresses must pass: the IPv4 one does not.
    let dual = shop_at("six.test", &smtp_host("dual.six.test"));
    let run = doctor(&dual, &dns, &["--selector", "greet"]).expect(2);
    assert!(
        run.stdout()
            .contains("SPF does not allow the SMTP server dual.six.test (192.0.2.25: fail)"),
        "{}",
        run.stdout()
    );
}

#[test]
#[cfg_attr(greet_no_dnsmasq, ignore = "needs dnsmasq (apt install dnsmasq-base)")]
fn sendmail_and_file_transports_are_told_what_greet_cannot_know() {
    let dns = Dnsmasq::start(&good_zone("local.test"));
    for transport in [
        "kind = \"sendmail\"".to_string(),
        "kind = \"file\"\ndir = \"outbox\"".to_string(),
    ] {
        let shop = shop_at("local.test", &transport);
        let run = doctor(&shop, &dns, &["--selector", "greet"]).expect(0);
        assert!(
            run.stdout().contains("greet cannot know"),
            "{}",
            run.stdout()
        );
        assert!(run.stdout().contains("ok       SPF "), "{}", run.stdout());
    }
}

#[test]
#[cfg_attr(greet_no_dnsmasq, ignore = "needs dnsmasq (apt install dnsmasq-base)")]
fn without_a_selector_doctor_says_how_to_set_up_dkim() {
    let dns = Dnsmasq::start(&good_zone("nosel.test"));
    let shop = shop_at("nosel.test", &smtp_host("smtp.nosel.test"));
    let run = doctor(&shop, &dns, &[]).expect(2);
    assert!(
        run.stdout()
            .contains("problem  DKIM    no DKIM selector to check: greet does not sign its mail"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout().contains("run `greet dkim keygen`"),
        "{}",
        run.stdout()
    );
}

#[test]
#[cfg_attr(greet_no_dnsmasq, ignore = "needs dnsmasq (apt install dnsmasq-base)")]
fn the_organisational_domains_dmarc_record_covers_a_subdomain_sender() {
    let mut zone = good_zone("news.org.test");
    zone.retain(|r| !matches!(r, Rr::Txt(n, _) if n.starts_with("_dmarc.")));
    zone.push(txt(
        "_dmarc.org.test",
        "v=DMARC1; p=reject; rua=mailto:d@org.test",
    ));
    let dns = Dnsmasq::start(&zone);
    let shop = shop_at("news.org.test", &smtp_host("smtp.news.org.test"));
    let run = doctor(&shop, &dns, &["--selector", "greet"]).expect(0);
    assert!(
        run.stdout()
            .contains("ok       DMARC   p=reject (from the organisational domain org.test)"),
        "{}",
        run.stdout()
    );
}

#[test]
#[cfg_attr(greet_no_dnsmasq, ignore = "needs dnsmasq (apt install dnsmasq-base)")]
fn a_server_that_refuses_to_answer_is_exit_four_not_a_missing_record() {
    // dnsmasq answers REFUSED for names outside .test.
    let dns = Dnsmasq::start(&[]);
    let shop = shop_at("shop.example", &smtp_host("smtp.shop.example"));
    let run = doctor(&shop, &dns, &["--selector", "greet"]).expect(4);
    assert!(run.stdout().contains("unknown  MX      could not look up the MX records of shop.example: the DNS server answered REFUSED"), "{}", run.stdout());
    assert!(!run.stdout().contains("problem"), "{}", run.stdout());
}

/// A resolver that takes the question and never answers (UDP), with nothing
/// listening on TCP: doctor gives up after one timeout, not one per record.
#[test]
fn a_resolver_that_does_not_answer_is_exit_four_within_seconds() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let shop = shop_at("shop.test", &smtp_host("smtp.shop.test"));
    let started = Instant::now();
    let run = shop.run(&[
        "doctor",
        "--resolver",
        &format!("127.0.0.1:{port}"),
        "--selector",
        "greet",
    ]);
    let took = started.elapsed();
    assert_eq!(run.code(), 4, "{}{}", run.stdout(), run.stderr());
    assert!(
        run.stdout().contains("no DNS server answered"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout().contains("could not be looked up"),
        "{}",
        run.stdout()
    );
    assert_eq!(
        run.stdout().matches("unknown").count(),
        1,
        "{}",
        run.stdout()
    );
    // One timeout (3 s), not one per record.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    drop(silent);
}

/// A server that answers every question with SERVFAIL.
#[test]
fn a_resolver_answering_servfail_is_exit_four() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            if n < 12 {
                continue;
            }
            let mut reply = buf[..n].to_vec();
            reply[2] = 0x80 | (buf[2] & 0x01); // QR, RD copied
            reply[3] = 0x80 | 2; // RA, SERVFAIL
            reply[6..12].fill(0); // no answers, authorities, additionals
            // Keep the question only (drop an EDNS OPT record).
            let q_end = 12 + question_len(&buf[12..n]);
            reply.truncate(q_end);
            let _ = sock.send_to(&reply, from);
        }
    });
    let shop = shop_at("shop.test", &smtp_host("smtp.shop.test"));
    let run = shop.run(&[
        "doctor",
        "--resolver",
        &format!("127.0.0.1:{port}"),
        "--selector",
        "greet",
    ]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    server.join().unwrap();
    assert_eq!(run.code(), 4, "{}{}", run.stdout(), run.stderr());
    assert!(
        run.stdout().contains("the DNS server answered SERVFAIL"),
        "{}",
        run.stdout()
    );
}

/// Length of the question section (name, type, class) at the start of `q`.
fn question_len(q: &[u8]) -> usize {
    let mut i = 0;
    while i < q.len() && q[i] != 0 {
        i += usize::from(q[i]) + 1;
    }
    (i + 1 + 4).min(q.len())
}

#[test]
fn a_resolver_that_is_not_an_address_is_bad_usage() {
    let shop = Shop::samples();
    let run = shop.run(&["doctor", "--resolver", "dns.example"]).expect(2);
    assert!(
        run.stderr()
            .contains("--resolver \"dns.example\" is not an address"),
        "{}",
        run.stderr()
    );
}

#[test]
#[cfg_attr(greet_no_dnsmasq, ignore = "needs dnsmasq (apt install dnsmasq-base)")]
fn a_sender_domain_in_greek_letters_is_looked_up_in_punycode() {
    let ascii = idna::domain_to_ascii("φούρνος.test").unwrap();
    let dns = Dnsmasq::start(&good_zone(&ascii));
    let shop = shop_at("φούρνος.test", &smtp_host(&format!("smtp.{ascii}")));
    let run = doctor(&shop, &dns, &["--selector", "greet"]).expect(0);
    assert!(
        run.stdout().starts_with(&format!(
            "φούρνος.test ({ascii}), the domain of info@φούρνος.test\n"
        )),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout()
            .contains("ok       SPF     \"v=spf1 ip4:192.0.2.25 -all\""),
        "{}",
        run.stdout()
    );
}
