//! The questions doctor asks DNS, behind a trait so the rules (SPF
//! evaluation, DKIM and DMARC reading) are tested on in-memory zones, and
//! the one real implementation: hickory's resolver on a current-thread
//! tokio runtime, asking the system's resolvers (/etc/resolv.conf) or only
//! the server given with `--resolver`.
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::system_conf::read_system_conf;
use hickory_resolver::{Resolver, TokioResolver};

/// DNS could not be asked, or would not say: a timeout, no server to reach,
/// SERVFAIL, REFUSED. Not "no such record" (that is an empty answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsTrouble(pub String);

impl std::fmt::Display for DnsTrouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An answer: the records found, empty when the name or the type does not
/// exist (NXDOMAIN or no data).
pub type Answer<T> = Result<Vec<T>, DnsTrouble>;

/// What doctor asks.
pub trait Dns {
    /// TXT records at `name`, each one's strings joined (RFC 7208 §3.3).
    fn txt(&mut self, name: &str) -> Answer<String>;
    /// MX records at `name`: (preference, exchange without the final dot).
    fn mx(&mut self, name: &str) -> Answer<(u16, String)>;
    /// A records (`v6` false) or AAAA records (`v6` true) at `name`.
    fn ip(&mut self, name: &str, v6: bool) -> Answer<IpAddr>;
    /// No server answers at all: asking more is pointless.
    fn unreachable(&self) -> Option<DnsTrouble> {
        None
    }
}

/// Each question waits this long for an answer, once.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// DNS through hickory. Once a server has not answered (a timeout, nothing
/// reachable), every later question fails at once with the same trouble,
/// so a dead resolver costs one timeout, not one per record.
///
/// Each question gets a resolver of its own (building one does no I/O):
/// hickory 0.26 reuses the UDP connection of an answer that came truncated
/// (and was asked again over TCP), and the next question on it waits out
/// the whole timeout. SPF records and domains with many TXT records are
/// often truncated, so a shared resolver would stall doctor for seconds.
pub struct Hickory {
    runtime: tokio::runtime::Runtime,
    config: ResolverConfig,
    options: ResolverOpts,
    dead: Option<DnsTrouble>,
}

impl Hickory {
    /// `server`: ask only this one (UDP, then TCP when truncated), else the
    /// system's resolvers (/etc/resolv.conf).
    pub fn new(server: Option<SocketAddr>) -> anyhow::Result<Hickory> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (config, mut options) = match server {
            Some(addr) => {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for c in &mut ns.connections {
                    c.port = addr.port();
                }
                let mut options = ResolverOpts::default();
                options.use_hosts_file = ResolveHosts::Never;
                (ResolverConfig::from_name_servers(vec![ns]), options)
            }
            None => read_system_conf().map_err(|e| {
                anyhow::anyhow!("cannot read the system's DNS settings (/etc/resolv.conf): {e}; name a server with --resolver IP[:PORT]")
            })?,
        };
        // The system's own options (ndots, rotate) are kept; the timeout
        // and the attempts are doctor's: one try of a few seconds.
        options.timeout = TIMEOUT;
        options.attempts = 1;
        Ok(Hickory {
            runtime,
            config,
            options,
            dead: None,
        })
    }

    fn resolver(&self) -> Result<TokioResolver, NetError> {
        let _guard = self.runtime.enter();
        Resolver::builder_with_config(self.config.clone(), TokioRuntimeProvider::default())
            .with_options(self.options.clone())
            .build()
    }

    fn ask(&mut self, name: &str, kind: RecordType) -> Result<Vec<RData>, DnsTrouble> {
        if let Some(dead) = &self.dead {
            return Err(dead.clone());
        }
        // Fully qualified: no search domains appended.
        let fqdn = if name.ends_with('.') {
            name.to_string()
        } else {
            format!("{name}.")
        };
        // hickory's own timeout applies per round of servers; this one
        // bounds the whole question, whatever hickory retries inside it.
        let result = self.resolver().and_then(|resolver| {
            let lookup = resolver.lookup(fqdn.as_str(), kind);
            match self
                .runtime
                .block_on(async { tokio::time::timeout(TIMEOUT, lookup).await })
            {
                Ok(r) => r,
                Err(_) => Err(NetError::Timeout),
            }
        });
        match result {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == kind)
                .map(|r| r.data.clone())
                .collect()),
            Err(e) => match classify(&e) {
                Class::Empty => Ok(Vec::new()),
                Class::Refused(code) => Err(DnsTrouble(format!(
                    "the DNS server answered {} for {name} {kind}",
                    mnemonic(code)
                ))),
                Class::Silent => {
                    let t = DnsTrouble(format!("no DNS server answered ({name} {kind}: {e})"));
                    self.dead = Some(t.clone());
                    Err(t)
                }
            },
        }
    }
}

enum Class {
    /// NXDOMAIN or no records of that type.
    Empty,
    /// The server answered, with an error code (SERVFAIL, REFUSED…).
    Refused(ResponseCode),
    /// No answer at all.
    Silent,
}

/// The response code as dig and server logs write it.
fn mnemonic(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        other => format!("{other} ({})", u16::from(other)),
    }
}

fn classify(e: &NetError) -> Class {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(n))
            if matches!(
                n.response_code,
                ResponseCode::NXDomain | ResponseCode::NoError
            ) =>
        {
            Class::Empty
        }
        NetError::Dns(DnsError::NoRecordsFound(n)) => Class::Refused(n.response_code),
        NetError::Dns(DnsError::ResponseCode(code)) => Class::Refused(*code),
        _ => Class::Silent,
    }
}

impl Dns for Hickory {
    fn unreachable(&self) -> Option<DnsTrouble> {
        self.dead.clone()
    }

    fn txt(&mut self, name: &str) -> Answer<String> {
        Ok(self
            .ask(name, RecordType::TXT)?
            .into_iter()
            .filter_map(|d| match d {
                RData::TXT(t) => Some(
                    t.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect())
    }

    fn mx(&mut self, name: &str) -> Answer<(u16, String)> {
        Ok(self
            .ask(name, RecordType::MX)?
            .into_iter()
            .filter_map(|d| match d {
                RData::MX(m) => Some((
                    m.preference,
                    m.exchange.to_ascii().trim_end_matches('.').to_string(),
                )),
                _ => None,
            })
            .collect())
    }

    fn ip(&mut self, name: &str, v6: bool) -> Answer<IpAddr> {
        let kind = if v6 { RecordType::AAAA } else { RecordType::A };
        Ok(self
            .ask(name, kind)?
            .into_iter()
            .filter_map(|d| match d {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect())
    }
}

/// An in-memory zone for the rules' tests.
#[cfg(test)]
pub mod fake {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    pub struct Zone {
        pub txt: BTreeMap<String, Vec<String>>,
        pub mx: BTreeMap<String, Vec<(u16, String)>>,
        pub ip: BTreeMap<String, Vec<IpAddr>>,
        /// Names whose every question fails (SERVFAIL).
        pub broken: Vec<String>,
        /// Questions asked, for the lookup-count tests.
        pub asked: usize,
        /// No server answers: every question times out.
        pub silent: bool,
    }

    impl Zone {
        pub fn txt(mut self, name: &str, record: &str) -> Self {
            self.txt.entry(name.into()).or_default().push(record.into());
            self
        }
        pub fn mx(mut self, name: &str, pref: u16, host: &str) -> Self {
            self.mx
                .entry(name.into())
                .or_default()
                .push((pref, host.into()));
            self
        }
        pub fn ip(mut self, name: &str, ip: &str) -> Self {
            self.ip
                .entry(name.into())
                .or_default()
                .push(ip.parse().expect("test address"));
            self
        }
        pub fn broken(mut self, name: &str) -> Self {
            self.broken.push(name.into());
            self
        }
        fn check(&mut self, name: &str) -> Result<(), DnsTrouble> {
            self.asked += 1;
            if self.silent {
                return Err(DnsTrouble("no DNS server answered".into()));
            }
            if self.broken.iter().any(|b| b.eq_ignore_ascii_case(name)) {
                return Err(DnsTrouble(format!("SERVFAIL for {name}")));
            }
            Ok(())
        }
    }

    impl Dns for Zone {
        fn unreachable(&self) -> Option<DnsTrouble> {
            // Like Hickory: known dead once a question went unanswered.
            (self.silent && self.asked > 0).then(|| DnsTrouble("no DNS server answered".into()))
        }
        fn txt(&mut self, name: &str) -> Answer<String> {
            self.check(name)?;
            Ok(self
                .txt
                .get(&name.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default())
        }
        fn mx(&mut self, name: &str) -> Answer<(u16, String)> {
            self.check(name)?;
            Ok(self
                .mx
                .get(&name.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default())
        }
        fn ip(&mut self, name: &str, v6: bool) -> Answer<IpAddr> {
            self.check(name)?;
            Ok(self
                .ip
                .get(&name.to_ascii_lowercase())
                .map(|v| v.iter().copied().filter(|i| i.is_ipv6() == v6).collect())
                .unwrap_or_default())
        }
    }
}
