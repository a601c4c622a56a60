//! `greet doctor`: will the big mailbox providers take the shop's mail?
//! Looks up the sender domain's MX, SPF, DKIM and DMARC records, evaluates
//! SPF for the server greet sends through, and says per item what is right,
//! what is missing or wrong, and what to publish.
//!
//! What the providers require (the README cites them): Gmail and Yahoo,
//! since February 2024, SPF or DKIM for every sender, and SPF and DKIM and
//! DMARC (p=none at least) with the From domain aligned for senders of more
//! than 5,000 messages a day; Outlook.com, since May 2025, the same above
//! 5,000 a day.
//!
//! Everything here is pure given a [`dns::Dns`]; `cmd::doctor` wires the
//! real resolver.
pub mod dkim;
pub mod dmarc;
pub mod dns;
pub mod spf;

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::exit::Exit;
use crate::provider::Provider;
use dns::{Dns, DnsTrouble};
use spf::Verdict;

/// How greet's mail leaves, as far as the sender check cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sending {
    /// An SMTP relay (its host name or address), and the provider whose
    /// settings it came from, if any.
    Smtp {
        host: String,
        provider: Option<Provider>,
    },
    /// The local mail system.
    Sendmail,
    /// .eml files in a folder.
    File,
}

/// What doctor checks.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The From address.
    pub from: String,
    /// Its domain, in ASCII (punycode).
    pub domain: String,
    pub sending: Sending,
    /// The DKIM selector, and where it came from ("--selector", "[dkim]").
    pub selector: Option<(String, &'static str)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    /// Works, could be better.
    Note,
    /// Missing or wrong: something to publish or change.
    Problem,
    /// DNS could not be asked.
    Unknown,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Note => "note",
            Level::Problem => "problem",
            Level::Unknown => "unknown",
        }
    }
}

/// One line of the report, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// MX, SPF, server, DKIM, DMARC.
    pub topic: &'static str,
    pub text: String,
    pub advice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub domain: String,
    pub from: String,
    pub findings: Vec<Finding>,
    /// Will SPF pass for greet's server (None: greet cannot know)?
    pub spf_passes: Option<bool>,
    /// Is there a usable DKIM key at the From domain?
    pub dkim_ok: bool,
    /// Is there a DMARC policy (p=none at least)?
    pub dmarc_ok: bool,
    /// The domain is a mailbox provider's own (gmail.com …): nothing to publish.
    pub providers_own: bool,
}

fn finding(level: Level, topic: &'static str, text: impl Into<String>) -> Finding {
    Finding {
        level,
        topic,
        text: text.into(),
        advice: None,
    }
}

impl Finding {
    fn advise(mut self, advice: impl Into<String>) -> Finding {
        self.advice = Some(advice.into());
        self
    }
}

/// The domains a provider's personal accounts send from: their own DNS.
fn providers_own_domain(provider: Provider, domain: &str) -> bool {
    let own: &[&str] = match provider {
        Provider::Gmail => &["gmail.com", "googlemail.com"],
        Provider::Outlook => &["outlook.com", "hotmail.com", "live.com", "msn.com"],
        _ => &[],
    };
    own.iter().any(|d| domain.eq_ignore_ascii_case(d))
}

/// The SPF include a business mailbox provider's outgoing servers are
/// published under.
fn provider_include(provider: Provider) -> Option<&'static str> {
    match provider {
        Provider::Microsoft365 | Provider::Outlook => Some("spf.protection.outlook.com"),
        Provider::Gmail | Provider::GoogleWorkspace => Some("_spf.google.com"),
    }
}

/// One of doctor's checks, run only while DNS answers.
type Check<'a> = &'a dyn Fn(&mut dyn Dns, &mut Report);

/// Look everything up and judge it.
pub fn diagnose(dns: &mut dyn Dns, inputs: &Inputs) -> Report {
    let domain = inputs.domain.as_str();
    let mut report = Report {
        domain: domain.to_string(),
        from: inputs.from.clone(),
        findings: Vec::new(),
        spf_passes: None,
        dkim_ok: false,
        dmarc_ok: false,
        providers_own: false,
    };
    if let Sending::Smtp {
        provider: Some(p), ..
    } = &inputs.sending
        && providers_own_domain(*p, domain)
    {
        report.providers_own = true;
        report.findings.push(finding(
            Level::Ok,
            "domain",
            format!(
                "{domain} is {}'s own domain: it publishes SPF, DKIM and DMARC for it and signs what you send through it; there is nothing for you to publish",
                p.name()
            ),
        ));
        return report;
    }
    // Once no server answers, the first finding says so and nothing more
    // is asked (each question would wait out its own timeout).
    let checks: [Check; 4] = [
        &|dns, r| check_mx(dns, domain, r),
        &|dns, r| check_spf(dns, inputs, r),
        &|dns, r| check_dkim(dns, inputs, r),
        &|dns, r| check_dmarc(dns, domain, r),
    ];
    for check in checks {
        if dns.unreachable().is_some() {
            break;
        }
        check(dns, &mut report);
    }
    report
}

fn trouble(topic: &'static str, what: &str, t: &DnsTrouble) -> Finding {
    finding(
        Level::Unknown,
        topic,
        format!("could not look up {what}: {t}"),
    )
    .advise("run greet doctor again later, or name a resolver that answers with --resolver IP")
}

fn check_mx(dns: &mut dyn Dns, domain: &str, report: &mut Report) {
    match dns.mx(domain) {
        Err(t) => report.findings.push(trouble("MX", &format!("the MX records of {domain}"), &t)),
        Ok(mut mx) if !mx.is_empty() => {
            mx.sort();
            let hosts: Vec<String> = mx.iter().map(|(_, h)| h.clone()).collect();
            let null = mx.len() == 1 && (mx[0].1.is_empty() || mx[0].1 == ".");
            if null {
                report.findings.push(
                    finding(Level::Problem, "MX", format!("{domain} says it takes no mail (a null MX, RFC 7505)"))
                        .advise("replies, bounces and unsubscribe requests to your From address are lost, and Yahoo and others refuse mail from a domain that takes none: publish an MX record for your mailbox"),
                );
            } else {
                report
                    .findings
                    .push(finding(Level::Ok, "MX", format!("{domain} takes mail at {}", hosts.join(", "))));
            }
        }
        Ok(_) => report.findings.push(
            finding(Level::Problem, "MX", format!("{domain} has no MX record"))
                .advise("replies, bounces and unsubscribe requests need somewhere to go, and receivers distrust a sender domain that takes no mail: publish the MX record your mailbox provider gives you"),
        ),
    }
}

fn check_spf(dns: &mut dyn Dns, inputs: &Inputs, report: &mut Report) {
    let domain = inputs.domain.as_str();
    let txts = match dns.txt(domain) {
        Ok(t) => t,
        Err(t) => {
            report
                .findings
                .push(trouble("SPF", &format!("the TXT records of {domain}"), &t));
            return;
        }
    };
    let records: Vec<&String> = txts.iter().filter(|t| spf::is_spf(t)).collect();
    let record = match records.as_slice() {
        [] => {
            report.spf_passes = Some(false);
            report.findings.push(
                finding(Level::Problem, "SPF", format!("{domain} has no SPF record"))
                    .advise(format!("publish a TXT record at {domain} naming the servers that send for it, e.g. \"{}\"", spf_example(inputs))),
            );
            return;
        }
        [one] => one.as_str(),
        many => {
            report.spf_passes = Some(false);
            report.findings.push(
                finding(Level::Problem, "SPF", format!("{domain} has {} SPF records; receivers treat that as an error (permerror) and ignore them all", many.len()))
                    .advise("merge them into one TXT record beginning v=spf1, with every sender's terms and one all at the end"),
            );
            return;
        }
    };
    let parsed = match spf::parse(record) {
        Ok(p) => p,
        Err(why) => {
            report.spf_passes = Some(false);
            report.findings.push(
                finding(Level::Problem, "SPF", format!("\"{record}\" is broken: {why}"))
                    .advise("receivers treat a broken record as an error (permerror): correct the term and publish it again"),
            );
            return;
        }
    };
    let needed = spf::lookups_needed(dns, domain);
    let mut ok = true;
    if needed > spf::MAX_LOOKUPS {
        ok = false;
        report.findings.push(
            finding(Level::Problem, "SPF", format!("\"{record}\" needs more than {} DNS lookups through its includes; receivers stop at {} and fail it (permerror, RFC 7208 §4.6.4)", spf::MAX_LOOKUPS, spf::MAX_LOOKUPS))
                .advise("drop includes of services that no longer send for you, or replace an include with the ip4:/ip6: ranges it names"),
        );
    }
    match parsed.all() {
        Some(spf::Qualifier::Pass) => {
            ok = false;
            report.findings.push(
                finding(Level::Problem, "SPF", format!("\"{record}\" ends with +all: it lets every server in the world send as {domain}"))
                    .advise("end it with -all (or ~all while you are still finding your senders)"),
            );
        }
        Some(spf::Qualifier::Neutral) => {
            ok = false;
            report.findings.push(
                finding(Level::Problem, "SPF", format!("\"{record}\" ends with ?all: it says nothing about other servers, so it protects nothing"))
                    .advise("end it with -all (or ~all while you are still finding your senders)"),
            );
        }
        None if parsed.redirect.is_none() => report.findings.push(
            finding(
                Level::Note,
                "SPF",
                format!("\"{record}\" has no all at the end: other servers get a neutral result"),
            )
            .advise("end it with -all (or ~all)"),
        ),
        _ => {}
    }
    if parsed
        .directives
        .iter()
        .any(|(_, m)| matches!(m, spf::Mechanism::Ptr(_)))
    {
        report.findings.push(
            finding(
                Level::Note,
                "SPF",
                "the record uses ptr, which RFC 7208 says not to use and many receivers skip",
            )
            .advise("replace ptr with the ip4:/ip6: ranges of your servers"),
        );
    }
    if ok {
        report.findings.push(finding(
            Level::Ok,
            "SPF",
            format!(
                "\"{record}\" ({needed} of {} DNS lookups)",
                spf::MAX_LOOKUPS
            ),
        ));
    }
    check_server(dns, inputs, report, ok);
}

/// An SPF record to suggest when there is none.
fn spf_example(inputs: &Inputs) -> String {
    match &inputs.sending {
        Sending::Smtp {
            provider: Some(p), ..
        } => match provider_include(*p) {
            Some(inc) => format!("v=spf1 include:{inc} -all"),
            None => "v=spf1 mx -all".into(),
        },
        Sending::Smtp { host, .. } => match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => format!("v=spf1 ip4:{a} -all"),
            Ok(IpAddr::V6(a)) => format!("v=spf1 ip6:{a} -all"),
            Err(_) => format!("v=spf1 a:{host} -all"),
        },
        _ => "v=spf1 mx -all".into(),
    }
}

/// Is the server greet sends through allowed by the domain's SPF?
fn check_server(dns: &mut dyn Dns, inputs: &Inputs, report: &mut Report, record_ok: bool) {
    let domain = inputs.domain.as_str();
    let (host, provider) = match &inputs.sending {
        Sending::Sendmail => {
            report.findings.push(
                finding(Level::Note, "server", "greet hands mail to this machine's mail system (kind = \"sendmail\"); which server finally sends it — this machine, or the relay it forwards to — greet cannot know")
                    .advise(format!("make sure the SPF record of {domain} names that server's address (ip4:…) or its provider's include:")),
            );
            return;
        }
        Sending::File => {
            report.findings.push(finding(
                Level::Note,
                "server",
                "greet writes .eml files (kind = \"file\"); which server will send them greet cannot know",
            ));
            return;
        }
        Sending::Smtp { host, provider } => (host.as_str(), *provider),
    };
    // A provider's submission server is not where its mail leaves from: its
    // outgoing servers are published under one include.
    if let Some(p) = provider
        && let Some(inc) = provider_include(p)
    {
        let reached = reaches(dns, domain, inc);
        report.spf_passes = Some(reached && record_ok);
        if reached {
            report.findings.push(finding(
                Level::Ok,
                "server",
                format!(
                    "SPF includes {inc}, where {}'s outgoing servers are published",
                    p.name()
                ),
            ));
        } else {
            report.findings.push(
                finding(
                    Level::Problem,
                    "server",
                    format!(
                        "SPF does not include {inc}, so mail {} sends for {domain} fails SPF",
                        p.name()
                    ),
                )
                .advise(format!(
                    "add include:{inc} to the SPF record of {domain}, before the all"
                )),
            );
        }
        return;
    }
    let mut addrs: Vec<IpAddr> = Vec::new();
    if let Ok(ip) = host.parse::<IpAddr>() {
        addrs.push(ip);
    } else {
        for v6 in [false, true] {
            match dns.ip(host, v6) {
                Ok(found) => addrs.extend(found),
                Err(t) => {
                    report
                        .findings
                        .push(trouble("server", &format!("the address of {host}"), &t));
                    return;
                }
            }
        }
    }
    if addrs.is_empty() {
        report.spf_passes = Some(false);
        report.findings.push(
            finding(
                Level::Problem,
                "server",
                format!("the SMTP server {host} has no address in DNS"),
            )
            .advise("check [transport] host in greet.toml"),
        );
        return;
    }
    if addrs.iter().all(|a| is_local(*a)) {
        report.findings.push(
            finding(Level::Note, "server", format!("greet sends through {host}, a relay on this machine or network; which server finally sends the mail greet cannot know"))
                .advise(format!("make sure the SPF record of {domain} names that server's address or its provider's include:")),
        );
        return;
    }
    let mut allowed = Vec::new();
    let mut refused = Vec::new();
    for a in addrs.iter().copied().filter(|a| !is_local(*a)) {
        let e = spf::check_host(dns, a, domain);
        match e.verdict {
            Verdict::Pass => allowed.push(a.to_string()),
            Verdict::TempError(t) => {
                report
                    .findings
                    .push(trouble("server", &format!("SPF for {a}"), &DnsTrouble(t)));
                return;
            }
            Verdict::NotEvaluated(why) => {
                report.findings.push(
                    finding(
                        Level::Note,
                        "server",
                        format!("whether SPF allows {host} ({a}) was not evaluated: {why}"),
                    )
                    .advise(
                        "doctor does not expand SPF macros; check with your provider's SPF tester",
                    ),
                );
                return;
            }
            v => refused.push((a, v)),
        }
    }
    if refused.is_empty() {
        report.spf_passes = Some(record_ok);
        report.findings.push(finding(
            Level::Ok,
            "server",
            format!("SPF allows the SMTP server {host} ({})", allowed.join(", ")),
        ));
    } else {
        report.spf_passes = Some(false);
        let list: Vec<String> = refused
            .iter()
            .map(|(a, v)| match v {
                Verdict::PermError(w) => format!("{a}: permerror, {w}"),
                v => format!("{a}: {}", v.name()),
            })
            .collect();
        let add: Vec<String> = refused
            .iter()
            .map(|(a, _)| match a {
                IpAddr::V4(a) => format!("ip4:{a}"),
                IpAddr::V6(a) => format!("ip6:{a}"),
            })
            .collect();
        report.findings.push(
            finding(Level::Problem, "server", format!("SPF does not allow the SMTP server {host} ({})", list.join("; ")))
                .advise(format!("add {} (or your relay provider's include:) to the SPF record of {domain}, before the all", add.join(" "))),
        );
    }
}

/// Does the record at `domain` include `target` somewhere (through its
/// includes and redirects, within the lookup limit)?
fn reaches(dns: &mut dyn Dns, domain: &str, target: &str) -> bool {
    let mut seen = Vec::new();
    let mut todo = vec![domain.to_ascii_lowercase()];
    while let Some(d) = todo.pop() {
        if d.eq_ignore_ascii_case(target) {
            return true;
        }
        if seen.contains(&d) || seen.len() > spf::MAX_LOOKUPS {
            continue;
        }
        seen.push(d.clone());
        let Ok(txts) = dns.txt(&d) else { continue };
        for t in txts.iter().filter(|t| spf::is_spf(t)) {
            if let Ok(r) = spf::parse(t) {
                for (_, m) in &r.directives {
                    if let spf::Mechanism::Include(i) = m {
                        todo.push(i.to_ascii_lowercase());
                    }
                }
                todo.extend(r.redirect.map(|x| x.to_ascii_lowercase()));
            }
        }
    }
    false
}

/// Loopback, private, link-local: a relay near greet, not the sender the
/// world sees.
fn is_local(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            v.is_loopback() || v.is_private() || v.is_link_local() || v.is_unspecified()
        }
        IpAddr::V6(v) => {
            v.is_loopback()
                || v.is_unspecified()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

fn check_dkim(dns: &mut dyn Dns, inputs: &Inputs, report: &mut Report) {
    let domain = inputs.domain.as_str();
    let Some((selector, source)) = &inputs.selector else {
        report.findings.push(
            finding(Level::Problem, "DKIM", "no DKIM selector to check: greet does not sign its mail")
                .advise(format!("run `greet dkim keygen`, add the [dkim] section it prints to greet.toml and publish its TXT record under {domain}; or, if your provider signs for you, name its selector with --selector")),
        );
        return;
    };
    let name = format!("{selector}._domainkey.{domain}");
    let txts = match dns.txt(&name) {
        Ok(t) => t,
        Err(t) => {
            report
                .findings
                .push(trouble("DKIM", &format!("the TXT record at {name}"), &t));
            return;
        }
    };
    let keygen = format!(
        "publish the TXT record `greet dkim keygen` printed for selector {selector}, at {name}"
    );
    match txts.as_slice() {
        [] => report.findings.push(
            finding(Level::Problem, "DKIM", format!("no key at {name} (selector {selector}, from {source})"))
                .advise(keygen),
        ),
        [one] => match dkim::parse(one) {
            Ok(dkim::Key::Revoked) => report.findings.push(
                finding(Level::Problem, "DKIM", format!("the key at {name} is revoked (p= is empty): mail signed with it fails DKIM"))
                    .advise(format!("sign with a new selector: `greet dkim keygen`, then publish its record; {keygen}")),
            ),
            Ok(dkim::Key::Rsa { bits }) if bits < 1024 => report.findings.push(
                finding(Level::Problem, "DKIM", format!("the key at {name} is RSA {bits} bits; receivers ignore keys under 1024 bits (RFC 8301)"))
                    .advise("make a 2048-bit key with `greet dkim keygen` and publish it under a new selector"),
            ),
            Ok(dkim::Key::Rsa { bits }) if bits < 2048 => {
                report.dkim_ok = true;
                report.findings.push(
                    finding(Level::Note, "DKIM", format!("the key at {name} is RSA {bits} bits: it works, 2048 is recommended"))
                        .advise("make a 2048-bit key with `greet dkim keygen` and move to it under a new selector"),
                );
            }
            Ok(key) => {
                report.dkim_ok = true;
                let what = match key {
                    dkim::Key::Rsa { bits } => format!("RSA {bits} bits"),
                    _ => "Ed25519".into(),
                };
                report.findings.push(finding(Level::Ok, "DKIM", format!("key at {name}: {what}")));
            }
            Err(why) => report.findings.push(
                finding(Level::Problem, "DKIM", format!("the record at {name} is broken: {why}"))
                    .advise(keygen),
            ),
        },
        many => report.findings.push(
            finding(Level::Problem, "DKIM", format!("{name} has {} TXT records; verifiers need exactly one key there", many.len()))
                .advise("keep only the record `greet dkim keygen` printed"),
        ),
    }
}

fn check_dmarc(dns: &mut dyn Dns, domain: &str, report: &mut Report) {
    let mut at = domain.to_string();
    let mut found = dmarc_records(dns, &at);
    if let Ok(v) = &found
        && v.is_empty()
        && let Some(org) = dmarc::organisational(domain)
    {
        at = org;
        found = dmarc_records(dns, &at);
    }
    let name = format!("_dmarc.{at}");
    let records = match found {
        Ok(r) => r,
        Err(t) => {
            report
                .findings
                .push(trouble("DMARC", &format!("the TXT record at {name}"), &t));
            return;
        }
    };
    let suggest = format!(
        "publish a TXT record at _dmarc.{domain}: \"v=DMARC1; p=none; rua=mailto:dmarc@{domain}\" (reports of who sends as you; move to p=quarantine once they show only your own mail)"
    );
    let record = match records.as_slice() {
        [] => {
            report.findings.push(
                finding(
                    Level::Problem,
                    "DMARC",
                    format!("no DMARC record at _dmarc.{domain}"),
                )
                .advise(suggest),
            );
            return;
        }
        [one] => one,
        many => {
            report.findings.push(
                finding(
                    Level::Problem,
                    "DMARC",
                    format!(
                        "{name} has {} DMARC records; receivers then apply none",
                        many.len()
                    ),
                )
                .advise("keep one"),
            );
            return;
        }
    };
    let d = match dmarc::parse(record) {
        Ok(d) => d,
        Err(why) => {
            report.findings.push(
                finding(
                    Level::Problem,
                    "DMARC",
                    format!("the record at {name} is broken: {why}"),
                )
                .advise(suggest),
            );
            return;
        }
    };
    report.dmarc_ok = true;
    let inherited = if at != domain {
        format!(" (from the organisational domain {at})")
    } else {
        String::new()
    };
    // greet's envelope sender is the From address and its DKIM signature
    // names the From domain, so both align even when strict.
    let mut text = format!(
        "p={}{inherited}; SPF and DKIM align with {domain} (greet's envelope sender is the From address",
        d.policy.name()
    );
    if d.strict_dkim || d.strict_spf {
        text.push_str(", so strict alignment holds too");
    }
    text.push(')');
    if d.rua.is_empty() {
        report.findings.push(
            finding(
                Level::Note,
                "DMARC",
                format!("{text}; no rua=, so nobody receives the reports"),
            )
            .advise(format!(
                "add rua=mailto:dmarc@{domain} to see who sends as your domain"
            )),
        );
    } else {
        text.push_str(&format!("; reports to {}", d.rua.join(", ")));
        report.findings.push(finding(Level::Ok, "DMARC", text));
    }
    if d.pct < 100 {
        report.findings.push(finding(
            Level::Note,
            "DMARC",
            format!(
                "pct={}: the policy applies to {}% of failing mail",
                d.pct, d.pct
            ),
        ));
    }
}

fn dmarc_records(dns: &mut dyn Dns, at: &str) -> Result<Vec<String>, DnsTrouble> {
    Ok(dns
        .txt(&format!("_dmarc.{at}"))?
        .into_iter()
        .filter(|t| dmarc::is_dmarc(t))
        .collect())
}

impl Report {
    /// 4 when DNS could not be asked, else 2 when something is missing or
    /// wrong, else 0.
    pub fn exit(&self) -> Exit {
        match self.findings.iter().map(|f| f.level).max() {
            Some(Level::Unknown) => Exit::TryLater,
            Some(Level::Problem) => Exit::Invalid,
            _ => Exit::Ok,
        }
    }

    /// The report as the terminal shows it; `quiet`: only what is wrong.
    pub fn render(&self, quiet: bool) -> String {
        let mut out = String::new();
        if !quiet {
            // A domain in another script is shown as written, with the
            // punycode DNS knows it by.
            let (unicode, _) = idna::domain_to_unicode(&self.domain);
            let from = match self.from.rsplit_once('@') {
                Some((local, _)) if unicode != self.domain => format!("{local}@{unicode}"),
                _ => self.from.clone(),
            };
            if unicode != self.domain {
                let _ = writeln!(out, "{unicode} ({}), the domain of {from}", self.domain);
            } else {
                let _ = writeln!(out, "{} (the domain of {from})", self.domain);
            }
        }
        for f in &self.findings {
            if quiet && f.level < Level::Problem {
                continue;
            }
            let _ = writeln!(out, "  {:<8} {:<7} {}", f.level.label(), f.topic, f.text);
            if let Some(a) = &f.advice
                && f.level != Level::Ok
            {
                let _ = writeln!(out, "  {:<8} {:<7} → {a}", "", "");
            }
        }
        if quiet || self.providers_own {
            return out;
        }
        let incomplete = self.exit() == Exit::TryLater;
        let spf = self.spf_passes == Some(true);
        let mut missing_bulk = Vec::new();
        match self.spf_passes {
            Some(true) => {}
            Some(false) => missing_bulk.push("SPF for your server"),
            None => {
                missing_bulk.push("SPF for your server (greet cannot see it: check it yourself)")
            }
        }
        if !self.dkim_ok {
            missing_bulk.push("DKIM");
        }
        if !self.dmarc_ok {
            missing_bulk.push("DMARC");
        }
        out.push('\n');
        if incomplete {
            out.push_str(
                "Some records could not be looked up: run greet doctor again when DNS answers.\n",
            );
            return out;
        }
        let every = if spf || self.dkim_ok {
            "met"
        } else if self.spf_passes.is_none() {
            "not known (greet cannot see your sending server) unless DKIM is set up"
        } else {
            "NOT met: neither SPF nor DKIM passes, so Gmail and Yahoo reject or junk your mail"
        };
        let _ = writeln!(
            out,
            "Every sender (Gmail, Yahoo since February 2024): SPF or DKIM — {every}."
        );
        let bulk = if missing_bulk.is_empty() {
            "met".to_string()
        } else {
            format!("missing {}", missing_bulk.join(", "))
        };
        let _ = writeln!(
            out,
            "More than 5,000 a day (Gmail, Yahoo; Outlook.com since May 2025): SPF, DKIM and DMARC, aligned — {bulk}."
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::dns::fake::Zone;
    use super::*;

    fn inputs(sending: Sending, selector: Option<&str>) -> Inputs {
        Inputs {
            from: "info@shop.test".into(),
            domain: "shop.test".into(),
            sending,
            selector: selector.map(|s| (s.to_string(), "--selector")),
        }
    }

    fn smtp(host: &str) -> Sending {
        Sending::Smtp {
            host: host.into(),
            provider: None,
        }
    }

    fn good() -> Zone {
        Zone::default()
            .mx("shop.test", 10, "mx.shop.test")
            .txt("shop.test", "v=spf1 ip4:192.0.2.25 -all")
            .ip("smtp.shop.test", "192.0.2.25")
            .txt(
                "greet._domainkey.shop.test",
                &format!("v=DKIM1; k=rsa; p={}", dkim::tests::rsa_key(2048)),
            )
            .txt(
                "_dmarc.shop.test",
                "v=DMARC1; p=none; rua=mailto:dmarc@shop.test",
            )
    }

    #[test]
    fn a_domain_with_every_record_right_exits_zero_and_meets_both_requirements() {
        let r = diagnose(&mut good(), &inputs(smtp("smtp.shop.test"), Some("greet")));
        assert_eq!(r.exit(), Exit::Ok, "{r:#?}");
        assert!(r.findings.iter().all(|f| f.level == Level::Ok), "{r:#?}");
        let text = r.render(false);
        assert!(text.contains("SPF or DKIM — met"), "{text}");
        assert!(text.contains("aligned — met"), "{text}");
        assert_eq!(r.render(true), "");
    }

    #[test]
    fn a_provider_is_allowed_by_its_include_not_by_its_submission_servers_address() {
        let m365 = Sending::Smtp {
            host: "smtp.office365.com".into(),
            provider: Some(Provider::Microsoft365),
        };
        let mut zone = good().txt(
            "shop.test",
            "v=spf1 include:spf.protection.outlook.com -all",
        );
        zone.txt.get_mut("shop.test").unwrap().remove(0);
        let zone = zone.txt("spf.protection.outlook.com", "v=spf1 ip4:40.92.0.0/15 -all");
        let r = diagnose(&mut { zone }, &inputs(m365.clone(), Some("greet")));
        assert_eq!(r.exit(), Exit::Ok, "{r:#?}");
        let r = diagnose(&mut good(), &inputs(m365, Some("greet")));
        assert_eq!(r.exit(), Exit::Invalid);
        assert!(
            r.render(true)
                .contains("add include:spf.protection.outlook.com"),
            "{}",
            r.render(true)
        );
    }

    #[test]
    fn when_no_server_answers_doctor_says_so_once_and_asks_nothing_more() {
        let mut zone = good();
        zone.silent = true;
        let r = diagnose(&mut zone, &inputs(smtp("smtp.shop.test"), Some("greet")));
        assert_eq!(r.exit(), Exit::TryLater);
        assert_eq!(r.findings.len(), 1, "{r:#?}");
        assert_eq!(zone.asked, 1);
        assert!(
            r.render(false)
                .contains("run greet doctor again when DNS answers")
        );
    }

    #[test]
    fn a_personal_gmail_address_needs_nothing_published() {
        let mut i = inputs(
            Sending::Smtp {
                host: "smtp.gmail.com".into(),
                provider: Some(Provider::Gmail),
            },
            None,
        );
        i.domain = "gmail.com".into();
        let r = diagnose(&mut Zone::default(), &i);
        assert_eq!(r.exit(), Exit::Ok);
        assert!(r.render(false).contains("nothing for you to publish"));
    }

    #[test]
    fn sendmail_and_file_say_what_greet_cannot_know_and_still_check_the_records() {
        for sending in [Sending::Sendmail, Sending::File] {
            let r = diagnose(&mut good(), &inputs(sending, Some("greet")));
            assert_eq!(r.exit(), Exit::Ok, "{r:#?}");
            assert!(r.render(false).contains("greet cannot know"));
        }
    }

    #[test]
    fn a_relay_on_the_local_network_is_not_judged_by_spf() {
        for host in ["127.0.0.1", "10.0.0.5", "::1", "relay.lan"] {
            let zone = good().ip("relay.lan", "192.168.1.2");
            let r = diagnose(&mut { zone }, &inputs(smtp(host), Some("greet")));
            assert!(r.render(false).contains("greet cannot know"), "{host}");
            assert_eq!(r.exit(), Exit::Ok, "{host}");
        }
    }
}
