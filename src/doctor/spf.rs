//! SPF (RFC 7208): reading a `v=spf1` record, and `check_host()` — is this
//! address allowed to send for this domain? — for the mechanisms ip4, ip6,
//! a, mx, include, exists, all and the redirect modifier, with qualifiers,
//! the limit of 10 DNS-querying terms (§4.6.4) and of 2 void lookups.
//! Macros (§7) are not expanded: a term that needs one is reported as not
//! evaluated, never guessed. `ptr` is counted as a lookup and never matches
//! (RFC 7208 §5.5 says not to use it; receivers may skip it too).
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::dns::Dns;

/// The most DNS-querying terms one evaluation may use (§4.6.4).
pub const MAX_LOOKUPS: usize = 10;
/// The most lookups that may find nothing (§4.6.4).
pub const MAX_VOID_LOOKUPS: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

impl Qualifier {
    fn verdict(self) -> Verdict {
        match self {
            Qualifier::Pass => Verdict::Pass,
            Qualifier::Fail => Verdict::Fail,
            Qualifier::SoftFail => Verdict::SoftFail,
            Qualifier::Neutral => Verdict::Neutral,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    All,
    Include(String),
    A {
        domain: Option<String>,
        v4: u8,
        v6: u8,
    },
    Mx {
        domain: Option<String>,
        v4: u8,
        v6: u8,
    },
    Ptr(Option<String>),
    Ip4(Ipv4Addr, u8),
    Ip6(Ipv6Addr, u8),
    Exists(String),
}

impl Mechanism {
    /// Does evaluating it ask DNS (and count toward the limit of 10)?
    fn queries_dns(&self) -> bool {
        matches!(
            self,
            Mechanism::Include(_)
                | Mechanism::A { .. }
                | Mechanism::Mx { .. }
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        )
    }
}

/// A parsed `v=spf1` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub directives: Vec<(Qualifier, Mechanism)>,
    pub redirect: Option<String>,
}

impl Record {
    /// The qualifier of the `all` term, if the record has one.
    pub fn all(&self) -> Option<Qualifier> {
        self.directives
            .iter()
            .find(|(_, m)| *m == Mechanism::All)
            .map(|(q, _)| *q)
    }
}

/// Is this TXT string an SPF record (`v=spf1` alone or followed by a space)?
pub fn is_spf(txt: &str) -> bool {
    let t = txt.trim_start();
    t.len() >= 6
        && t[..6].eq_ignore_ascii_case("v=spf1")
        && t[6..].chars().next().is_none_or(|c| c == ' ')
}

/// Read a record; the error says which term is wrong and why.
pub fn parse(text: &str) -> Result<Record, String> {
    let mut terms = text.split(' ').filter(|t| !t.is_empty());
    match terms.next() {
        Some(v) if v.eq_ignore_ascii_case("v=spf1") => {}
        _ => return Err("the record does not begin with v=spf1".into()),
    }
    let mut record = Record {
        directives: Vec::new(),
        redirect: None,
    };
    let mut exp = false;
    for term in terms {
        let bad = |why: &str| format!("\"{term}\": {why}");
        // A modifier is name=value, the name letters, digits, - _ .
        if let Some((name, value)) = term.split_once('=')
            && !name.is_empty()
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !name.contains(':')
        {
            match name.to_ascii_lowercase().as_str() {
                "redirect" => {
                    if record.redirect.is_some() {
                        return Err(bad("redirect= appears twice"));
                    }
                    domain_spec(value).map_err(|w| bad(&w))?;
                    record.redirect = Some(value.to_string());
                }
                "exp" => {
                    if exp {
                        return Err(bad("exp= appears twice"));
                    }
                    domain_spec(value).map_err(|w| bad(&w))?;
                    exp = true;
                }
                // Unknown modifiers are ignored (§6).
                _ => {}
            }
            continue;
        }
        let (qualifier, rest) = match term.as_bytes()[0] {
            b'+' => (Qualifier::Pass, &term[1..]),
            b'-' => (Qualifier::Fail, &term[1..]),
            b'~' => (Qualifier::SoftFail, &term[1..]),
            b'?' => (Qualifier::Neutral, &term[1..]),
            _ => (Qualifier::Pass, term),
        };
        // The name ends at ':' or '/'.
        let end = rest.find([':', '/']).unwrap_or(rest.len());
        let (name, arg) = rest.split_at(end);
        let value = arg.strip_prefix(':');
        let mechanism = match name.to_ascii_lowercase().as_str() {
            "all" if arg.is_empty() => Mechanism::All,
            "include" | "exists" => {
                let Some(d) = value else {
                    return Err(bad(&format!("{name} needs a domain: {name}:example.com")));
                };
                domain_spec(d).map_err(|w| bad(&w))?;
                if name.eq_ignore_ascii_case("include") {
                    Mechanism::Include(d.to_string())
                } else {
                    Mechanism::Exists(d.to_string())
                }
            }
            "a" | "mx" => {
                let (domain, v4, v6) = domain_and_cidrs(arg).map_err(|w| bad(&w))?;
                if name.eq_ignore_ascii_case("a") {
                    Mechanism::A { domain, v4, v6 }
                } else {
                    Mechanism::Mx { domain, v4, v6 }
                }
            }
            "ptr" => match value {
                None if arg.is_empty() => Mechanism::Ptr(None),
                Some(d) => {
                    domain_spec(d).map_err(|w| bad(&w))?;
                    Mechanism::Ptr(Some(d.to_string()))
                }
                None => return Err(bad("ptr takes no prefix length")),
            },
            "ip4" => {
                let v = value.ok_or_else(|| bad("ip4 needs an address: ip4:192.0.2.1"))?;
                let (addr, len) = split_cidr(v, 32).map_err(|w| bad(&w))?;
                let addr: Ipv4Addr = addr
                    .parse()
                    .map_err(|_| bad(&format!("\"{addr}\" is not an IPv4 address")))?;
                Mechanism::Ip4(addr, len)
            }
            "ip6" => {
                let v = value.ok_or_else(|| bad("ip6 needs an address: ip6:2001:db8::1"))?;
                let (addr, len) = split_cidr(v, 128).map_err(|w| bad(&w))?;
                let addr: Ipv6Addr = addr
                    .parse()
                    .map_err(|_| bad(&format!("\"{addr}\" is not an IPv6 address")))?;
                Mechanism::Ip6(addr, len)
            }
            "all" => return Err(bad("all takes nothing after it")),
            _ => {
                return Err(bad(
                    "not an SPF mechanism (all, include, a, mx, ip4, ip6, exists, redirect=)",
                ));
            }
        };
        record.directives.push((qualifier, mechanism));
    }
    Ok(record)
}

/// "addr" or "addr/len", len at most `max`.
fn split_cidr(v: &str, max: u8) -> Result<(&str, u8), String> {
    match v.split_once('/') {
        None => Ok((v, max)),
        Some((addr, len)) => Ok((addr, cidr(len, max)?)),
    }
}

fn cidr(len: &str, max: u8) -> Result<u8, String> {
    match len.parse::<u8>() {
        Ok(n) if n <= max && !len.starts_with('0') || len == "0" => Ok(n),
        _ => Err(format!("\"/{len}\" is not a prefix length (0 to {max})")),
    }
}

/// `a`/`mx` arguments: `[:domain][/cidr4][//cidr6]`.
fn domain_and_cidrs(arg: &str) -> Result<(Option<String>, u8, u8), String> {
    let (rest, v6) = match arg.split_once("//") {
        Some((r, six)) => (r, cidr(six, 128)?),
        None => (arg, 128),
    };
    let (rest, v4) = match rest.rfind('/') {
        Some(i) => (&rest[..i], cidr(&rest[i + 1..], 32)?),
        None => (rest, 32),
    };
    let domain = match rest.strip_prefix(':') {
        Some(d) => {
            domain_spec(d)?;
            Some(d.to_string())
        }
        None if rest.is_empty() => None,
        None => return Err("expected :domain or /prefix".into()),
    };
    Ok((domain, v4, v6))
}

/// A domain-spec: a name, possibly with macros (checked only for shape).
fn domain_spec(d: &str) -> Result<(), String> {
    if d.is_empty() {
        return Err("the domain is empty".into());
    }
    if d.contains('%') {
        return Ok(());
    }
    let d = d.strip_suffix('.').unwrap_or(d);
    let ok = d.split('.').count() >= 2
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("\"{d}\" is not a domain name"))
    }
}

fn has_macro(d: &str) -> bool {
    d.contains('%')
}

/// The outcome of `check_host()` (§2.6), plus "not evaluated" for macros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    SoftFail,
    Neutral,
    /// No SPF record.
    None,
    /// The record is broken (a receiver treats it as no SPF at best).
    PermError(String),
    /// DNS failed; a receiver would try later.
    TempError(String),
    /// A term needs a macro, which doctor does not expand.
    NotEvaluated(String),
}

impl Verdict {
    /// The result's name, as receivers write it in Authentication-Results.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::SoftFail => "softfail",
            Verdict::Neutral => "neutral",
            Verdict::None => "none",
            Verdict::PermError(_) => "permerror",
            Verdict::TempError(_) => "temperror",
            Verdict::NotEvaluated(_) => "not evaluated",
        }
    }
}

/// What an evaluation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub verdict: Verdict,
    /// DNS-querying terms used.
    pub lookups: usize,
    /// Every domain whose SPF record was read (the domain, includes,
    /// redirects), lower-cased, in order.
    pub visited: Vec<String>,
}

/// `check_host(ip, domain)`: is `ip` allowed to send mail for `domain`?
pub fn check_host(dns: &mut dyn Dns, ip: IpAddr, domain: &str) -> Evaluation {
    let mut e = Evaluator {
        dns,
        lookups: 0,
        voids: 0,
        visited: Vec::new(),
    };
    let verdict = e.check(ip, domain);
    Evaluation {
        verdict,
        lookups: e.lookups,
        visited: e.visited,
    }
}

struct Evaluator<'a> {
    dns: &'a mut dyn Dns,
    lookups: usize,
    voids: usize,
    visited: Vec<String>,
}

/// Why an evaluation stopped early: the verdict to return.
type Stop = Verdict;

impl Evaluator<'_> {
    fn check(&mut self, ip: IpAddr, domain: &str) -> Verdict {
        let record = match fetch(self.dns, domain) {
            Fetched::Record(r) => r,
            Fetched::None => return Verdict::None,
            Fetched::Stop(v) => return v,
        };
        self.visited.push(domain.to_ascii_lowercase());
        for (q, m) in &record.directives {
            match self.matches(ip, domain, m) {
                Ok(true) => return q.verdict(),
                Ok(false) => {}
                Err(stop) => return stop,
            }
        }
        if let Some(target) = &record.redirect {
            if let Err(stop) = self.count() {
                return stop;
            }
            if has_macro(target) {
                return Verdict::NotEvaluated(format!("redirect={target} uses a macro"));
            }
            return match self.check(ip, target) {
                Verdict::None => {
                    Verdict::PermError(format!("redirect={target}: {target} has no SPF record"))
                }
                v => v,
            };
        }
        Verdict::Neutral
    }

    fn count(&mut self) -> Result<(), Stop> {
        self.lookups += 1;
        if self.lookups > MAX_LOOKUPS {
            return Err(Verdict::PermError(format!(
                "evaluating it needs more than {MAX_LOOKUPS} DNS lookups (include, a, mx, ptr, exists, redirect), and receivers stop at {MAX_LOOKUPS} (RFC 7208 §4.6.4)"
            )));
        }
        Ok(())
    }

    fn void(&mut self, empty: bool) -> Result<(), Stop> {
        if empty {
            self.voids += 1;
            if self.voids > MAX_VOID_LOOKUPS {
                return Err(Verdict::PermError(format!(
                    "more than {MAX_VOID_LOOKUPS} of its lookups find nothing (RFC 7208 §4.6.4)"
                )));
            }
        }
        Ok(())
    }

    fn matches(&mut self, ip: IpAddr, current: &str, m: &Mechanism) -> Result<bool, Stop> {
        if m.queries_dns() {
            self.count()?;
        }
        let target = |d: &Option<String>| d.clone().unwrap_or_else(|| current.to_string());
        let temp = |e: super::dns::DnsTrouble| Verdict::TempError(e.0);
        match m {
            Mechanism::All => Ok(true),
            Mechanism::Ip4(net, len) => Ok(match ip {
                IpAddr::V4(a) => in_v4(a, *net, *len),
                IpAddr::V6(_) => false,
            }),
            Mechanism::Ip6(net, len) => Ok(match ip {
                IpAddr::V6(a) => in_v6(a, *net, *len),
                IpAddr::V4(_) => false,
            }),
            Mechanism::Include(d) => {
                if has_macro(d) {
                    return Err(Verdict::NotEvaluated(format!("include:{d} uses a macro")));
                }
                match self.check(ip, d) {
                    Verdict::Pass => Ok(true),
                    Verdict::Fail | Verdict::SoftFail | Verdict::Neutral => Ok(false),
                    Verdict::None => Err(Verdict::PermError(format!(
                        "include:{d}: {d} has no SPF record"
                    ))),
                    stop => Err(stop),
                }
            }
            Mechanism::A { domain, v4, v6 } => {
                let name = target(domain);
                if has_macro(&name) {
                    return Err(Verdict::NotEvaluated(format!("a:{name} uses a macro")));
                }
                let ips = self.dns.ip(&name, ip.is_ipv6()).map_err(temp)?;
                self.void(ips.is_empty())?;
                Ok(ips.iter().any(|a| in_net(ip, *a, *v4, *v6)))
            }
            Mechanism::Mx { domain, v4, v6 } => {
                let name = target(domain);
                if has_macro(&name) {
                    return Err(Verdict::NotEvaluated(format!("mx:{name} uses a macro")));
                }
                let mut mxs = self.dns.mx(&name).map_err(temp)?;
                self.void(mxs.is_empty())?;
                if mxs.len() > MAX_LOOKUPS {
                    return Err(Verdict::PermError(format!(
                        "mx:{name} has more than {MAX_LOOKUPS} MX records (RFC 7208 §4.6.4)"
                    )));
                }
                mxs.sort();
                for (_, host) in mxs {
                    let ips = self.dns.ip(&host, ip.is_ipv6()).map_err(temp)?;
                    if ips.iter().any(|a| in_net(ip, *a, *v4, *v6)) {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Mechanism::Ptr(_) => Ok(false),
            Mechanism::Exists(d) => {
                if has_macro(d) {
                    return Err(Verdict::NotEvaluated(format!("exists:{d} uses a macro")));
                }
                let ips = self.dns.ip(d, false).map_err(temp)?;
                self.void(ips.is_empty())?;
                Ok(!ips.is_empty())
            }
        }
    }
}

enum Fetched {
    Record(Record),
    None,
    Stop(Verdict),
}

/// The one SPF record at `domain` (§4.5): none, or more than one, or one
/// that does not parse, are answers too.
fn fetch(dns: &mut dyn Dns, domain: &str) -> Fetched {
    let txts = match dns.txt(domain) {
        Ok(t) => t,
        Err(e) => return Fetched::Stop(Verdict::TempError(e.0)),
    };
    let spf: Vec<&String> = txts.iter().filter(|t| is_spf(t)).collect();
    match spf.as_slice() {
        [] => Fetched::None,
        [one] => match parse(one) {
            Ok(r) => Fetched::Record(r),
            Err(why) => Fetched::Stop(Verdict::PermError(format!("{domain}: {why}"))),
        },
        many => Fetched::Stop(Verdict::PermError(format!(
            "{domain} has {} SPF records, and there must be exactly one (RFC 7208 §4.5): merge them into one",
            many.len()
        ))),
    }
}

/// How many DNS-querying terms the record at `domain` needs at most, through
/// its includes and redirect, stopping once past the limit (so a loop ends).
/// Receivers count as they evaluate; this is the count for an address that
/// matches nothing before the end, the worst case.
pub fn lookups_needed(dns: &mut dyn Dns, domain: &str) -> usize {
    let mut count = 0;
    walk(dns, domain, &mut count);
    count
}

fn walk(dns: &mut dyn Dns, domain: &str, count: &mut usize) {
    let Fetched::Record(record) = fetch(dns, domain) else {
        return;
    };
    for (_, m) in &record.directives {
        if *count > MAX_LOOKUPS {
            return;
        }
        if m.queries_dns() {
            *count += 1;
        }
        if let Mechanism::Include(d) = m
            && !has_macro(d)
        {
            walk(dns, d, count);
        }
    }
    if let Some(target) = &record.redirect
        && *count <= MAX_LOOKUPS
    {
        *count += 1;
        if !has_macro(target) {
            walk(dns, target, count);
        }
    }
}

fn in_net(ip: IpAddr, net: IpAddr, v4: u8, v6: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => in_v4(a, n, v4),
        (IpAddr::V6(a), IpAddr::V6(n)) => in_v6(a, n, v6),
        _ => false,
    }
}

fn in_v4(a: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(a) & mask == u32::from(net) & mask
}

fn in_v6(a: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(a) & mask == u128::from(net) & mask
}

#[cfg(test)]
mod tests {
    use super::super::dns::fake::Zone;
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_v_spf1_alone_or_followed_by_a_space_is_an_spf_record() {
        for (txt, spf) in [
            ("v=spf1 -all", true),
            ("v=spf1", true),
            ("V=SPF1 ip4:192.0.2.1 -all", true),
            ("v=spf10 -all", false),
            ("v=spf1-all", false),
            ("spf1 -all", false),
            ("google-site-verification=abc", false),
            ("v=DMARC1; p=none", false),
        ] {
            assert_eq!(is_spf(txt), spf, "{txt}");
        }
    }

    #[test]
    fn broken_records_say_which_term_is_wrong() {
        for (record, says) in [
            (
                "v=spf1 ip4:192.0.2.300 -all",
                "\"ip4:192.0.2.300\": \"192.0.2.300\" is not an IPv4 address",
            ),
            (
                "v=spf1 ip4:192.0.2.0/33 -all",
                "\"ip4:192.0.2.0/33\": \"/33\" is not a prefix length (0 to 32)",
            ),
            (
                "v=spf1 ip6:2001:db8::/129 -all",
                "\"/129\" is not a prefix length (0 to 128)",
            ),
            ("v=spf1 ip6:192.0.2.1 -all", "is not an IPv6 address"),
            ("v=spf1 include -all", "include needs a domain"),
            (
                "v=spf1 include:nodot -all",
                "\"nodot\" is not a domain name",
            ),
            (
                "v=spf1 ip:192.0.2.1 -all",
                "\"ip:192.0.2.1\": not an SPF mechanism",
            ),
            (
                "v=spf1 a:shop.test/24/8 -all",
                "\"shop.test/24\" is not a domain name",
            ),
            (
                "v=spf1 redirect=a.test redirect=b.test",
                "redirect= appears twice",
            ),
            ("v=spf1 allow -all", "not an SPF mechanism"),
            ("v=spf1 -all/24", "all takes nothing after it"),
            ("v=spf2 -all", "does not begin with v=spf1"),
        ] {
            let err = parse(record).expect_err(record);
            assert!(err.contains(says), "{record}: {err}");
        }
    }

    #[test]
    fn good_records_read_every_term() {
        let r = parse("v=spf1  +a mx/24 a:mail.shop.test/28//64 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.com exists:%{i}.x.test ~all redirect=other.test unknown=ignored exp=explain.test").unwrap();
        assert_eq!(r.directives.len(), 8);
        assert_eq!(
            r.directives[2].1,
            Mechanism::A {
                domain: Some("mail.shop.test".into()),
                v4: 28,
                v6: 64
            }
        );
        assert_eq!(
            r.directives[1].1,
            Mechanism::Mx {
                domain: None,
                v4: 24,
                v6: 128
            }
        );
        assert_eq!(r.all(), Some(Qualifier::SoftFail));
        assert_eq!(r.redirect.as_deref(), Some("other.test"));
    }

    /// (record at shop.test, extra zone, address, verdict)
    #[test]
    fn check_host_gives_each_mechanism_its_meaning() {
        let cases: Vec<(&str, &str, Verdict)> = vec![
            ("v=spf1 ip4:192.0.2.0/24 -all", "192.0.2.77", Verdict::Pass),
            ("v=spf1 ip4:192.0.2.0/24 -all", "192.0.3.1", Verdict::Fail),
            (
                "v=spf1 ip4:192.0.2.0/24 ~all",
                "198.51.100.1",
                Verdict::SoftFail,
            ),
            (
                "v=spf1 ip4:192.0.2.0/24 ?all",
                "198.51.100.1",
                Verdict::Neutral,
            ),
            ("v=spf1 ip4:192.0.2.0/24", "198.51.100.1", Verdict::Neutral),
            ("v=spf1 -ip4:192.0.2.1 +all", "192.0.2.1", Verdict::Fail),
            ("v=spf1 ip4:0.0.0.0/0 -all", "203.0.113.9", Verdict::Pass),
            (
                "v=spf1 ip6:2001:db8::/32 -all",
                "2001:db8:1::5",
                Verdict::Pass,
            ),
            (
                "v=spf1 ip6:2001:db8::/32 -all",
                "2001:db9::5",
                Verdict::Fail,
            ),
            ("v=spf1 ip6:2001:db8::/32 -all", "192.0.2.1", Verdict::Fail),
            ("v=spf1 ip4:192.0.2.1 -all", "2001:db8::1", Verdict::Fail),
            ("v=spf1 a -all", "192.0.2.10", Verdict::Pass),
            ("v=spf1 a -all", "2001:db8::10", Verdict::Pass),
            ("v=spf1 a -all", "192.0.2.11", Verdict::Fail),
            ("v=spf1 a/24 -all", "192.0.2.11", Verdict::Pass),
            ("v=spf1 a//64 -all", "2001:db8::99", Verdict::Pass),
            ("v=spf1 a:relay.test -all", "198.51.100.25", Verdict::Pass),
            ("v=spf1 mx -all", "198.51.100.5", Verdict::Pass),
            ("v=spf1 mx -all", "198.51.100.6", Verdict::Pass),
            ("v=spf1 mx -all", "198.51.100.7", Verdict::Fail),
            ("v=spf1 mx:relay.test -all", "198.51.100.25", Verdict::Fail),
            (
                "v=spf1 include:_spf.provider.test -all",
                "203.0.113.4",
                Verdict::Pass,
            ),
            (
                "v=spf1 include:_spf.provider.test -all",
                "203.0.114.4",
                Verdict::Fail,
            ),
            // An include's fail is only "no match": the rest goes on.
            (
                "v=spf1 include:strict.test ip4:203.0.114.4 -all",
                "203.0.114.4",
                Verdict::Pass,
            ),
            (
                "v=spf1 include:nothing.test -all",
                "192.0.2.1",
                Verdict::PermError("include:nothing.test: nothing.test has no SPF record".into()),
            ),
            (
                "v=spf1 redirect=_spf.provider.test",
                "203.0.113.4",
                Verdict::Pass,
            ),
            (
                "v=spf1 redirect=_spf.provider.test",
                "192.0.2.1",
                Verdict::Fail,
            ),
            // redirect is used only when no directive matched.
            (
                "v=spf1 ip4:192.0.2.1 redirect=_spf.provider.test",
                "192.0.2.1",
                Verdict::Pass,
            ),
            (
                "v=spf1 redirect=nothing.test",
                "192.0.2.1",
                Verdict::PermError("redirect=nothing.test: nothing.test has no SPF record".into()),
            ),
            ("v=spf1 exists:exists.test -all", "192.0.2.1", Verdict::Pass),
            (
                "v=spf1 exists:%{i}.x.test -all",
                "192.0.2.1",
                Verdict::NotEvaluated("exists:%{i}.x.test uses a macro".into()),
            ),
            ("v=spf1 ptr -all", "192.0.2.10", Verdict::Fail),
            (
                "v=spf1 include:broken.test -all",
                "192.0.2.1",
                Verdict::TempError("SERVFAIL for broken.test".into()),
            ),
            (
                "v=spf1 ?include:_spf.provider.test -all",
                "203.0.113.4",
                Verdict::Neutral,
            ),
        ];
        for (record, addr, want) in cases {
            let mut zone = Zone::default()
                .txt("shop.test", record)
                .ip("shop.test", "192.0.2.10")
                .ip("shop.test", "2001:db8::10")
                .mx("shop.test", 10, "mx1.shop.test")
                .mx("shop.test", 20, "mx2.shop.test")
                .ip("mx1.shop.test", "198.51.100.5")
                .ip("mx2.shop.test", "198.51.100.6")
                .ip("relay.test", "198.51.100.25")
                .txt("_spf.provider.test", "v=spf1 ip4:203.0.113.0/24 -all")
                .txt("strict.test", "v=spf1 -all")
                .ip("exists.test", "127.0.0.2")
                .txt("nothing.test", "not spf")
                .broken("broken.test");
            let got = check_host(&mut zone, ip(addr), "shop.test").verdict;
            assert_eq!(got, want, "{record} for {addr}");
        }
    }

    #[test]
    fn an_include_chain_deeper_than_ten_is_a_permerror_and_ten_is_fine() {
        for depth in [1usize, 5, 9, 10, 11, 15] {
            // shop.test includes l1, l1 includes l2 … the last one allows the address.
            let mut zone = Zone::default();
            for i in 0..depth {
                let from = if i == 0 {
                    "shop.test".to_string()
                } else {
                    format!("l{i}.test")
                };
                zone = zone.txt(&from, &format!("v=spf1 include:l{}.test -all", i + 1));
            }
            zone = zone.txt(&format!("l{depth}.test"), "v=spf1 ip4:192.0.2.1 -all");
            let e = check_host(&mut zone, ip("192.0.2.1"), "shop.test");
            if depth <= MAX_LOOKUPS {
                assert_eq!(e.verdict, Verdict::Pass, "depth {depth}");
                assert_eq!(e.lookups, depth);
            } else {
                assert!(
                    matches!(e.verdict, Verdict::PermError(ref w) if w.contains("more than 10 DNS lookups")),
                    "depth {depth}: {:?}",
                    e.verdict
                );
            }
            let mut zone2 = zone;
            assert_eq!(
                lookups_needed(&mut zone2, "shop.test"),
                depth.min(MAX_LOOKUPS + 1)
            );
        }
    }

    #[test]
    fn eleven_lookups_side_by_side_are_a_permerror_for_an_address_past_them() {
        let mut record = String::from("v=spf1");
        for i in 0..11 {
            record.push_str(&format!(" a:h{i}.test"));
        }
        record.push_str(" ip4:192.0.2.1 -all");
        let mut zone = Zone::default().txt("shop.test", &record);
        for i in 0..11 {
            zone = zone.ip(&format!("h{i}.test"), &format!("198.51.100.{i}"));
        }
        // The first address matches early, within the limit.
        assert_eq!(
            check_host(&mut zone, ip("198.51.100.0"), "shop.test").verdict,
            Verdict::Pass
        );
        let late = check_host(&mut zone, ip("192.0.2.1"), "shop.test").verdict;
        assert!(matches!(late, Verdict::PermError(_)), "{late:?}");
        assert_eq!(lookups_needed(&mut zone, "shop.test"), 11);
    }

    #[test]
    fn include_loops_and_redirect_loops_end_as_permerror() {
        for zone in [
            Zone::default().txt("shop.test", "v=spf1 include:shop.test -all"),
            Zone::default()
                .txt("shop.test", "v=spf1 include:b.test -all")
                .txt("b.test", "v=spf1 include:shop.test -all"),
            Zone::default().txt("shop.test", "v=spf1 redirect=shop.test"),
            Zone::default()
                .txt("shop.test", "v=spf1 redirect=b.test")
                .txt("b.test", "v=spf1 redirect=shop.test"),
        ] {
            let mut zone = zone;
            let e = check_host(&mut zone, ip("192.0.2.1"), "shop.test");
            assert!(
                matches!(e.verdict, Verdict::PermError(_)),
                "{:?}",
                e.verdict
            );
            assert!(zone.asked < 30, "stopped after {} questions", zone.asked);
            assert_eq!(lookups_needed(&mut zone, "shop.test"), MAX_LOOKUPS + 1);
        }
    }

    #[test]
    fn more_than_two_lookups_that_find_nothing_are_a_permerror() {
        let mut zone = Zone::default().txt(
            "shop.test",
            "v=spf1 a:v1.test a:v2.test a:v3.test ip4:192.0.2.1 -all",
        );
        assert!(matches!(
            check_host(&mut zone, ip("192.0.2.1"), "shop.test").verdict,
            Verdict::PermError(ref w) if w.contains("find nothing")
        ));
        let mut two =
            Zone::default().txt("shop.test", "v=spf1 a:v1.test a:v2.test ip4:192.0.2.1 -all");
        assert_eq!(
            check_host(&mut two, ip("192.0.2.1"), "shop.test").verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn two_spf_records_or_none_are_told_apart() {
        let mut two = Zone::default()
            .txt("shop.test", "v=spf1 -all")
            .txt("shop.test", "v=spf1 +all");
        assert!(matches!(
            check_host(&mut two, ip("192.0.2.1"), "shop.test").verdict,
            Verdict::PermError(ref w) if w.contains("2 SPF records")
        ));
        let mut none = Zone::default().txt("shop.test", "google-site-verification=x");
        assert_eq!(
            check_host(&mut none, ip("192.0.2.1"), "shop.test").verdict,
            Verdict::None
        );
    }

    #[test]
    fn every_prefix_length_matches_exactly_the_addresses_inside_it() {
        let net: Ipv4Addr = "10.20.30.40".parse().unwrap();
        for len in 0..=32u8 {
            let inside = u32::from(net) & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            assert!(in_v4(Ipv4Addr::from(inside), net, len), "/{len}");
            if len > 0 {
                let outside = inside ^ (1 << (32 - u32::from(len)));
                assert!(!in_v4(Ipv4Addr::from(outside), net, len), "/{len}");
            }
        }
        let net6: Ipv6Addr = "2001:db8:aaaa::1".parse().unwrap();
        for len in 0..=128u8 {
            let inside =
                u128::from(net6) & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            assert!(in_v6(Ipv6Addr::from(inside), net6, len), "/{len}");
            if len > 0 {
                let outside = inside ^ (1 << (128 - u32::from(len)));
                assert!(!in_v6(Ipv6Addr::from(outside), net6, len), "/{len}");
            }
        }
    }

    proptest::proptest! {
        /// ip4:/ip6: against any address and prefix: pass exactly when the
        /// first `len` bits agree (computed here by shifting, not masking).
        #[test]
        fn ip_terms_pass_exactly_the_addresses_in_their_range(
            net in proptest::prelude::any::<u32>(),
            addr in proptest::prelude::any::<u32>(),
            len in 0u8..=32,
            net6 in proptest::prelude::any::<u128>(),
            addr6 in proptest::prelude::any::<u128>(),
            len6 in 0u8..=128,
        ) {
            let same = |a: u128, b: u128, bits: u32, width: u32| {
                bits == 0 || (a >> (width - bits)) == (b >> (width - bits))
            };
            let record = format!("v=spf1 ip4:{}/{len} ip6:{}/{len6} -all", Ipv4Addr::from(net), Ipv6Addr::from(net6));
            let mut zone = Zone::default().txt("shop.test", &record);
            let v4 = check_host(&mut zone, IpAddr::V4(Ipv4Addr::from(addr)), "shop.test").verdict;
            let want4 = if same(u128::from(addr), u128::from(net), u32::from(len), 32) { Verdict::Pass } else { Verdict::Fail };
            proptest::prop_assert_eq!(v4, want4);
            let v6 = check_host(&mut zone, IpAddr::V6(Ipv6Addr::from(addr6)), "shop.test").verdict;
            let want6 = if same(addr6, net6, u32::from(len6), 128) { Verdict::Pass } else { Verdict::Fail };
            proptest::prop_assert_eq!(v6, want6);
        }

        /// Any record made of valid terms parses, keeping every directive.
        #[test]
        fn records_of_valid_terms_always_parse(terms in proptest::collection::vec(valid_term(), 0..12)) {
            let record = format!("v=spf1 {}", terms.join(" "));
            let parsed = parse(&record);
            proptest::prop_assert!(parsed.is_ok(), "{record}: {parsed:?}");
            proptest::prop_assert_eq!(parsed.unwrap().directives.len(), terms.len());
        }
    }

    fn valid_term() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let qualifier = prop::sample::select(vec!["", "+", "-", "~", "?"]);
        let domain = "[a-z][a-z0-9-]{0,10}\\.(test|example|co\\.uk)";
        let mechanism = prop_oneof![
            Just("all".to_string()),
            domain.prop_map(|d| format!("include:{d}")),
            (any::<u32>(), 0u8..=32).prop_map(|(a, l)| format!("ip4:{}/{l}", Ipv4Addr::from(a))),
            any::<u32>().prop_map(|a| format!("ip4:{}", Ipv4Addr::from(a))),
            (any::<u128>(), 0u8..=128).prop_map(|(a, l)| format!("ip6:{}/{l}", Ipv6Addr::from(a))),
            (
                proptest::option::of(domain),
                proptest::option::of(0u8..=32),
                proptest::option::of(0u8..=128)
            )
                .prop_map(|(d, c4, c6)| {
                    let mut t = "a".to_string();
                    if let Some(d) = d {
                        t += &format!(":{d}");
                    }
                    if let Some(c) = c4 {
                        t += &format!("/{c}");
                    }
                    if let Some(c) = c6 {
                        t += &format!("//{c}");
                    }
                    t
                }),
            (proptest::option::of(domain), proptest::option::of(0u8..=32)).prop_map(|(d, c4)| {
                let mut t = "MX".to_string();
                if let Some(d) = d {
                    t += &format!(":{d}");
                }
                if let Some(c) = c4 {
                    t += &format!("/{c}");
                }
                t
            }),
            domain.prop_map(|d| format!("exists:{d}")),
        ];
        (qualifier, mechanism).prop_map(|(q, m)| format!("{q}{m}"))
    }
}
