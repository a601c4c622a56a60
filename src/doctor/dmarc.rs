//! A DMARC record (RFC 7489 §6.3) at `_dmarc.DOMAIN`: `v=DMARC1; p=none;
//! rua=mailto:…`. Receivers look at the From domain's record, else at its
//! organisational domain's (§6.6.3); without the Public Suffix List doctor
//! takes the last two labels, or three under a few well-known two-part
//! suffixes (co.uk, co.il, com.gr …), which covers the shops greet serves.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    None,
    Quarantine,
    Reject,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }
}

/// What a DMARC record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dmarc {
    pub policy: Policy,
    /// `sp=`: the policy for subdomains, when given.
    pub subdomain_policy: Option<Policy>,
    /// `rua=`: where aggregate reports go.
    pub rua: Vec<String>,
    /// `adkim=s` / `aspf=s`: strict alignment.
    pub strict_dkim: bool,
    pub strict_spf: bool,
    /// `pct=` below 100.
    pub pct: u8,
}

/// Is this TXT string a DMARC record (`v=DMARC1` first)?
pub fn is_dmarc(txt: &str) -> bool {
    txt.split(';')
        .next()
        .is_some_and(|t| t.trim().replace(' ', "").eq_ignore_ascii_case("v=DMARC1"))
}

fn policy(v: &str) -> Option<Policy> {
    match v.to_ascii_lowercase().as_str() {
        "none" => Some(Policy::None),
        "quarantine" => Some(Policy::Quarantine),
        "reject" => Some(Policy::Reject),
        _ => None,
    }
}

/// Read the record; the error says what is wrong.
pub fn parse(record: &str) -> Result<Dmarc, String> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for part in record.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((name, value)) = part.split_once('=') else {
            return Err(format!("\"{part}\" is not a tag=value pair"));
        };
        tags.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    if !tags
        .first()
        .is_some_and(|(n, v)| n == "v" && v.eq_ignore_ascii_case("DMARC1"))
    {
        return Err("the record must begin with v=DMARC1".into());
    }
    let get = |n: &str| tags.iter().find(|(t, _)| t == n).map(|(_, v)| v.as_str());
    // p= must come right after v= (§6.3); receivers are lenient about the
    // order but not about its absence.
    let Some(p) = get("p") else {
        return Err("there is no p= (the policy: none, quarantine or reject)".into());
    };
    let policy =
        policy(p).ok_or_else(|| format!("p={p}: the policy must be none, quarantine or reject"))?;
    let subdomain_policy = match get("sp") {
        None => None,
        Some(sp) => Some(policy_or(sp, "sp")?),
    };
    let rua = get("rua")
        .map(|v| {
            v.split(',')
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for uri in &rua {
        if !uri.to_ascii_lowercase().starts_with("mailto:") || !uri.contains('@') {
            return Err(format!(
                "rua={uri}: reports go to a mailto: address (rua=mailto:dmarc@example.com)"
            ));
        }
    }
    let strict = |tag: &str| -> Result<bool, String> {
        match get(tag).map(str::to_ascii_lowercase).as_deref() {
            None | Some("r") => Ok(false),
            Some("s") => Ok(true),
            Some(other) => Err(format!(
                "{tag}={other}: alignment is r (relaxed) or s (strict)"
            )),
        }
    };
    let pct = match get("pct") {
        None => 100,
        Some(v) => v
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| format!("pct={v}: a percentage from 0 to 100"))?,
    };
    Ok(Dmarc {
        policy,
        subdomain_policy,
        rua,
        strict_dkim: strict("adkim")?,
        strict_spf: strict("aspf")?,
        pct,
    })
}

fn policy_or(v: &str, tag: &str) -> Result<Policy, String> {
    policy(v).ok_or_else(|| format!("{tag}={v}: the policy must be none, quarantine or reject"))
}

/// Two-part public suffixes common among greet's shops (UK, Israel, Greece,
/// Cyprus, Armenia, Australia…); without the whole Public Suffix List.
const TWO_PART_SUFFIXES: &[&str] = &[
    "co.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "ac.uk", "co.il", "org.il", "net.il", "ac.il",
    "com.gr", "net.gr", "org.gr", "com.cy", "net.cy", "org.cy", "com.am", "net.am", "org.am",
    "co.am", "com.au", "net.au", "org.au", "co.nz", "co.za", "com.br", "com.tr", "co.jp",
];

/// The organisational domain of `domain`, when it is not `domain` itself.
pub fn organisational(domain: &str) -> Option<String> {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = d.split('.').collect();
    let n = labels.len();
    let keep = if n >= 2 && TWO_PART_SUFFIXES.contains(&labels[n - 2..].join(".").as_str()) {
        3
    } else {
        2
    };
    (n > keep).then(|| labels[n - keep..].join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_with_their_policy_reports_and_alignment() {
        let d = parse("v=DMARC1; p=quarantine; sp=reject; rua=mailto:a@shop.test, mailto:b@x.test; adkim=s; pct=50").unwrap();
        assert_eq!(d.policy, Policy::Quarantine);
        assert_eq!(d.subdomain_policy, Some(Policy::Reject));
        assert_eq!(d.rua, vec!["mailto:a@shop.test", "mailto:b@x.test"]);
        assert!(d.strict_dkim && !d.strict_spf);
        assert_eq!(d.pct, 50);
        let plain = parse("v=DMARC1;p=none").unwrap();
        assert_eq!(
            (plain.policy, plain.rua.len(), plain.pct),
            (Policy::None, 0, 100)
        );
    }

    #[test]
    fn broken_records_say_what_is_wrong() {
        for (record, says) in [
            ("v=DMARC1", "there is no p="),
            (
                "v=DMARC1; p=block",
                "p=block: the policy must be none, quarantine or reject",
            ),
            ("p=none; v=DMARC1", "must begin with v=DMARC1"),
            ("v=DMARC2; p=none", "must begin with v=DMARC1"),
            ("v=DMARC1; p=none; sp=maybe", "sp=maybe"),
            (
                "v=DMARC1; p=none; rua=dmarc@shop.test",
                "reports go to a mailto: address",
            ),
            (
                "v=DMARC1; p=none; adkim=x",
                "alignment is r (relaxed) or s (strict)",
            ),
            ("v=DMARC1; p=none; pct=150", "pct=150"),
            ("v=DMARC1; p=none; junk", "\"junk\" is not a tag=value pair"),
        ] {
            let err = parse(record).expect_err(record);
            assert!(err.contains(says), "{record}: {err}");
        }
    }

    #[test]
    fn only_records_that_begin_with_v_dmarc1_are_dmarc() {
        for (txt, yes) in [
            ("v=DMARC1; p=none", true),
            ("v = DMARC1; p=none", true),
            ("V=dmarc1;p=reject", true),
            ("v=spf1 -all", false),
            ("p=none; v=DMARC1", false),
        ] {
            assert_eq!(is_dmarc(txt), yes, "{txt}");
        }
    }

    #[test]
    fn the_organisational_domain_keeps_two_labels_or_three_under_a_two_part_suffix() {
        for (domain, org) in [
            ("shop.test", None),
            ("mail.shop.test", Some("shop.test")),
            ("a.b.mail.shop.test", Some("shop.test")),
            ("shop.co.uk", None),
            ("news.shop.co.uk", Some("shop.co.uk")),
            ("news.shop.co.il", Some("shop.co.il")),
            ("shop.com.gr", None),
            ("test", None),
        ] {
            assert_eq!(organisational(domain).as_deref(), org, "{domain}");
        }
    }
}
