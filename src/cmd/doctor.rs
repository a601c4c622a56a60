//! `greet doctor`: the sender domain's MX, SPF, DKIM and DMARC records, and
//! whether the configured server may send for it, in plain words. Exit 0
//! when every required record is right, 2 when something is missing or
//! wrong, 4 when DNS could not be asked.
use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use super::load_config;
use crate::cli::{Cli, DoctorArgs};
use crate::config::{Config, TransportKind};
use crate::doctor::{self, Inputs, Sending};
use crate::exit::{Exit, Halt};

pub fn run(cli: &Cli, args: &DoctorArgs) -> anyhow::Result<Exit> {
    let config = load_config(&cli.config)?;
    let server = args
        .resolver
        .as_deref()
        .map(resolver_address)
        .transpose()
        .map_err(|why| Halt::invalid(format!("--resolver {why}")))?;
    let domain = config.sender.domain();
    let domain = idna::domain_to_ascii(domain).map_err(|_| {
        Halt::invalid(format!(
            "the From address's domain \"{domain}\" is not a domain name"
        ))
    })?;
    let selector = match &args.selector {
        Some(s) => Some((s.clone(), "--selector")),
        None => configured_selector(&config).map(|s| (s, "[dkim] selector")),
    };
    let sending = match &config.transport.kind {
        TransportKind::Smtp(s) => Sending::Smtp {
            host: s.host.clone(),
            provider: config.transport.provider,
        },
        TransportKind::Sendmail { .. } => Sending::Sendmail,
        TransportKind::File { .. } => Sending::File,
    };
    let inputs = Inputs {
        from: config.sender.email.clone(),
        domain,
        sending,
        selector,
    };
    let mut dns = doctor::dns::Hickory::new(server)?;
    let report = doctor::diagnose(&mut dns, &inputs);
    let mut out = std::io::stdout().lock();
    out.write_all(report.render(cli.quiet).as_bytes())?;
    Ok(report.exit())
}

/// `IP` or `IP:PORT` (`[IPv6]:PORT`); port 53 unless given.
pub fn resolver_address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    text.parse::<SocketAddr>().map_err(|_| {
        format!(
            "\"{text}\" is not an address: write IP or IP:PORT, e.g. 127.0.0.1:5353 or [::1]:53"
        )
    })
}

/// `[dkim] selector` from greet.toml, when the file has that section. Read
/// from the file as written, so doctor needs nothing of the signing code:
/// the [dkim] section belongs to `greet dkim` and the signer.
fn configured_selector(config: &Config) -> Option<String> {
    let text = std::fs::read_to_string(&config.path).ok()?;
    selector_in(&text)
}

fn selector_in(text: &str) -> Option<String> {
    let table: toml::Table = text.parse().ok()?;
    table
        .get("dkim")?
        .get("selector")?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_addresses_take_an_optional_port() {
        for (text, want) in [
            ("127.0.0.1", Ok("127.0.0.1:53")),
            ("127.0.0.1:5353", Ok("127.0.0.1:5353")),
            ("::1", Ok("[::1]:53")),
            ("[::1]:5353", Ok("[::1]:5353")),
        ] {
            assert_eq!(
                resolver_address(text).map(|a| a.to_string()),
                want.map(str::to_string)
            );
        }
        for bad in ["localhost", "127.0.0.1:", "127.0.0.1:99999", "1.2.3"] {
            assert!(resolver_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_selector_is_read_from_a_dkim_section_when_there_is_one() {
        for (text, want) in [
            (
                "[dkim]\nselector = \"greet2026\"\nkey_file = \"dkim.pem\"\n",
                Some("greet2026"),
            ),
            ("[dkim]\nkey_file = \"dkim.pem\"\n", None),
            ("[dkim]\nselector = \"  \"\n", None),
            ("[sender]\nname = \"x\"\n", None),
        ] {
            assert_eq!(selector_in(text).as_deref(), want, "{text}");
        }
    }
}
